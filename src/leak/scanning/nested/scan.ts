/**
 * Looking inside what files hold, recursively: zips (jar, war, whl, …), tar, ar (.deb), rpm (cpio payload), cpio,
 * and gzip/bzip2/xz/zstd-compressed files, at any depth up to `maxDepth`. A file's own bytes are always scanned as
 * they stream past (FileScan); a file that is a container is also collected (in memory, or a temporary file past a
 * bound) and opened once it is complete (openNested), its members scanned the same way under the path
 * `outer!/member`. What cannot be opened (corrupt, encrypted, too deep, over the budget) is listed as "not looked
 * inside" with its path and the reason, never silently passed.
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { readJks, readPkcs12 } from '../../../ca/keystore.js';
import { classifyDer, ContentScanner, scanBuffer, type Matcher } from '../matcher.js';
import {
  COMPRESSORS,
  HEAD_BYTES,
  isTarHead,
  keystoreKind,
  sniffContainer,
  unopenedKind,
  type Compressor,
  type Container,
  type Keystore,
} from '../../sniff.js';
import { TarParser } from '../../tar.js';
import type { FileHit, NotLookedInside, ScanLimits } from '../../types.js';
import { ArParser } from './ar.js';
import { NestedLimitError, type Budget } from './budget.js';
import { CpioParser } from './cpio.js';
import { decodeWhole, decompress } from './decompress.js';
import type { MemberParser, MemberSink } from './members.js';
import { rpmPayloadOffset } from './rpm.js';
import { discard, readSpooled, Spool, spooledSize, type Spooled, type TempDir } from './spool.js';
import { MAX_GIT_OBJECT_BYTES, MAX_GIT_PACK_BYTES, readGitPack } from './git-pack.js';
import { walkZip } from './zip.js';
import { EmbeddedBase64, type RunSink } from './embedded-base64.js';
import { present } from '../../../lang/present.js';

/** Where one layer's (or one directory tree's) scan collects what it learns. */
export interface ScanContext {
  readonly matcher: Matcher;
  readonly limits: ScanLimits;
  readonly budget: Budget;
  readonly temp: TempDir;
  readonly hits: FileHit[];
  /** Keystores that could not be read (fail the check, as before). */
  readonly unreadable: { path: string; reason: string }[];
  readonly notLookedInside: NotLookedInside[];
  /** Members scanned inside other files. */
  nestedFiles: number;
}

/** A complete container file, waiting to be opened. */
export interface NestedJob {
  readonly path: string;
  readonly depth: number;
  readonly kind: Container;
  readonly spooled: Spooled;
  /** Matches in the container's own bytes, held back so that a match the opening places more precisely replaces them. */
  readonly rawHits: FileHit[];
  /**
   * The container's own bytes were not searched yet: a compressed file's bytes can hold a certificate in the clear
   * only where its decoded bytes hold it too (a deflate stored block, an uncompressed zstd block), so they are
   * searched only when decoding fails.
   */
  readonly rawDeferred?: boolean;
}

/** Separator between an archive's path and a member's path inside it, as Java's jar: URLs write it. */
export const NESTED = '!/';

/** Collected containers at most this big stay in memory; bigger ones go to a temporary file. */
const MEMORY_SPOOL = 2 * 1024 * 1024;
/** In-memory gzip members this small are decoded in one call (a stream per small file costs more than the file). */
const SMALL_GZIP = 1024 * 1024;
const SMALL_GZIP_OUTPUT = 4 * 1024 * 1024;

/** Streams one file's bytes: matcher always, keystore parse, and collection for opening when it is a container. */
export class FileScan {
  private head: Buffer[] = [];
  private headLen = 0;
  private mode: 'head' | 'stream' | Keystore = 'head';
  private scanner?: ContentScanner | undefined;
  private whole: Buffer[] = [];
  private wholeLen = 0;
  private spool?: Spool | undefined;
  private container?: Container;
  /** The file is a compressed file being collected for decoding: its own bytes are searched only if that fails. */
  private rawDeferred = false;
  /** Text files: runs of base64 that hold files of their own (embedded-base64.ts), and what opening them left. */
  private embedded?: EmbeddedBase64 | undefined;
  private readonly embeddedJobs: NestedJob[] = [];

  /** Where this file's hits begin in the context's list: its base64 runs' hits come before its own. */
  private readonly hitsAtStart: number;

  constructor(
    private readonly ctx: ScanContext,
    readonly path: string,
    private readonly depth: number,
  ) {
    this.hitsAtStart = ctx.hits.length;
  }

