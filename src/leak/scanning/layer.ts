import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { ContentScanner, type Matcher } from './matcher.js';
import { Budget } from './nested/budget.js';
import { SyncDecoder, zstdFrames, type SkippedFrames } from './nested/decompress.js';
import { FileScan, openNested, type NestedJob, type ScanContext } from './nested/scan.js';
import { TempDir } from './nested/spool.js';
import { hitsThroughHardlinks } from './nested/offer.js';
import { sniff, type Compression } from '../sniff.js';
import { digestAlgorithm, DigestHash } from '../digest.js';
import { blameTarFailure } from './blame.js';
import { filePointers, isCapturedPath, keptPointers } from '../../ca-pointers/pointers.js';
import { TarError, TarParser, type TarHeader } from '../tar.js';
import { LayerIndexBuilder } from './final-fs.js';
import type {
  BlobOpener,
  CapturedFile,
  EntryType,
  FileHit,
  LayerJob,
  LayerResult,
  NotLookedInside,
  ScanLimits,
} from '../types.js';
import { present } from '../../lang/present.js';

/** Config files that can point a tool at a CA file (see pointers.ts); small, so kept whole when seen. */
const CAPTURE_MAX = 64 * 1024;

/**
 * Collects what the scan of one layer (or one directory tree) learns, file by file: the path index, the matches
 * (also inside archives and compressed files, see nested/), the captured pointer files. Files are pushed in
 * synchronously as the tar streams past; containers found on the way wait in `pending` until `drain()` opens them.
 */
export class LayerAccumulator {
  readonly index = new LayerIndexBuilder();
  readonly hits: FileHit[] = [];
  readonly unreadable: { path: string; reason: string }[] = [];
  readonly notLookedInside: NotLookedInside[] = [];
  readonly captured: CapturedFile[] = [];
  readonly temp = new TempDir();
  readonly context: ScanContext;
  files = 0;
  private file?: FileScan | undefined;
  private capture: Buffer[] | undefined;
  private readonly pending: NestedJob[] = [];

  constructor(
    matcher: Matcher,
    private readonly limits: ScanLimits,
    budget: Budget = new Budget(limits),
    /** Hands a big container to another worker (see nested/offer.ts); false: open it here. */
    private readonly offer?: (job: NestedJob) => boolean,
  ) {
    this.context = {
      matcher,
      limits,
      budget,
      temp: this.temp,
      hits: this.hits,
      unreadable: this.unreadable,
      notLookedInside: this.notLookedInside,
      nestedFiles: 0,
    };
  }

  entry(path: string, type: EntryType, size: number, link?: string): void {
    this.index.add(path, type, link);
    if (type !== 'file') return;
    if (size > this.limits.maxFileBytes) {
      throw new Error(`file '${path}' is ${size} bytes, over the ${this.limits.maxFileBytes}-byte bound for one file`);
    }
    this.files++;
    this.file = new FileScan(this.context, path, 0);
    this.capture = isCapturedPath(path) && size <= CAPTURE_MAX ? [] : undefined;
  }

  data(chunk: Buffer): void {
    this.capture?.push(chunk);
    this.file?.write(chunk);
  }

  entryEnd(): void {
    const file = this.file;
    this.file = undefined;
    if (!file) return;
    if (this.capture) {
      const text = Buffer.concat(this.capture).toString('utf8');
      this.captured.push({ path: file.path, pointers: keptPointers(filePointers(file.path, text)) });
    }
    this.capture = undefined;
    for (const job of file.end()) if (!this.offer?.(job)) this.pending.push(job);
  }

  /** Whether containers wait to be opened. */
  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  /** Opens the containers collected so far (call between writes; the layer stream waits meanwhile). */
  async drain(): Promise<void> {
    while (this.pending.length) await openNested(this.context, this.pending.shift()!);
  }

  /** Files reached by hard links carry the hits of the file they link to (and of what is inside it). */
  linkHits(): void {
    this.hits.push(...hitsThroughHardlinks(this.hits, this.index.hardlinks));
  }

