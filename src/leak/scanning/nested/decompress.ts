import { ReadableStream } from 'node:stream/web';
import zlib from 'node:zlib';
import { BrotliDecompress, Gunzip, Inflate, InflateRaw, ZstdDecompress, type ZlibOptions } from 'minizlib';
import unbzip2 from 'unbzip2-stream';
import * as xzDecompress from 'xz-decompress';

// A webpack UMD bundle: Node's ESM loader sees only its default export (module.exports), a bundler its names.
type XzModule = typeof xzDecompress;
const XzReadableStream =
  xzDecompress.XzReadableStream ?? (xzDecompress as unknown as { default: XzModule }).default.XzReadableStream;
import type { Compressor } from '../../sniff.js';
import { withoutChecks, xzCheckType } from './xz-checks.js';
import { ByteReader } from './byte-reader.js';
import { present } from '../../../lang/present.js';

/**
 * Decoders for the compressed single files and streams the leak check meets, as async iterables of output chunks.
 * gzip and zstd come with Node; bzip2 (unbzip2-stream, pure JS) and xz (xz-decompress: xz-embedded compiled to
 * WebAssembly) do not. Every decoder fails on truncated or corrupt input rather than ending quietly.
 */

const CHUNK = 64 * 1024;
/** Output piece of the synchronous decoders: one or a few per input chunk, so few objects for the GC. */
const SYNC_CHUNK = 256 * 1024;
/** Input slice of the streaming decoders (see SyncDecoder.decode). */
const STREAM_SLICE = 32 * 1024;
const ZSTD_FRAME = 0xfd2fb528;
/** Frames whose compressed bytes fit this are decoded in one synchronous call: zstd:chunked has a frame per file. */
const SMALL_FRAME = 1024 * 1024;
const SMALL_FRAME_OUTPUT = 4 * 1024 * 1024;

/**
 * gzip or zstd decoded synchronously, chunk by chunk, on the calling thread. Node's own zlib streams decode on
 * libuv's thread pool: every 64 kB of output is a round trip between threads, and with a layer worker per core
 * the pool's threads and the workers fight over the same cores (a third more CPU time for the same image, see
 * docs/performance.md). minizlib (the zlib stream of node-tar and npm) drives the same zlib binding synchronously,
 * so a worker decodes its own layer, on its own core. `consumed` counts the input bytes zlib used: it stops
 * quietly at a 0x00 after a gzip member, and what follows must be checked by the caller.
 */
export class SyncDecoder {
  consumed = 0;
  private readonly decoder: Gunzip | ZstdDecompress | Inflate | BrotliDecompress;

  constructor(kind: 'gzip' | 'zstd' | 'zlib' | 'brotli', windowLogMax?: number) {
    // minizlib hands its options to Node's zlib class, whose options its types do not list.
    const options: zlib.ZlibOptions & Pick<zlib.ZstdOptions, 'params'> = {
      chunkSize: SYNC_CHUNK,
      ...present({ params: windowLogMax ? { [zlib.constants.ZSTD_d_windowLogMax]: windowLogMax } : undefined }),
    };
    const passed = options as ZlibOptions;
    this.decoder =
      kind === 'gzip'
        ? new Gunzip(passed)
        : kind === 'zlib'
          ? new Inflate(passed)
          : kind === 'brotli'
            ? new BrotliDecompress(passed)
            : new ZstdDecompress(passed);
  }

  async *decode(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
    const out: Buffer[] = [];
    let failure: Error | undefined;
    this.decoder.on('data', (d: Buffer) => out.push(d));
    this.decoder.on('error', (e: unknown) => (failure ??= e instanceof Error ? e : new Error(String(e))));
    const check = (): void => {
      if (failure) throw zlibWords(failure);
    };
    for await (const chunk of source) {
      // In slices, each handed on before the next is decoded: a layer of empty files compresses a hundredfold, and
      // a whole 256 kB read would wait as 25 MB of output.
      for (let at = 0; at < chunk.length; at += STREAM_SLICE) {
        this.decoder.write(at === 0 && chunk.length <= STREAM_SLICE ? chunk : chunk.subarray(at, at + STREAM_SLICE));
        // The binding reports the input used by the last call only.
        this.consumed += this.decoder.handle?.bytesWritten ?? 0;
        check();
        yield* out.splice(0);
      }
    }
    this.decoder.end();
    check();
    yield* out.splice(0);
  }
}