  write(chunk: Buffer): void {
    if (this.mode === 'head') {
      this.head.push(chunk);
      this.headLen += chunk.length;
      if (this.headLen >= HEAD_BYTES) this.decide();
      return;
    }
    this.route(chunk);
  }

  private decide(): void {
    const head = this.head.length === 1 ? this.head[0]! : Buffer.concat(this.head);
    this.head = [];
    this.mode = keystoreKind(head) ?? 'stream';
    if (this.mode === 'stream') {
      this.scanner = new ContentScanner(this.ctx.matcher);
      const container = sniffContainer(head, posix.basename(this.path));
      if (container) this.startContainer(container);
      else {
        const unopened = unopenedKind(head, posix.basename(this.path));
        if (unopened) this.ctx.notLookedInside.push({ path: this.path, reason: `${unopened}: not opened by org-ca` });
        // Text (no NUL in its first bytes) may carry files as base64; binaries are left to the matcher.
        else if (!head.includes(0)) this.embedded = new EmbeddedBase64((at) => this.openRun(at));
      }
    }
    this.whole = [];
    this.wholeLen = 0;
    this.route(head);
  }

  private startContainer(container: Container): void {
    const { limits, budget } = this.ctx;
    if (this.depth >= limits.maxDepth) {
      this.ctx.notLookedInside.push({
        path: this.path,
        reason: `${container} nested deeper than ${limits.maxDepth} archives (--max-depth)`,
      });
    } else if (budget.exhausted) {
      this.ctx.notLookedInside.push({ path: this.path, reason: `${container} not opened: ${budget.exhausted}` });
    } else {
      this.container = container;
      this.spool = new Spool(this.ctx.temp, MEMORY_SPOOL, (n) => budget.spill(n));
      // A zstd file's skippable frames are skipped by its decoder yet ship: its own bytes are always searched.
      this.rawDeferred = COMPRESSORS.has(container) && container !== 'zstd';
    }
  }

  private route(chunk: Buffer): void {
    if (this.mode === 'stream') {
      if (!this.rawDeferred) this.scanner!.feed(chunk);
      this.spool?.write(chunk);
      this.embedded?.feed(chunk);
      return;
    }
    this.wholeLen += chunk.length;
    if (this.wholeLen > this.ctx.limits.maxKeystoreBytes) {
      throw new Error(
        `keystore '${this.path}' is over the ${this.ctx.limits.maxKeystoreBytes}-byte bound for keystores`,
      );
    }
    this.whole.push(chunk);
  }

  /**
   * A base64 run that holds a file: its decoded bytes are scanned as a file named `<file>!/base64@<offset>`. Past
   * the depth bound, or over the budget, the run is listed as not looked inside.
   */
  private openRun(at: number): RunSink {
    const path = `${this.path}${NESTED}base64@${at}`;
    const ctx = this.ctx;
    if (this.depth >= ctx.limits.maxDepth) {
      ctx.notLookedInside.push({ path, reason: `base64 run nested deeper than ${ctx.limits.maxDepth} (--max-depth)` });
      return { write: () => undefined, end: () => undefined };
    }
    ctx.nestedFiles++;
    let scan: FileScan | undefined = new FileScan(ctx, path, this.depth + 1);
    return {
      write: (bytes) => {
        if (!scan) return;
        try {
          ctx.budget.nested(bytes.length);
          scan.write(bytes);
        } catch (error) {
          scan.abort();
          scan = undefined;
          ctx.notLookedInside.push({ path, reason: `base64 run not looked inside completely: ${message(error)}` });
        }
      },
      end: () => {
        if (scan) this.embeddedJobs.push(...scan.end());
      },
    };
  }

  /** The file is complete. Returns the containers to open: the file itself, if it is one, and what it carries. */
  end(): NestedJob[] {
    if (this.mode === 'head' && this.headLen > 0) this.decide();
    this.embedded?.end();
    this.embedded = undefined;
    const path = this.path;
    let job: NestedJob | undefined;
    if (this.mode === 'stream' && this.scanner) {
      const raw = this.rawDeferred ? [] : this.scanner.end().map((hit) => ({ ...hit, path }));
      if (this.spool?.refused) {
        this.ctx.hits.push(...raw);
        this.ctx.notLookedInside.push({ path, reason: `${this.container} not opened: ${this.ctx.budget.spillSpent}` });
      } else if (this.spool && this.container)
        job = {
          path,
          depth: this.depth,
          kind: this.container,
          spooled: this.spool.finish(),
          rawHits: raw,
          rawDeferred: this.rawDeferred,
        };
      else {
        // The same certificate found in a base64 run of this file is that one, placed more precisely.
        const runs = `${path}${NESTED}base64@`;
        const inRuns = new Set(
          this.ctx.hits
            .slice(this.hitsAtStart)
            .filter((h) => h.path.startsWith(runs))
            .map((h) => h.fingerprint),
        );
        this.ctx.hits.push(...raw.filter((h) => !inRuns.has(h.fingerprint)));
      }
    } else if (this.mode === 'jks' || this.mode === 'pkcs12') {
      this.keystore(this.mode, Buffer.concat(this.whole));
    }
    this.scanner = undefined;
    this.spool = undefined;
    this.whole = [];
    return [...(job ? [job] : []), ...this.embeddedJobs.splice(0)];
  }

