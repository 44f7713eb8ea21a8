import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { PassThrough, type Readable, type Transform } from 'node:stream';
import zlib from 'node:zlib';
import { readJks, readPkcs12 } from '../ca/keystore.js';
import { classifyDer, ContentScanner, scanBuffer, type Matcher } from './matcher.js';
import { TarParser, type TarHeader } from './tar.js';
import { openBlob } from './blob.js';
import { LayerIndexBuilder } from './filesystem.js';
import type { CapturedFile, EntryType, FileHit, LayerJob, LayerResult, ScanLimits } from './types.js';

/** Config files that can point a tool at a CA file (see pointers.ts); small, so kept whole when seen. */
const CAPTURE_NAMES = new Set(['.npmrc', 'npmrc', 'pip.conf', 'pip.ini', '.gitconfig', 'gitconfig', '.wgetrc', 'wgetrc', '.curlrc', '.yarnrc', '.yarnrc.yml']);
const CAPTURE_MAX = 64 * 1024;

export function isCapturedPath(path: string): boolean {
  return CAPTURE_NAMES.has(posix.basename(path)) || path.endsWith('.config/git/config');
}

type Keystore = 'jks' | 'pkcs12';

function keystoreKind(head: Buffer): Keystore | undefined {
  if (head.length >= 4) {
    const magic = head.readUInt32BE(0);
    if (magic === 0xfeedfeed || magic === 0xcececece) return 'jks';
  }
  // PFX ::= SEQUENCE { version INTEGER 3, ... }
  if (head[0] === 0x30 && head.length >= 8) {
    const l = head[1]!;
    const at = l < 0x80 ? 2 : 2 + (l & 0x7f);
    if (head[at] === 0x02 && head[at + 1] === 0x01 && head[at + 2] === 0x03 && head[at + 3] === 0x30) return 'pkcs12';
  }
  return undefined;
}

/** Collects what the scan of one layer (or one directory tree) learns, file by file. */
export class LayerAccumulator {
  readonly index = new LayerIndexBuilder();
  readonly hits: FileHit[] = [];
  readonly unreadable: { path: string; reason: string }[] = [];
  readonly captured: CapturedFile[] = [];
  files = 0;
  private path = '';
  private head: Buffer[] = [];
  private headLen = 0;
  private mode: 'head' | 'stream' | Keystore = 'head';
  private scanner?: ContentScanner;
  private whole: Buffer[] = [];
  private wholeLen = 0;
  private capture: Buffer[] | undefined;

  constructor(
    private readonly matcher: Matcher,
    private readonly limits: ScanLimits,
  ) {}

  entry(path: string, type: EntryType, size: number, link?: string): void {
    this.index.add(path, type, link);
    if (type !== 'file') return;
    if (size > this.limits.maxFileBytes) {
      throw new Error(`file '${path}' is ${size} bytes, over the ${this.limits.maxFileBytes}-byte bound for one file`);
    }
    this.files++;
    this.path = path;
    this.mode = 'head';
    this.head = [];
    this.headLen = 0;
    this.scanner = undefined;
    this.capture = isCapturedPath(path) && size <= CAPTURE_MAX ? [] : undefined;
  }

  data(chunk: Buffer): void {
    this.capture?.push(chunk);
    if (this.mode === 'head') {
      this.head.push(chunk);
      this.headLen += chunk.length;
      if (this.headLen >= 16) this.decide();
      return;
    }
    this.route(chunk);
  }

  private decide(): void {
    const head = Buffer.concat(this.head);
    this.head = [];
    this.mode = keystoreKind(head) ?? 'stream';
    if (this.mode === 'stream') this.scanner = new ContentScanner(this.matcher);
    this.whole = [];
    this.wholeLen = 0;
    this.route(head);
  }