/** minizlib prefixes zlib's own words with "zlib: "; the callers say which format failed. Node's code is kept. */
function zlibWords(failure: Error): Error {
  return Object.assign(new Error(failure.message.replace(/^zlib: /, ''), { cause: failure }), {
    code: (failure as NodeJS.ErrnoException).code,
  });
}

/** Input slice of `decodeWhole`: one call can expand it at most ~1032 times (deflate's limit), about 4 MB. */
const WHOLE_SLICE = 4 * 1024;
const wholeDecoders = new Map<'gzip' | 'deflate-raw', Gunzip | InflateRaw>();

/**
 * A small in-memory input (a zip entry, a man page's .gz) decoded whole, on one decoder per thread and format that
 * is reset between inputs: making a zlib stream costs more than inflating a 5 kB class file, and a jmod holds
 * thousands. Synchronous from start to end, so a decoder is never shared by two inputs. The input goes in slices
 * and the output is checked after each, so a bomb stops at `maxOutput` plus one slice's expansion; past it the
 * error has Node's code ERR_BUFFER_TOO_LARGE, as zlib's own `maxOutputLength` does.
 */
export function decodeWhole(kind: 'gzip' | 'deflate-raw', input: Buffer, maxOutput: number): Buffer {
  let decoder = wholeDecoders.get(kind);
  if (!decoder) {
    const options = { chunkSize: SYNC_CHUNK } as ZlibOptions;
    decoder = kind === 'gzip' ? new Gunzip(options) : new InflateRaw(options);
    wholeDecoders.set(kind, decoder);
  }
  const out: Buffer[] = [];
  let outLen = 0;
  let failure: Error | undefined;
  const onData = (d: Buffer): void => {
    out.push(d);
    outLen += d.length;
  };
  const onError = (e: unknown): void => {
    failure ??= e instanceof Error ? e : new Error('zlib error');
  };
  decoder.on('data', onData);
  decoder.on('error', onError);
  try {
    decoder.reset();
    for (let at = 0; at < input.length && !failure && outLen <= maxOutput; at += WHOLE_SLICE)
      decoder.write(input.subarray(at, at + WHOLE_SLICE));
    if (!failure && outLen <= maxOutput) decoder.flush(zlib.constants.Z_FINISH);
  } finally {
    decoder.off('data', onData);
    decoder.off('error', onError);
  }
  if (failure) {
    // A decoder that failed is closed: the next input gets a new one.
    wholeDecoders.delete(kind);
    throw zlibWords(failure);
  }
  if (outLen > maxOutput) {
    wholeDecoders.delete(kind);
    throw Object.assign(new RangeError(`output is over ${maxOutput} bytes`), { code: 'ERR_BUFFER_TOO_LARGE' });
  }
  return out.length === 1 ? out[0]! : Buffer.concat(out, outLen);
}

/**
 * The compressed bytes of one zstd frame (RFC 8878 section 3.1.1), magic included: the frame header tells the sizes
 * of its fields, each block header its own size, so the frame's end is known without decoding it.
 */