  /** Abandons a file cut short (its archive failed): nothing it collected is kept. */
  abort(): void {
    this.spool?.abandon();
    this.spool = undefined;
  }

  private keystore(kind: Keystore, bytes: Buffer): void {
    const { matcher } = this.ctx;
    const path = this.path;
    const found: FileHit[] = [];
    try {
      const entries = kind === 'jks' ? readJks(bytes) : readPkcs12(bytes);
      for (const entry of entries) {
        const c = classifyDer(matcher, entry.der, kind);
        if (c)
          found.push({
            kind: c.kind,
            fingerprint: c.fingerprint,
            ...present({ subject: c.subject }),
            start: 0,
            end: bytes.length,
            path,
          });
      }
    } catch (error) {
      // Fail closed: a store we cannot open could hold the CA (keytool defaults: 'changeit' and empty were tried).
      const why = error instanceof Error ? error.message : String(error);
      this.ctx.unreadable.push({ path, reason: kind === 'jks' ? `Java keystore could not be read: ${why}` : why });
    }
    const fps = new Set(found.map((f) => f.fingerprint));
    for (const hit of scanBuffer(matcher, bytes)) if (!fps.has(hit.fingerprint)) found.push({ ...hit, path });
    this.ctx.hits.push(...found);
  }
}

function message(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}

/** The name of a compressed file's content: `ca.pem.gz` → `ca.pem`, `x.tgz` → `x.tar`. */
export function innerName(path: string): string {
  const base = posix.basename(path.slice(path.lastIndexOf(NESTED) + 1));
  const stripped = base
    .replace(/\.t(gz|bz2?|xz|zst)$/i, '.tar')
    .replace(/\.(gz|gzip|z|zz|bz2|bzip2|xz|zst|zstd|br)$/i, '');
  return stripped && stripped !== base ? stripped : `${base}.decompressed`;
}

/** Member paths of a member archive, with a FileScan per regular member and the containers they turn out to be. */
class Members implements MemberSink {
  readonly queue: NestedJob[] = [];
  private current?: FileScan | undefined;

  constructor(
    private readonly ctx: ScanContext,
    private readonly prefix: string,
    private readonly depth: number,
  ) {}

  entry(name: string, type: 'file' | 'other'): void {
    if (type !== 'file') return;
    this.ctx.nestedFiles++;
    this.current = new FileScan(this.ctx, `${this.prefix}${name}`, this.depth);
  }

  data(chunk: Buffer): void {
    this.current?.write(chunk);
  }

  entryEnd(): void {
    const jobs = this.current?.end() ?? [];
    this.current = undefined;
    this.queue.push(...jobs);
  }

  abort(): void {
    this.current?.abort();
    for (const job of this.queue.splice(0)) discard(job.spooled);
  }

  async drain(): Promise<void> {
    while (this.queue.length) await openNested(this.ctx, this.queue.shift()!);
  }
}

function tarSink(members: Members): ConstructorParameters<typeof TarParser>[0] {
  return {
    entry: (h) => members.entry(h.path, h.type === 'file' ? 'file' : 'other'),
    data: (c) => members.data(c),
    entryEnd: () => members.entryEnd(),
  };
}

/** Pushes a byte stream through a member parser, opening each complete member container before reading on. */
async function feed(
  ctx: ScanContext,
  source: AsyncIterable<Buffer>,
  parser: MemberParser,
  members: Members,
  counted: boolean,
): Promise<void> {
  try {
    for await (const chunk of source) {
      if (!counted) ctx.budget.nested(chunk.length);
      parser.write(chunk);
      if (members.queue.length) await members.drain();
    }
    parser.end();
    await members.drain();
  } catch (error) {
    members.abort();
    throw error;
  }
}