  private route(chunk: Buffer): void {
    if (this.mode === 'stream') {
      this.scanner!.feed(chunk);
      return;
    }
    this.wholeLen += chunk.length;
    if (this.wholeLen > this.limits.maxKeystoreBytes) {
      throw new Error(`keystore '${this.path}' is over the ${this.limits.maxKeystoreBytes}-byte bound for keystores`);
    }
    this.whole.push(chunk);
  }

  entryEnd(): void {
    if (this.mode === 'head' && this.headLen > 0) this.decide();
    const path = this.path;
    if (this.capture) this.captured.push({ path, text: Buffer.concat(this.capture).toString('utf8') });
    this.capture = undefined;
    if (this.mode === 'stream' && this.scanner) {
      for (const hit of this.scanner.end()) this.hits.push({ ...hit, path });
    } else if (this.mode === 'jks' || this.mode === 'pkcs12') {
      this.keystore(path, this.mode, Buffer.concat(this.whole));
    }
    this.scanner = undefined;
    this.whole = [];
    this.mode = 'head';
    this.headLen = 0;
  }

  private keystore(path: string, kind: Keystore, bytes: Buffer): void {
    const found: FileHit[] = [];
    try {
      const entries = kind === 'jks' ? readJks(bytes) : readPkcs12(bytes);
      for (const entry of entries) {
        const c = classifyDer(this.matcher, entry.der);
        if (c) found.push({ kind, fingerprint: c.fingerprint, ...(c.subject ? { subject: c.subject } : {}), start: 0, end: bytes.length, path });
      }
    } catch (error) {
      // Fail closed: a store we cannot open could hold the CA (keytool defaults: 'changeit' and empty were tried).
      const why = error instanceof Error ? error.message : String(error);
      this.unreadable.push({ path, reason: kind === 'jks' ? `Java keystore could not be read: ${why}` : why });
    }
    const fps = new Set(found.map((f) => f.fingerprint));
    for (const hit of scanBuffer(this.matcher, bytes)) if (!fps.has(hit.fingerprint)) found.push({ ...hit, path });
    this.hits.push(...found);
  }

  /** Files reached by hard links carry the hits of the file they link to. */
  linkHits(): void {
    const byPath = new Map<string, FileHit[]>();
    for (const hit of this.hits) byPath.set(hit.path, [...(byPath.get(hit.path) ?? []), hit]);
    for (const [path, link] of this.index.hardlinks) {
      if (!link) continue;
      for (const hit of byPath.get(link) ?? []) this.hits.push({ ...hit, path });
    }
  }
}

type Compression = LayerResult['compression'];

export function sniff(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4) {
    const magic = head.readUInt32LE(0);
    // zstd frame, or a skippable frame (zstd:chunked puts its TOC in those)
    if (magic === 0xfd2fb528 || (magic & 0xfffffff0) === 0x184d2a50) return 'zstd';
  }
  if (head.toString('latin1', 257, 262) === 'ustar') return 'none';
  if (head.length >= 1024 && head.subarray(0, 1024).every((b) => b === 0)) return 'none'; // an empty tar
  return 'unknown';
}

/** The blob's first `n` bytes (fewer if it is shorter), and the stream positioned after them. */
async function peek(input: Readable, n: number): Promise<{ head: Buffer; rest: AsyncIterator<Buffer> }> {
  const rest = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const parts: Buffer[] = [];
  let len = 0;
  while (len < n) {
    const next = await rest.next();
    if (next.done) break;
    parts.push(next.value);
    len += next.value.length;
  }
  return { head: Buffer.concat(parts), rest };
}

function decompressor(kind: Compression, limits: ScanLimits): Transform {
  const chunkSize = 64 * 1024;
  if (kind === 'gzip') return zlib.createGunzip({ chunkSize });
  if (kind === 'zstd') return zlib.createZstdDecompress({ chunkSize, params: { [zlib.constants.ZSTD_d_windowLogMax]: limits.zstdWindowLogMax } });
  return new PassThrough({ highWaterMark: chunkSize });
}

