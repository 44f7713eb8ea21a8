/**
 * Zip and its family (jar, war, ear, whl, egg, nupkg, apk, vsix, jmod …), read through yauzl from the central
 * directory, as every real reader does: local headers of entries written with data descriptors carry no sizes, so a
 * streamed walk of them is unreliable. ZIP64 is handled by yauzl. A prefix before the archive (a Spring Boot launch
 * script, a jmod's 4-byte header, a self-extractor) is found the way Info-ZIP does it: the end record says where the
 * central directory ends, and the difference from where it really ends is the prefix.
 */
import { closeSync, openSync, read as fsRead, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import yauzl from 'yauzl';
import { decodeWhole } from './decompress.js';
import { readSpooled, type Spooled } from './spool.js';
import { present } from '../../../lang/present.js';

const EOCD = 0x06054b50;
const EOCD_MIN = 22;
/** Bytes read at once from a spilled zip for its small reads (headers, names, small entries). */
const WINDOW = 128 * 1024;

async function tail(s: Spooled, n: number): Promise<Buffer> {
  const size = s.kind === 'memory' ? s.bytes.length : s.size;
  const start = Math.max(0, size - n);
  const parts: Buffer[] = [];
  for await (const chunk of readSpooled(s, start)) parts.push(chunk);
  return Buffer.concat(parts);
}

/** Bytes before the zip proper, from the end-of-central-directory record (0 when it cannot tell: yauzl decides). */
export async function zipPrefix(s: Spooled): Promise<number> {
  const size = s.kind === 'memory' ? s.bytes.length : s.size;
  const t = await tail(s, EOCD_MIN + 0xffff);
  for (let i = t.length - EOCD_MIN; i >= 0; i--) {
    if (t.readUInt32LE(i) !== EOCD) continue;
    const cdSize = t.readUInt32LE(i + 12);
    const cdOffset = t.readUInt32LE(i + 16);
    if (cdOffset === 0xffffffff || cdSize === 0xffffffff) return 0; // ZIP64: its own locator, left to yauzl
    const eocdAt = size - t.length + i;
    const prefix = eocdAt - (cdOffset + cdSize);
    return prefix > 0 ? prefix : 0;
  }
  return 0;
}

/** Bytes [start, end) of an open file, by positioned reads: the fd stays open and shared. */
function rangeStream(fd: number, start: number, end: number): Readable {
  let at = start;
  return new Readable({
    highWaterMark: 256 * 1024,
    read(size) {
      const n = Math.min(size, 256 * 1024, end - at);
      if (n <= 0) return void this.push(null);
      const buf = Buffer.allocUnsafe(n);
      fsRead(fd, buf, 0, n, at, (err, got) => {
        if (err) return this.destroy(err);
        if (got === 0) return this.destroy(new Error('unexpected end of zip data'));
        at += got;
        this.push(buf.subarray(0, got));
      });
    },
  });
}

/** A yauzl reader over a byte range of a Spooled (memory or temporary file). */
class SpooledReader extends yauzl.RandomAccessReader {
  private fd: number | undefined;
  private windows: { start: number; bytes: Buffer }[] = [];
  /** The file's size: a window never reaches past it. */
  private readonly end: number;

  constructor(
    private readonly s: Spooled,
    private readonly offset: number,
  ) {
    super();
    this.end = s.kind === 'memory' ? s.bytes.length : s.size;
    if (s.kind === 'file') this.fd = openSync(s.file, 'r');
  }

  override _readStreamForRange(start: number, end: number): Readable {
    if (this.s.kind === 'memory') return Readable.from([this.s.bytes.subarray(this.offset + start, this.offset + end)]);
    return rangeStream(this.fd!, this.offset + start, this.offset + end);
  }

  // The central directory is read a header at a time: a stream per read would cost more than the read.
  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (err: Error | null) => void,
  ): void {
    if (this.s.kind === 'memory') {
      const from = this.offset + position;
      if (from + length > this.s.bytes.length) return callback(new Error('unexpected end of zip data'));
      this.s.bytes.copy(buffer, offset, from, from + length);
      return callback(null);
    }
    // Synchronous on purpose: a read is a page-cache copy of a few bytes, while a round trip through libuv's thread
    // pool per entry header made a jmod of 40,000 entries wait seconds on a busy machine. And windowed: yauzl reads
    // a central directory header and its name as two reads of a few dozen bytes each, then a local header and the
    // data at the other end of the file, so two windows (central directory, data) turn some 4 syscalls per entry
    // into one per window's worth of entries.
    const from = this.offset + position;
    const win = this.windows.find((w) => from >= w.start && from + length <= w.start + w.bytes.length);
    if (win) {
      win.bytes.copy(buffer, offset, from - win.start, from - win.start + length);
      return callback(null);
    }
    const want = Math.min(Math.max(length, WINDOW), this.end - from);
    if (length > WINDOW / 2 || want < length) {
      let n: number;
      try {
        n = readSync(this.fd!, buffer, offset, length, from);
      } catch (error) {
        return callback(error as Error);
      }
      return callback(n < length ? new Error('unexpected end of zip data') : null);
    }
    const bytes = Buffer.allocUnsafe(want);
    let n: number;
    try {
      n = readSync(this.fd!, bytes, 0, want, from);
    } catch (error) {
      return callback(error as Error);
    }
    if (n < length) return callback(new Error('unexpected end of zip data'));
    const fresh = { start: from, bytes: bytes.subarray(0, n) };
    // The window farthest from this read is replaced: the central directory and the data each keep theirs.
    if (this.windows.length < 2) this.windows.push(fresh);
    else {
      const far = Math.abs(this.windows[0]!.start - from) > Math.abs(this.windows[1]!.start - from) ? 0 : 1;
      this.windows[far] = fresh;
    }
    fresh.bytes.copy(buffer, offset, 0, length);
    callback(null);
  }

  override close(callback: (err: Error | null) => void): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
    this.windows = [];
    setImmediate(() => callback(null));
  }
}

