import { closeSync, mkdtempSync, openSync, rmSync, unlinkSync, writeSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Where the bytes of a file that is going to be opened wait: in memory up to a bound, then in a temporary file.
 * A zip needs its central directory at the end (a streamed walk of local headers is unreliable with data
 * descriptors), so a nested archive must be complete before it is opened; spilling keeps memory flat whatever its
 * size. Temporary files are named by a counter, never by a member name (names inside archives are data, not paths),
 * live in one private directory (mode 0700 by mkdtemp) and are removed when the layer is done.
 */
export class TempDir {
  private dir?: string | undefined;
  private next = 0;

  constructor(private readonly parent: string = tmpdir()) {}

  file(): string {
    this.dir ??= mkdtempSync(join(this.parent, 'org-ca-leak-nested-'));
    return join(this.dir, String(this.next++));
  }

  remove(): void {
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}

/** The collected bytes of one file. */
export type Spooled =
  | { readonly kind: 'memory'; readonly bytes: Buffer }
  | { readonly kind: 'file'; readonly file: string; readonly size: number };

export function spooledSize(s: Spooled): number {
  return s.kind === 'memory' ? s.bytes.length : s.size;
}

/** Releases what a Spooled holds on disk. */
export function discard(s: Spooled): void {
  if (s.kind === 'file') {
    try {
      unlinkSync(s.file);
    } catch {
      // already gone with its directory
    }
  }
}

export async function* readSpooled(s: Spooled, start = 0): AsyncGenerator<Buffer> {
  if (s.kind === 'memory') {
    for (let at = start; at < s.bytes.length; at += 256 * 1024)
      yield s.bytes.subarray(at, Math.min(s.bytes.length, at + 256 * 1024));
    return;
  }
  if (start >= s.size) return;
  for await (const chunk of createReadStream(s.file, { start, highWaterMark: 256 * 1024 })) yield chunk as Buffer;
}

export class Spool {
  private parts: Buffer[] = [];
  private size = 0;
  private fd: number | undefined;
  private file: string | undefined;

  /** Set once the spill budget refused more bytes: nothing more is collected, and the file is not opened. */
  refused = false;

  constructor(
    private readonly temp: TempDir,
    private readonly memoryBound: number,
    /** Asks for room on disk; false when the check's spill budget is spent (Budget.spill). */
    private readonly reserve: (n: number) => boolean = () => true,
  ) {}

  write(chunk: Buffer): void {
    if (this.refused) return;
    this.size += chunk.length;
    if (this.fd === undefined && this.size > this.memoryBound) {
      if (!this.reserve(this.size - chunk.length)) return this.refuse();
      this.file = this.temp.file();
      this.fd = openSync(this.file, 'wx', 0o600);
      for (const p of this.parts) writeSync(this.fd, p);
      this.parts = [];
    }
    // A chunk handed on by a parser is a view into a larger buffer the parser reuses: copy what is kept.
    if (this.fd !== undefined) {
      if (!this.reserve(chunk.length)) return this.refuse();
      writeSync(this.fd, chunk);
    } else this.parts.push(Buffer.from(chunk));
  }

  private refuse(): void {
    this.abandon();
    this.refused = true;
  }

  finish(): Spooled {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
      return { kind: 'file', file: this.file!, size: this.size };
    }
    const bytes = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    return { kind: 'memory', bytes };
  }

  /** Drops what was collected (the file turned out not to need opening). */
  abandon(): void {
    if (this.fd !== undefined) {
      closeSync(this.fd);
      this.fd = undefined;
      discard({ kind: 'file', file: this.file!, size: this.size });
    }
    this.parts = [];
  }
}