const MEDIA_COMPRESSION: [RegExp, Compression][] = [
  [/(\+|\.)gzip$/, 'gzip'],
  [/(\+|\.)zstd$/, 'zstd'],
  [/(\.tar|\.layer\.v1\.tar|rootfs\.diff\.tar)$/, 'none'],
];

function describeMedia(mediaType: string | undefined): Compression | undefined {
  if (!mediaType) return undefined;
  for (const [re, c] of MEDIA_COMPRESSION) if (re.test(mediaType)) return c;
  return undefined;
}

const TAIL_KEPT = 64 * 1024;

/** Scans one layer blob end to end; never throws: a layer that cannot be read comes back with `error` set. */
export async function scanLayer(job: LayerJob, matcher: Matcher, limits: ScanLimits): Promise<LayerResult> {
  const acc = new LayerAccumulator(matcher, limits);
  const rawHash = createHash('sha256');
  const outHash = createHash('sha256');
  let rawBytes = 0;
  let outBytes = 0;
  let compression: Compression = 'unknown';
  const result = (error?: string): LayerResult => ({
    id: job.id,
    ...(error ? { error } : {}),
    compression,
    digest: `sha256:${rawHash.digest('hex')}`,
    diffId: `sha256:${outHash.digest('hex')}`,
    bytes: outBytes,
    files: acc.files,
    index: acc.index.finish(),
    hits: acc.hits,
    unreadable: acc.unreadable,
    captured: acc.captured,
  });
  try {
    const opened = await peek(await openBlob(job.blob), 1024);
    const head = opened.head;
    compression = sniff(head.subarray(0, 1024));
    if (compression === 'unknown') {
      const said = job.mediaType ? ` (media type '${job.mediaType}')` : '';
      throw new Error(`unknown layer format${said}: expected tar, gzip or zstd by its first bytes`);
    }
    // A known media type is not trusted either: the bytes decide (containerd sniffs too, containerd#13662).
    if (!describeMedia(job.mediaType) && job.mediaType && !/tar|layer/.test(job.mediaType)) {
      throw new Error(`unknown layer media type '${job.mediaType}'`);
    }
    const tar = new TarParser({
      entry: (h: TarHeader) => acc.entry(h.path, h.type === 'char' || h.type === 'block' || h.type === 'fifo' ? 'other' : h.type, h.size, h.type === 'symlink' || h.type === 'hardlink' ? normalizeLink(h) : undefined),
      data: (c) => acc.data(c),
      entryEnd: () => acc.entryEnd(),
    });
    const decomp = decompressor(compression, limits);
    // The last raw bytes are kept for the check after a gzip member: the blob may be a stream that cannot be re-read.
    const tail: Buffer[] = [];
    let tailBytes = 0;
    await pipeline(
      async function* () {
        try {
          if (head.length) yield head;
          for (let next = await opened.rest.next(); !next.done; next = await opened.rest.next()) yield next.value;
        } finally {
          // Closes the file or the connection when the scan stops early.
          await opened.rest.return?.();
        }
      },
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          rawHash.update(chunk);
          rawBytes += chunk.length;
          if (rawBytes > job.blob.size) throw new Error(`the blob is longer than the ${job.blob.size} bytes expected`);
          tail.push(chunk);
          tailBytes += chunk.length;
          while (tail.length > 1 && tailBytes - tail[0]!.length > TAIL_KEPT) tailBytes -= tail.shift()!.length;
          yield chunk;
        }
      },
      decomp,
      async function (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          outHash.update(chunk);
          outBytes += chunk.length;
          if (outBytes > limits.maxLayerBytes) throw new Error(`layer is over the ${limits.maxLayerBytes}-byte bound uncompressed`);
          if (compression !== 'none' && outBytes > limits.ratioFloorBytes && outBytes > limits.maxRatio * Math.max(1, rawBytes)) {
            throw new Error(`decompression ratio over ${limits.maxRatio}:1 (${outBytes} bytes from ${rawBytes}): a decompression bomb?`);
          }
          tar.write(chunk);
        }
        tar.end();
      },
    );
    if (rawBytes !== job.blob.size) throw new Error(`read ${rawBytes} of ${job.blob.size} bytes: the blob is truncated`);
    // zlib stops silently at a 0x00 after a gzip member ("trailing zero bytes are okay", node src/node_zlib.cc):
    // whatever follows would never be scanned, so anything but zero padding there fails the layer.
    const consumed = (decomp as unknown as { bytesWritten?: number }).bytesWritten;
    if (compression !== 'none' && consumed !== undefined && consumed < rawBytes) {
      const after = rawBytes - consumed;
      const rest = after > TAIL_KEPT ? undefined : Buffer.concat(tail).subarray(tailBytes - after);
      if (!rest || !rest.every((b) => b === 0)) {
        throw new Error(`${rawBytes - consumed} bytes after the end of the ${compression} stream were not decompressed`);
      }
    }
    acc.linkHits();
    const r = result();
    const problems: string[] = [];
    if (job.digest && r.digest !== job.digest) problems.push(`blob digest is ${r.digest}, expected ${job.digest}`);
    if (job.diffId && r.diffId !== job.diffId) problems.push(`uncompressed digest is ${r.diffId}, expected diff_id ${job.diffId}`);
    return problems.length ? { ...r, error: problems.join('; ') } : r;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const r = result(friendly(message, compression));
    // Every byte was read and they are not the blob's: that is the cause, whatever the decompressor made of them.
    if (job.digest && rawBytes === job.blob.size && r.digest !== job.digest) return { ...r, error: `blob digest is ${r.digest}, expected ${job.digest} (${r.error})` };
    return r;
  }
}