export interface ZipMember {
  readonly name: string;
  readonly directory: boolean;
  /** Why the member cannot be read, when it cannot (encrypted, an unsupported method). */
  readonly unreadable?: string;
  readonly size: number;
  /** The member's bytes: whole when small, else a stream. */
  open(): Promise<Buffer | Readable>;
}

/**
 * Entries this small are read and inflated in one call. A jmod or src.zip holds tens of thousands of small class
 * and source files, and yauzl's per-entry stream pipeline (read, inflate, size check) costs more than the entry.
 */
const SMALL_ENTRY = 1024 * 1024;

/** A deflated entry whose size the central directory tells: more output than that is the header lying. */
function inflateEntry(raw: Buffer, size: number): Buffer {
  try {
    return decodeWhole('deflate-raw', raw, size);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
      throw new Error(`entry inflates past the ${size} bytes its header says`, { cause: error });
    throw error;
  }
}

const METHODS: Record<number, string> = {
  1: 'shrink',
  6: 'implode',
  9: 'deflate64',
  12: 'bzip2',
  14: 'lzma',
  93: 'zstd',
  95: 'xz',
  98: 'ppmd',
  99: 'AES encryption',
};

/** Walks the entries of a zip one at a time; `visit` is awaited before the next entry is read. */
export async function walkZip(s: Spooled, visit: (m: ZipMember) => Promise<void>): Promise<void> {
  const size = s.kind === 'memory' ? s.bytes.length : s.size;
  const prefix = await zipPrefix(s);
  const reader = new SpooledReader(s, prefix);
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.fromRandomAccessReader(
      reader,
      size - prefix,
      { lazyEntries: true, autoClose: false, decodeStrings: false, validateEntrySizes: true },
      (err, z) => (err ? reject(err) : resolve(z)),
    ),
  );
  try {
    await new Promise<void>((resolve, reject) => {
      zip.on('error', reject);
      zip.on('end', () => resolve());
      zip.on('entry', (entry: yauzl.Entry) => {
        const raw = entry.fileName as unknown as Buffer;
        const name = raw.toString('utf8');
        const method = entry.compressionMethod;
        const unreadable = entry.isEncrypted()
          ? 'encrypted zip entry'
          : method !== 0 && method !== 8
            ? `zip compression method ${method}${METHODS[method] ? ` (${METHODS[method]})` : ''} is not supported (stored and deflate are)`
            : undefined;
        const member: ZipMember = {
          name,
          directory: name.endsWith('/'),
          ...present({ unreadable }),
          size: entry.uncompressedSize,
          open: async () => {
            if (entry.compressedSize <= SMALL_ENTRY && entry.uncompressedSize <= 4 * SMALL_ENTRY) {
              const { fileDataStart } = await zip.readLocalFileHeaderPromise(entry, { minimal: true });
              const raw = Buffer.allocUnsafe(entry.compressedSize);
              await new Promise<void>((res, rej) =>
                reader.read(raw, 0, raw.length, fileDataStart, (err) => (err ? rej(err) : res())),
              );
              const data = method === 0 ? raw : inflateEntry(raw, entry.uncompressedSize);
              if (data.length !== entry.uncompressedSize)
                throw new Error(`entry is ${data.length} bytes, its header says ${entry.uncompressedSize}`);
              return data;
            }
            return new Promise<Readable>((res, rej) =>
              zip.openReadStream(entry, (err, stream) => (err ? rej(err) : res(stream))),
            );
          },
        };
        visit(member).then(
          () => zip.readEntry(),
          (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
        );
      });
      zip.readEntry();
    });
  } finally {
    zip.close();
  }
}