  /** Removes the temporary files of nested archives. */
  close(): void {
    this.temp.remove();
  }

  result(
    base: Omit<LayerResult, 'files' | 'index' | 'hits' | 'unreadable' | 'notLookedInside' | 'nestedFiles' | 'captured'>,
  ): LayerResult {
    return {
      ...base,
      files: this.files,
      index: this.index.finish(),
      hits: this.hits,
      unreadable: this.unreadable,
      notLookedInside: this.notLookedInside,
      nestedFiles: this.context.nestedFiles,
      captured: this.captured,
    };
  }
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

/** Raw bytes kept from the end of a blob, for the check after a gzip member (a registry stream cannot be re-read). */
const TAIL_KEPT = 64 * 1024;

type Decompressor = { decode(source: AsyncIterable<Buffer>): AsyncIterable<Buffer>; readonly consumed?: number };

function decompressor(kind: Compression, limits: ScanLimits, skipped: SkippedFrames): Decompressor {
  if (kind === 'gzip') return new SyncDecoder('gzip');
  // zstd frame by frame: one frame per file in zstd:chunked layers (see nested/decompress.ts).
  if (kind === 'zstd') return { decode: (source) => zstdFrames(source, limits.zstdWindowLogMax, skipped) };
  return { decode: (source) => source };
}

/**
 * zstd skippable frames (zstd:chunked keeps its table of contents and tar-split there) are skipped by every decoder,
 * yet their bytes ship with the image: each frame's payload is searched as raw bytes, on its own.
 */
class SkippedFrameScan implements SkippedFrames {
  private readonly found: FileHit[] = [];
  private current?: { at: number; scanner: ContentScanner } | undefined;

  constructor(private readonly matcher: Matcher) {}

  frame(at: number): void {
    this.finishFrame();
    this.current = { at, scanner: new ContentScanner(this.matcher) };
  }

  data(chunk: Buffer): void {
    this.current?.scanner.feed(chunk);
  }

  hits(): FileHit[] {
    this.finishFrame();
    return this.found;
  }