function friendly(message: string, compression: Compression): string {
  if (/unexpected end of file/i.test(message)) return `${compression} stream is truncated (${message})`;
  if (/incorrect header check|invalid|data error|unknown frame|corrupt/i.test(message) && compression !== 'none') return `${compression} data is corrupt (${message})`;
  return message;
}

function normalizeLink(h: TarHeader): string {
  // Hard links name another entry of the archive; symlinks keep their text (resolved later in the image's tree).
  return h.type === 'hardlink' ? h.linkname.replace(/^\/+/, '').replace(/^\.\//, '') : h.linkname;
}

/** A plain root file system: walked without following symlinks, each regular file streamed. */
export async function scanDirectory(id: string, root: string, matcher: Matcher, limits: ScanLimits): Promise<LayerResult> {
  const acc = new LayerAccumulator(matcher, limits);
  let bytes = 0;
  const unreadable: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let names: string[];
    try {
      names = readdirSync(join(root, rel)).sort();
    } catch (error) {
      unreadable.push(`${rel || '.'}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      return;
    }
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(root, path);
      const st = lstatSync(full);
      if (st.isDirectory()) {
        acc.entry(path, 'dir', 0);
        await walk(path);
      } else if (st.isSymbolicLink()) {
        acc.entry(path, 'symlink', 0, readlinkSync(full));
      } else if (st.isFile()) {
        acc.entry(path, 'file', st.size);
        try {
          for await (const chunk of createReadStream(full, { highWaterMark: 1024 * 1024 })) {
            bytes += (chunk as Buffer).length;
            acc.data(chunk as Buffer);
          }
        } catch (error) {
          unreadable.push(`${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
        }
        acc.entryEnd();
      } else {
        acc.entry(path, 'other', 0);
      }
    }
  };
  let error: string | undefined;
  try {
    await walk('');
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  }
  if (unreadable.length && !error) error = `could not read ${unreadable.length} path(s), e.g. ${unreadable[0]}`;
  return {
    id,
    ...(error ? { error } : {}),
    compression: 'none',
    digest: '',
    diffId: '',
    bytes,
    files: acc.files,
    index: acc.index.finish(),
    hits: acc.hits,
    unreadable: acc.unreadable,
    captured: acc.captured,
  };
}