async function* frameBytes(reader: ByteReader, magic: Buffer): AsyncGenerator<Buffer> {
  yield magic;
  const fhd = await reader.exact(1, 'a frame header');
  yield fhd;
  const d = fhd[0]!;
  const fcsFlag = d >> 6;
  const single = (d >> 5) & 1;
  const checksum = (d >> 2) & 1;
  if (d & 0x08) throw new Error('zstd frame header has its reserved bit set');
  const headerRest = (single ? 0 : 1) + [0, 1, 2, 4][d & 3]! + [single ? 1 : 0, 2, 4, 8][fcsFlag]!;
  if (headerRest) yield await reader.exact(headerRest, 'a frame header');
  for (;;) {
    const bh = await reader.exact(3, 'a block header');
    yield bh;
    const v = bh[0]! | (bh[1]! << 8) | (bh[2]! << 16);
    const last = v & 1;
    const type = (v >> 1) & 3;
    const size = v >>> 3;
    if (type === 3) throw new Error('zstd block of the reserved type');
    for (let left = type === 1 ? 1 : size; left > 0;) {
      const piece = await reader.some(left, 'a block');
      left -= piece.length;
      yield piece;
    }
    if (last) break;
  }
  if (checksum) yield await reader.exact(4, 'a frame checksum');
}

/**
 * zstd, frame by frame. Node's decompressor stops after the first frame and drops the rest silently, while
 * podman/buildah `zstd:chunked` layers are a frame per file plus skippable frames (magic 0x184D2A50–5F) holding the
 * table of contents (containers/storage docs/containers-storage-zstd-chunked.md). So frames are split here and each
 * is decoded by a decoder of its own; skippable frames are skipped by their length field.
 */
/** Receives the payload of each zstd skippable frame: decoders skip those frames, yet their bytes ship. */
export interface SkippedFrames {
  frame(at: number): void;
  data(chunk: Buffer): void;
}

export async function* zstdFrames(
  source: AsyncIterable<Buffer>,
  windowLogMax: number,
  skipped?: SkippedFrames,
): AsyncGenerator<Buffer> {
  const reader = new ByteReader(source[Symbol.asyncIterator](), (where) => `zstd stream is truncated (${where})`);
  const params = { [zlib.constants.ZSTD_d_windowLogMax]: windowLogMax };
  while (!(await reader.atEnd())) {
    const at = reader.offset;
    const magic = await reader.exact(4, 'a frame magic');
    const m = magic.readUInt32LE(0);
    if ((m & 0xfffffff0) === 0x184d2a50) {
      const size = (await reader.exact(4, 'a skippable frame')).readUInt32LE(0);
      skipped?.frame(at);
      for (let left = size; left > 0;) {
        const chunk = await reader.some(left, 'a skippable frame');
        skipped?.data(chunk);
        left -= chunk.length;
      }
      continue;
    }
    if (m !== ZSTD_FRAME) throw new Error(`zstd data is corrupt: no frame magic at byte ${at}`);
    const frame = frameBytes(reader, magic);
    // Small frames: collect and decode at once (a stream per frame costs more than the frame).
    const held: Buffer[] = [];
    let heldBytes = 0;
    let next = await frame.next();
    while (!next.done && heldBytes <= SMALL_FRAME) {
      held.push(next.value);
      heldBytes += next.value.length;
      next = await frame.next();
    }
    if (next.done) {
      const whole = Buffer.concat(held);
      let out: Buffer | undefined;
      try {
        out = zlib.zstdDecompressSync(whole, { params, maxOutputLength: SMALL_FRAME_OUTPUT });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ERR_BUFFER_TOO_LARGE') throw error;
      }
      if (out) {
        for (let i = 0; i < out.length; i += CHUNK) yield out.subarray(i, i + CHUNK);
        continue;
      }
    }
    const rest = next.done ? undefined : next.value;
    async function* replay(): AsyncGenerator<Buffer> {
      yield* held;
      if (rest) {
        yield rest;
        yield* frame;
      }
    }
    yield* new SyncDecoder('zstd', windowLogMax).decode(replay());
  }
}

let xzPatched = false;
let xzActive = 0;
type XzStatics = {
  _contextMutex?: { acquire(): Promise<void>; release(): void };
  _getModuleInstance?: () => Promise<void>;
  _moduleInstance?: { exports: Record<string, unknown> } | undefined;
  _moduleInstancePromise?: Promise<void> | undefined;
};
/** A WebAssembly memory never shrinks: an instance grown past this by a big dictionary is let go once idle. */
const XZ_KEEP_MEMORY = 16 * 1024 * 1024;

