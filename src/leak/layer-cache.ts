/**
 * The layer-verdict cache (--cache-dir): what scanning one layer found, keyed by its content digest and by everything
 * that changes the answer (the certificates searched for, the scanner's version, the per-layer limits), so that a
 * layer already judged is not read again. Findings, "not looked inside" and unreadable keystores are kept with clean
 * verdicts, so a cached run reports what an uncached one does. Not kept: a layer that could not be read (the cause
 * may pass), and a result that depended on the check-wide budgets (another image would have spent them otherwise).
 *
 * Entries are JSON (never a deserialiser that builds arbitrary objects), written atomically (a temporary file, then
 * rename), carry their own key and a SHA-256 of their body: a corrupt, truncated or foreign entry is ignored and
 * the layer rescanned, never trusted. A cache a pull request could write is not a release check's to read
 * (docs/leak-check.md#layer-cache).
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHECK_WIDE_BOUNDS } from './scanning/nested/budget.js';
import { VERSION } from '../runtime/version.js';
import { digestAlgorithm } from './digest.js';
import {
  DEFAULT_LIMITS,
  searchedFingerprints,
  type LayerIndex,
  type LayerJob,
  type LayerResult,
  type ScanLimits,
  type TargetSpec,
} from './types.js';

/** Bumped when an entry's meaning changes: old entries are then simply not found (2: captured files as pointers). */
const FORMAT = 2;
/** An entry bigger than this is not read (a million-file layer's index is a few tens of MB). */
const MAX_ENTRY_BYTES = 256 * 1024 * 1024;

export class LayerCache implements LayerVerdicts {
  private readonly dir: string;
  private readonly context: string;
  hits = 0;

  /** `dir` must exist (the caller makes it, guarded). */
  constructor(dir: string, spec: TargetSpec, limits: ScanLimits) {
    this.dir = join(dir, `layers-v${FORMAT}`);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const fingerprints = searchedFingerprints(spec).sort();
    this.context = JSON.stringify({ format: FORMAT, scanner: VERSION, fingerprints, limits: perLayerLimits(limits) });
  }

  /** The key of a layer by its verified content digest; none for a blob whose digest is not known or verifiable. */
  key(job: LayerJob): string | undefined {
    if (!job.digest || !digestAlgorithm(job.digest)) return undefined;
    return createHash('sha256').update(this.context).update('\0').update(job.digest).digest('hex');
  }

  get(job: LayerJob): LayerResult | undefined {
    const key = this.key(job);
    if (!key) return undefined;
    let text: string;
    try {
      const bytes = readFileSync(join(this.dir, `${key}.json`));
      if (bytes.length > MAX_ENTRY_BYTES) return undefined;
      text = bytes.toString('utf8');
    } catch {
      return undefined;
    }
    const result = decodeEntry(text, key, job.digest!);
    if (!result) return undefined;
    this.hits++;
    return { ...result, id: job.id };
  }

  put(job: LayerJob, result: LayerResult): void {
    const key = this.key(job);
    if (!key || !cacheable(result, job)) return;
    const body = JSON.stringify({ key, digest: job.digest, result: encodeResult(result) });
    const entry = JSON.stringify({ sha256: createHash('sha256').update(body).digest('hex'), body }) + '\n';
    const file = join(this.dir, `${key}.json`);
    const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      writeFileSync(temp, entry, { mode: 0o600, flag: 'wx' });
      renameSync(temp, file);
    } catch {
      // A cache that cannot be written costs a rescan next time, never the check.
      rmSync(temp, { force: true });
    }
  }
}

/** Read to its end, verified, and shaped by nothing but the check's own limits. */
function cacheable(result: LayerResult, job: LayerJob): boolean {
  if (result.error !== undefined || result.digest !== job.digest) return false;
  const said = JSON.stringify([result.notLookedInside, result.unreadable]);
  return !CHECK_WIDE_BOUNDS.some((flag) => said.includes(flag));
}

/** Limits the check-wide bounds shape nothing that is kept (see cacheable), so they are not part of the key. */
const CHECK_WIDE_LIMITS: readonly (keyof ScanLimits)[] = ['maxImageBytes', 'maxNestedImageBytes', 'maxSpillBytes'];

/**
 * The limits that change what one layer's scan finds, by name and in one order: nothing else a caller's limits carry
 * (a check's own flags, say) may make the same layer miss the cache.
 */