  private finishFrame(): void {
    if (!this.current) return;
    const path = `zstd skippable frame at byte ${this.current.at}`;
    for (const hit of this.current.scanner.end()) this.found.push({ ...hit, path });
    this.current = undefined;
  }
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

/**
 * Scans one layer blob end to end; never throws: a layer that cannot be read comes back with `error` set. `budget`
 * carries the bounds on absolute work, shared with the other layers of the check.
 */
export async function scanLayer(
  job: LayerJob,
  matcher: Matcher,
  limits: ScanLimits,
  openBlob: BlobOpener,
  budget: Budget = new Budget(limits),
  offer?: (job: NestedJob) => boolean,
): Promise<LayerResult> {
  const acc = new LayerAccumulator(matcher, limits, budget, offer);
  const skipped = new SkippedFrameScan(matcher);
  const rawHash = DigestHash.for(job.digest);
  // The uncompressed digest (diff_id) is computed only when it is the one check of the bytes: an uncompressed
  // layer's is its blob digest, and a compressed layer whose blob digest is verified has its uncompressed bytes
  // pinned by it (a runtime refuses a config whose diff_ids do not match anyway). Hashing 2.4 GB of tar twice cost
  // a tenth of the check's time.
  let outHash: DigestHash | undefined;
  let rawBytes = 0;
  let outBytes = 0;
  let compression: Compression = 'unknown';
  const result = (error?: string): LayerResult => {
    const digest = rawHash.digest();
    const diffId = outHash ? outHash.digest() : compression === 'none' ? digest : '';
    return acc.result({
      id: job.id,
      ...present({ error }),
      compression,
      digest,
      diffId,
      bytes: outBytes,
      blobHits: skipped.hits(),
    });
  };
  // The blob's stream while the scan may still stop before the pipeline below takes it over: closed in `finally`,
  // so a registry connection is not left open and paused (it has no idle timeout while paused).
  let unclaimed: AsyncIterator<Buffer> | undefined;
  try {
    const opened = await peek(await openBlob(job.blob), 1024);
    unclaimed = opened.rest;
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
    if (compression !== 'none' && !job.digest) outHash = DigestHash.for(job.diffId);
    const tar = new TarParser({
      entry: (h: TarHeader) =>
        acc.entry(
          h.path,
          h.type === 'char' || h.type === 'block' || h.type === 'fifo' ? 'other' : h.type,
          h.size,
          h.type === 'symlink' || h.type === 'hardlink' ? normalizeLink(h) : undefined,
        ),
      data: (c) => acc.data(c),
      entryEnd: () => acc.entryEnd(),
    });
    const decomp = decompressor(compression, limits, skipped);
    const tail: Buffer[] = [];
    let tailBytes = 0;
    unclaimed = undefined;
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
      (source: AsyncIterable<Buffer>) => decomp.decode(source),
      async function (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          outHash?.update(chunk);
          outBytes += chunk.length;
          budget.layer(chunk.length);
          tar.write(chunk);
          // Archives and compressed files met in this chunk are opened now, while the layer stream waits.
          if (acc.hasPending) await acc.drain();
        }
        tar.end();
        await acc.drain();
      },
    );
    if (rawBytes !== job.blob.size)
      throw new Error(`read ${rawBytes} of ${job.blob.size} bytes: the blob is truncated`);
    // zlib stops silently at a 0x00 after a gzip member ("trailing zero bytes are okay", node src/node_zlib.cc):
    // whatever follows would never be scanned, so anything but zero padding there fails the layer.
    const consumed = decomp.consumed;
    if (consumed !== undefined && consumed < rawBytes) {
      const after = rawBytes - consumed;
      const rest = after > TAIL_KEPT ? undefined : Buffer.concat(tail).subarray(tailBytes - after);
      if (!rest || !rest.every((b) => b === 0)) {
        throw new Error(
          `${rawBytes - consumed} bytes after the end of the ${compression} stream were not decompressed`,
        );
      }
    }
    acc.linkHits();
    const r = result();
    const problems: string[] = [];
    if (job.digest && !digestAlgorithm(job.digest))
      problems.push(`its digest ${job.digest} uses an algorithm org-ca cannot verify (sha256, sha512)`);
    else if (job.digest && r.digest !== job.digest) problems.push(`blob digest is ${r.digest}, expected ${job.digest}`);
    if (job.diffId && r.diffId && r.diffId !== job.diffId)
      problems.push(`uncompressed digest is ${r.diffId}, expected diff_id ${job.diffId}`);
    return problems.length ? { ...r, error: problems.join('; ') } : r;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // Every byte was read and they are not the blob's: that is the cause, whatever the decompressor made of them.
    const whole = rawBytes === job.blob.size && job.digest;
    if (whole) {
      const r = result(error instanceof TarError ? message : friendly(message, compression));
      return r.digest === job.digest
        ? r
        : {
            ...r,
            error: `the blob is corrupt: its digest is ${r.digest}, expected ${job.digest} (reading it failed with: ${r.error})`,
          };
    }
    // A tar error is the tar stream's, not the compression's (blame.ts tells the two apart by the blob's digest).
    return result(
      error instanceof TarError ? await blameTarFailure(job, message, openBlob) : friendly(message, compression),
    );
  } finally {
    await unclaimed?.return?.();
    acc.close();
  }
}

function friendly(message: string, compression: Compression): string {
  if (/unexpected end of file/i.test(message)) return `${compression} stream is truncated (${message})`;
  if (/^zstd (stream|data)/.test(message)) return message;
  if (/incorrect header check|invalid|data error|unknown frame|corrupt/i.test(message) && compression !== 'none')
    return `${compression} data is corrupt (${message})`;
  return message;
}

function normalizeLink(h: TarHeader): string {
  // Hard links name another entry of the archive; symlinks keep their text (resolved later in the image's tree).
  return h.type === 'hardlink' ? h.linkname.replace(/^\/+/, '').replace(/^\.\//, '') : h.linkname;
}