/** Counts decoded bytes against the nested budget as they are produced. */
async function* counting(ctx: ScanContext, source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    ctx.budget.nested(chunk.length);
    yield chunk;
  }
}

function decodeSmallGzip(s: Spooled): Buffer | undefined {
  if (s.kind !== 'memory' || s.bytes.length > SMALL_GZIP) return undefined;
  try {
    return decodeWhole('gzip', s.bytes, SMALL_GZIP_OUTPUT);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return undefined;
    throw error;
  }
}

/** An in-memory file as the async chunks the decompressors read, without a stream's machinery. */
function chunksOf(buf: Buffer): AsyncIterable<Buffer> {
  const chunks = splitChunks(buf);
  return { [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve(chunks.next()) }) };
}

function* splitChunks(buf: Buffer): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += 256 * 1024) yield buf.subarray(i, i + 256 * 1024);
}

/**
 * A compressed file: its content is a tar (then its members are listed right under the compressed file's path,
 * `x.tar.gz!/etc/ca.pem`) or a single file (`ca.pem.gz!/ca.pem`), scanned and opened like any other file.
 */
async function openCompressed(
  ctx: ScanContext,
  job: NestedJob,
  kind: Compressor,
  source: AsyncIterable<Buffer>,
): Promise<void> {
  const decoded = counting(ctx, source);
  const members = new Members(ctx, `${job.path}${NESTED}`, job.depth + 1);
  let parser: MemberParser | undefined;
  let single: FileScan | undefined;
  const head: Buffer[] = [];
  let headLen = 0;
  const decide = (): void => {
    const h = Buffer.concat(head);
    if (isTarHead(h)) parser = new TarParser(tarSink(members));
    else {
      ctx.nestedFiles++;
      single = new FileScan(ctx, `${job.path}${NESTED}${innerName(job.path)}`, job.depth + 1);
    }
  };
  const push = (chunk: Buffer): void => {
    if (parser) parser.write(chunk);
    else single!.write(chunk);
  };
  try {
    for await (const chunk of decoded) {
      if (!parser && !single) {
        head.push(chunk);
        headLen += chunk.length;
        if (headLen < HEAD_BYTES) continue;
        decide();
        push(Buffer.concat(head));
      } else push(chunk);
      if (members.queue.length) await members.drain();
    }
    if (!parser && !single) {
      decide();
      if (headLen) push(Buffer.concat(head));
    }
    if (parser) parser.end();
    else {
      members.queue.push(...single!.end());
    }
    await members.drain();
  } catch (error) {
    single?.abort();
    members.abort();
    throw error;
  }
}

async function openRpm(ctx: ScanContext, job: NestedJob): Promise<void> {
  const offset = await rpmPayloadOffset(job.spooled);
  const payload = readSpooled(job.spooled, offset);
  // The payload compressor is told by the payload's first bytes (the PAYLOADCOMPRESSOR tag is only a claim).
  const it = payload[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) throw new Error('RPM package has no payload');
  async function* all(): AsyncGenerator<Buffer> {
    yield first.value as Buffer;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  }
  const kind = sniffContainer(first.value, '');
  const members = new Members(ctx, `${job.path}${NESTED}`, job.depth + 1);
  if (kind === 'cpio') return feed(ctx, all(), new CpioParser(members), members, false);
  if (kind && COMPRESSORS.has(kind))
    return feed(
      ctx,
      counting(ctx, decompress(kind as Compressor, all(), ctx.limits.zstdWindowLogMax)),
      new CpioParser(members),
      members,
      true,
    );
  throw new Error(`RPM payload is neither cpio nor a known compression of it`);
}

/** Each object of a git pack, deltas applied, scanned as a file named by its object id (`pack-….pack!/<oid>`). */
async function openGitPack(ctx: ScanContext, job: NestedJob): Promise<void> {
  const size = spooledSize(job.spooled);
  if (size > MAX_GIT_PACK_BYTES)
    throw new Error(`it is ${size} bytes, over the ${MAX_GIT_PACK_BYTES}-byte bound for git packs read whole`);
  const bytes = job.spooled.kind === 'memory' ? job.spooled.bytes : readFileSync(job.spooled.file);
  let kept = 0;
  const charge = (n: number): void => {
    kept += n;
    if (kept > MAX_GIT_OBJECT_BYTES)
      throw new Error(`its objects are over the ${MAX_GIT_OBJECT_BYTES}-byte bound held while deltas are resolved`);
    ctx.budget.nested(n);
  };
  const pack = readGitPack(bytes, charge);
  for (const object of pack.objects) {
    ctx.nestedFiles++;
    const scan = new FileScan(ctx, `${job.path}${NESTED}${object.oid}`, job.depth + 1);
    if (object.data.length) scan.write(object.data);
    for (const inner of scan.end()) await openNested(ctx, inner);
  }
  if (pack.missingBases.length)
    ctx.notLookedInside.push({
      path: job.path,
      reason: `git pack has ${pack.missingBases.length} deltas whose base is not in it (a thin pack): their objects could not be rebuilt`,
    });
}