function perLayerLimits(limits: ScanLimits): Record<string, number> {
  return Object.fromEntries(
    (Object.keys(DEFAULT_LIMITS) as (keyof ScanLimits)[])
      .filter((k) => !CHECK_WIDE_LIMITS.includes(k))
      .sort()
      .map((k) => [k, limits[k]]),
  );
}

/** A layer result as JSON-ready data: the index's hash arrays as base64. */
export function encodeResult(r: LayerResult): unknown {
  const { id: _id, index, ...rest } = r;
  return {
    ...rest,
    index: {
      ...index,
      dirs: Buffer.from(index.dirs.buffer, index.dirs.byteOffset, index.dirs.byteLength).toString('base64'),
      nondirs: Buffer.from(index.nondirs.buffer, index.nondirs.byteOffset, index.nondirs.byteLength).toString('base64'),
    },
  };
}

function hashes(value: unknown): BigUint64Array<ArrayBuffer> | undefined {
  if (typeof value !== 'string') return undefined;
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length % 8 !== 0) return undefined;
  const out = new BigUint64Array(bytes.length / 8);
  Buffer.from(out.buffer).set(bytes);
  return out;
}

const isArray = (v: unknown): v is unknown[] => Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === 'string';
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** The entry's result when it is whole, its own and well-formed; otherwise undefined (the layer is rescanned). */
function decodeEntry(text: string, key: string, digest: string): Omit<LayerResult, 'id'> | undefined {
  try {
    const outer = JSON.parse(text) as { sha256?: unknown; body?: unknown };
    if (!isString(outer.body) || !isString(outer.sha256)) return undefined;
    if (createHash('sha256').update(outer.body).digest('hex') !== outer.sha256) return undefined;
    const entry = JSON.parse(outer.body) as { key?: unknown; digest?: unknown; result?: unknown };
    if (entry.key !== key || entry.digest !== digest) return undefined;
    const result = decodeResult(entry.result);
    return result?.digest === digest ? result : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A layer result as encodeResult wrote it, when every field a report reads has its type (the index hashes whole);
 * otherwise undefined. Used for cache entries and shard reports alike.
 */
export function decodeResult(value: unknown): Omit<LayerResult, 'id'> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const index = r.index as Record<string, unknown> | undefined;
  const dirs = hashes(index?.dirs);
  const nondirs = hashes(index?.nondirs);
  const lists = [r.hits, r.unreadable, r.notLookedInside, r.captured, r.blobHits];
  const indexLists = [index?.whiteouts, index?.opaques, index?.symlinks, index?.hardlinks, index?.others];
  if (!dirs || !nondirs || !lists.every(isArray) || !indexLists.every(isArray)) return undefined;
  if (!isString(r.digest) || !isString(r.diffId) || !isString(r.compression)) return undefined;
  if (r.error !== undefined && !isString(r.error)) return undefined;
  if (![r.bytes, r.files, r.nestedFiles].every(isCount)) return undefined;
  return {
    ...(r as unknown as Omit<LayerResult, 'id' | 'index'>),
    index: { ...(index as unknown as LayerIndex), dirs, nondirs },
  };
}

/** What a check asks of a store of layer verdicts: the disk cache, or one run's memory of the layers it read. */
export interface LayerVerdicts {
  get(job: LayerJob): LayerResult | undefined;
  put(job: LayerJob, result: LayerResult): void;
}

/**
 * One run over several images: a layer they share is read once (and the disk cache, when there is one, is asked
 * first and told after). Keyed by the verified digest, as the disk cache is; the same kept and not kept.
 */
export class RunVerdicts implements LayerVerdicts {
  private readonly memo = new Map<string, LayerResult>();
  /** Layers the disk cache judged (not those this run had read already). */
  fromDisk = 0;

  constructor(private readonly disk?: LayerVerdicts) {}

  get(job: LayerJob): LayerResult | undefined {
    if (!job.digest || !digestAlgorithm(job.digest)) return undefined;
    let seen = this.memo.get(job.digest);
    if (!seen && (seen = this.disk?.get(job))) this.fromDisk++;
    if (!seen) return undefined;
    this.memo.set(job.digest, seen);
    return { ...seen, id: job.id };
  }

  put(job: LayerJob, result: LayerResult): void {
    if (job.digest && digestAlgorithm(job.digest) && cacheable(result, job)) this.memo.set(job.digest, result);
    this.disk?.put(job, result);
  }
}