function releaseBigXzInstance(): void {
  const cls = XzReadableStream as unknown as XzStatics;
  const memory = cls._moduleInstance?.exports.memory as { buffer: ArrayBuffer } | undefined;
  if (xzActive === 0 && memory && memory.buffer.byteLength > XZ_KEEP_MEMORY) {
    cls._moduleInstance = undefined;
    cls._moduleInstancePromise = undefined;
  }
}
/**
 * xz-decompress serialises its decoders with a module-wide mutex held for a whole stream, so an xz file inside an
 * xz file (a .deb's data.tar.xz holding a .xz) would wait for itself forever; and its decoder contexts share one
 * WebAssembly instance whose state they corrupt when two run at once. So the mutex is lifted, and a stream that
 * starts while another is active in this thread gets a fresh instance (contexts keep the instance they started on).
 * The nesting depth bounds how many exist at once.
 */
async function xzReady(): Promise<void> {
  const cls = XzReadableStream as unknown as XzStatics;
  if (!xzPatched) {
    xzPatched = true;
    if (cls._contextMutex) cls._contextMutex = { acquire: async () => {}, release: () => {} };
  }
  if (xzActive > 0 && cls._getModuleInstance) await cls._getModuleInstance();
}

async function* xz(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  await xzReady();
  // xz-decompress reads past the end of input as a TypeError; say what it means.
  let ended = false;
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  async function* all(): AsyncGenerator<Buffer> {
    if (first.done) return;
    yield first.value;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  }
  // xz-embedded verifies none, CRC32 and CRC64 checks only; other check types are dropped first (see xz-checks.ts).
  const check = first.done ? undefined : xzCheckType(first.value);
  const stream = check !== undefined && check !== 0 && check !== 1 && check !== 4 ? withoutChecks(all()) : all();
  async function* input(): AsyncGenerator<Uint8Array> {
    yield* stream;
    ended = true;
  }
  xzActive++;
  try {
    for await (const chunk of new XzReadableStream(
      ReadableStream.from(input()),
    ) as unknown as AsyncIterable<Uint8Array>) {
      yield Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    }
  } catch (error) {
    if (ended && error instanceof TypeError) throw new Error('xz stream is truncated', { cause: error });
    if (error instanceof Error && /^xz (data|stream)/.test(error.message)) throw error;
    throw new Error(`xz data is corrupt (${error instanceof Error ? error.message : String(error)})`, { cause: error });
  } finally {
    xzActive--;
    releaseBigXzInstance();
  }
}

/**
 * unbzip2-stream is a classic `through` stream that decodes synchronously inside write(): what one write produced
 * is handed on before the next input chunk is read, so memory stays at a block or two (bzip2 blocks are ≤ 900 kB
 * before their run-length stage).
 */
async function* bzip2(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const decoder = unbzip2();
  const out: Buffer[] = [];
  let failure: unknown;
  decoder.on('data', (d: Buffer) => out.push(d));
  decoder.on('error', (e: unknown) => (failure ??= e));
  const check = (): void => {
    if (failure)
      throw new Error(`bzip2 data is corrupt (${failure instanceof Error ? failure.message : 'unknown error'})`, {
        cause: failure,
      });
  };
  for await (const chunk of source) {
    decoder.write(chunk);
    check();
    yield* out.splice(0);
  }
  decoder.end();
  check();
  yield* out.splice(0);
}

export function decompress(
  kind: Compressor,
  source: AsyncIterable<Buffer>,
  windowLogMax: number,
): AsyncIterable<Buffer> {
  switch (kind) {
    case 'gzip':
      return new SyncDecoder('gzip').decode(source);
    case 'zstd':
      return zstdFrames(source, windowLogMax);
    case 'bzip2':
      return bzip2(source);
    case 'xz':
      return xz(source);
    case 'zlib':
    case 'brotli':
      return new SyncDecoder(kind).decode(source);
  }
}