/** Searches a container's own bytes, as any file's are searched. */
async function scanRaw(ctx: ScanContext, job: NestedJob): Promise<FileHit[]> {
  const scanner = new ContentScanner(ctx.matcher);
  for await (const chunk of readSpooled(job.spooled)) scanner.feed(chunk);
  return scanner.end().map((hit) => ({ ...hit, path: job.path }));
}

/** Opens one container; whatever goes wrong is recorded as "not looked inside" for its path, never thrown. */
export async function openNested(ctx: ScanContext, job: NestedJob): Promise<void> {
  const hitsBefore = ctx.hits.length;
  let rawHits = job.rawHits;
  try {
    const members = new Members(ctx, `${job.path}${NESTED}`, job.depth + 1);
    switch (job.kind) {
      case 'zip':
        await walkZip(job.spooled, async (m) => {
          if (m.directory) return;
          const path = `${job.path}${NESTED}${m.name}`;
          if (m.unreadable) {
            ctx.notLookedInside.push({ path, reason: m.unreadable });
            return;
          }
          ctx.nestedFiles++;
          const scan = new FileScan(ctx, path, job.depth + 1);
          try {
            const body = await m.open();
            if (Buffer.isBuffer(body)) {
              ctx.budget.nested(body.length);
              if (body.length) scan.write(body);
            } else {
              for await (const chunk of body) {
                ctx.budget.nested((chunk as Buffer).length);
                scan.write(chunk as Buffer);
              }
            }
          } catch (error) {
            scan.abort();
            if (error instanceof NestedLimitError) throw error;
            ctx.notLookedInside.push({ path, reason: `zip entry could not be read: ${message(error)}` });
            return;
          }
          for (const inner of scan.end()) await openNested(ctx, inner);
        });
        break;
      case 'tar':
        await feed(ctx, readSpooled(job.spooled), new TarParser(tarSink(members)), members, false);
        break;
      case 'ar':
        await feed(ctx, readSpooled(job.spooled), new ArParser(members), members, false);
        break;
      case 'cpio':
        await feed(ctx, readSpooled(job.spooled), new CpioParser(members), members, false);
        break;
      case 'rpm':
        await openRpm(ctx, job);
        break;
      case 'git-pack':
        await openGitPack(ctx, job);
        break;
      default: {
        const kind = job.kind;
        const small = kind === 'gzip' ? decodeSmallGzip(job.spooled) : undefined;
        if (small && !isTarHead(small.subarray(0, HEAD_BYTES))) {
          // A small compressed single file (a man page, a .pem.gz): scanned in one synchronous pass, no stream.
          ctx.budget.nested(small.length);
          ctx.nestedFiles++;
          const single = new FileScan(ctx, `${job.path}${NESTED}${innerName(job.path)}`, job.depth + 1);
          if (small.length) single.write(small);
          for (const inner of single.end()) await openNested(ctx, inner);
          break;
        }
        await openCompressed(
          ctx,
          job,
          kind,
          small ? chunksOf(small) : decompress(kind, readSpooled(job.spooled), ctx.limits.zstdWindowLogMax),
        );
      }
    }
  } catch (error) {
    // Not decoded (completely): its own bytes are searched after all, as a file that is no container would be.
    if (job.rawDeferred) rawHits = await scanRaw(ctx, job).catch(() => []);
    // Over the budget deep inside: the outermost container is the one reported, once.
    if (error instanceof NestedLimitError && job.depth > 0) throw error;
    const what = COMPRESSORS.has(job.kind) ? `${job.kind}-compressed file` : `${job.kind} archive`;
    ctx.notLookedInside.push({
      path: job.path,
      reason:
        error instanceof NestedLimitError
          ? `not looked inside completely: ${error.message}`
          : `${what} could not be opened: ${message(error)}`,
    });
  } finally {
    discard(job.spooled);
    // A match inside a member names the member; the same certificate seen in the container's raw bytes is that one.
    const inside = new Set(ctx.hits.slice(hitsBefore).map((h) => h.fingerprint));
    ctx.hits.push(...rawHits.filter((h) => !inside.has(h.fingerprint)));
  }
}
