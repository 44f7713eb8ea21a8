/**
 * A run over many images split over CI jobs (`leak-check --shard I/N`), and the join of the shards' reports
 * (`org-ca report merge`). Every shard lists the same images and plans every one of them (manifests and configs are
 * small); it reads only the layers in its share, and the config, manifests and attestations of the images it owns.
 * Its report carries what the merge needs to compose each image's report as a single run would: the layers' results
 * (with the indexes that say what a later layer hides) and the owned images' parts.
 *
 * The merge fails closed: a shard missing, twice, of another run (other images, a tag that moved between the
 * shards' listings, another CA, other limits or another org-ca), damaged, or holding layers outside its share is
 * refused in one line; nothing is ever judged clean for want of a shard.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { listInput, type InputPart, type ListedInput } from '../check.js';
import {
  expandImages,
  imageReport,
  LISTING_CONCURRENCY,
  readImages,
  runVerdicts,
  sweepOf,
  withRunMemo,
  type SweepOptions,
} from '../sweep.js';
import { inTurns } from '../../lang/in-turns.js';
import { decodeResult, encodeResult } from '../layer-cache.js';
import { failureReport, safeMessage, verdictOf } from '../reporting/report.js';
import {
  DEFAULT_LIMITS,
  searchedFingerprints,
  type LayerResult,
  type Report,
  type SweepReport,
  type Verdict,
} from '../types.js';
import { VERSION } from '../../runtime/version.js';
import { assignLayers, ownerOf, type Shard, type SizedLayer } from './shares.js';

const KIND = 'org-ca/leak-check-shard';
/** Bumped when the report's meaning changes: a merge of another format is refused, never guessed at. */
const FORMAT = 1;
/** A shard report is read whole; one this big is not a shard report of any fleet that exists. */
const MAX_SHARD_REPORT_BYTES = 1024 ** 3;

/** What every shard of one run must agree on; its hash is the run's id. */
export interface ShardRun {
  readonly scanner: string;
  readonly fingerprints: readonly string[];
  readonly limits: Readonly<Record<string, number>>;
  readonly strict: boolean;
  readonly shards: number;
  readonly inputs: readonly string[];
  /** Each image listed, and what the shard saw of it: its manifest digests, `unreadable`, or `rootfs`. */
  readonly images: readonly { readonly image: string; readonly seen: Seen }[];
  /** Every distinct layer of the images, by key, with its size: the shares are computed from this. */
  readonly layers: readonly SizedLayer[];
}

/** An image the shard owns: its part (layers' results are in the shards that own them), or its finished report. */
export type OwnedImage =
  { readonly image: string; readonly part: InputPart } | { readonly image: string; readonly report: Report };

export interface ShardReport {
  readonly kind: typeof KIND;
  readonly format: typeof FORMAT;
  readonly runId: string;
  readonly shard: Shard;
  /** What this shard's own share found: a leak or an unreadable part already fails the run. */
  readonly verdict: Verdict;
  readonly run: ShardRun;
  readonly owned: readonly OwnedImage[];
  /** The results of the layers in this shard's share, by key (encoded as the layer cache encodes them). */
  readonly layers: readonly { readonly key: string; readonly result: unknown }[];
  readonly stats: { readonly layersRead: number; readonly cachedLayers: number; readonly ms: number };
}

export class MergeError extends Error {
  override readonly name = 'MergeError';
}

function runIdOf(run: ShardRun): string {
  return createHash('sha256').update(JSON.stringify(run)).digest('hex');
}

/** What a shard saw of an image when it listed it: its manifest digests, or why it has none. */
type Seen = readonly string[] | 'unreadable' | 'rootfs';

/**
 * Reads this shard's share of a run over the images (see the module comment). First every image is listed (its
 * manifests fetched, its layers named and sized) so that every shard computes the same shares; then each is opened
 * again and the shard's share read. An image that changed in between is reported unreadable, never half-read.
 */
export async function checkShard(
  images: readonly string[],
  options: SweepOptions,
  strict: boolean,
  shard: Shard,
): Promise<ShardReport> {
  const started = Date.now();
  options = withRunMemo(options);
  const verdicts = await runVerdicts(options);
  const expanded = await expandImages(images, options);
  // Listings are kept for the reading while their metadata stays small; past that they are listed again then.
  const kept = new Map<number, ListedInput>();
  let held = 0;
  const listings = await inTurns(expanded, LISTING_CONCURRENCY, async (image, position) => {
    try {
      const listed = await listInput({ ...options, image });
      if (held + listed.heldBytes <= MAX_KEPT_LISTING_BYTES) {
        held += listed.heldBytes;
        kept.set(position, listed);
      } else listed.close();
      return { seen: subjectsOf(listed) ?? ('rootfs' as const), layers: listed.layers };
    } catch {
      return { seen: 'unreadable' as const, layers: [] };
    }
  });
  const seen: { image: string; seen: Seen }[] = expanded.map((image, i) => ({ image, seen: listings[i]!.seen }));
  const sized = listings.flatMap((l) => l.layers);
  const layerShards = assignLayers(sized, shard.total);
  const owns = (position: number): boolean => ownerOf(position, shard.total) === shard.index;
  const owned: OwnedImage[] = [];
  const layers = new Map<string, LayerResult>();
  let layersRead: number;
  try {
    ({ layersRead } = await readImages(
      expanded,
      options,
      verdicts,
      (read, results) => {
        const { image, position } = read;
        const listed = seen[position]!.seen;
        if ('report' in read) {
          // Unreadable now though listed before: every shard says so, and a merge of shards that differ is refused.
          if (read.report.error !== undefined) seen[position] = { image, seen: 'unreadable' };
          if (owns(position)) owned.push({ image, report: read.report });
          return;
        }
        if (JSON.stringify(read.subjects.map((s) => s.digest)) !== JSON.stringify(listed)) {
          seen[position] = { image, seen: 'unreadable' };
          if (owns(position)) owned.push({ image, report: failureReport(image, MOVED) });
          return;
        }
        for (const [key, result] of results) layers.set(key, result);
        if (read.part) owned.push({ image, part: read.part });
      },
      { ownsImage: owns, ownsLayer: (key) => layerShards.get(key) === shard.index },
      kept,
    ));
  } finally {
    for (const listed of kept.values()) listed.close();
  }
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const distinct = [...new Map(sized.map((l) => [l.key, l.size])).entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  const run: ShardRun = {
    scanner: VERSION,
    fingerprints: searchedFingerprints(options.spec).sort(),
    limits: Object.fromEntries(Object.entries(limits).sort(([a], [b]) => a.localeCompare(b))),
    strict,
    shards: shard.total,
    inputs: images,
    images: seen,
    layers: distinct.map(([key, size]) => ({ key, size })),
  };
  return {
    kind: KIND,
    format: FORMAT,
    runId: runIdOf(run),
    shard,
    verdict: shardVerdict(owned, layers.values(), strict),
    run,
    owned,
    layers: [...layers].map(([key, result]) => ({ key, result: encodeResult(result) })),
    stats: { layersRead, cachedLayers: verdicts.fromDisk, ms: Date.now() - started },
  };
}

/** Metadata of listed images kept in memory between a shard's listing and its reading. */
const MAX_KEPT_LISTING_BYTES = 64 * 1024 * 1024;

const MOVED = 'the image changed while the run read it (a tag was pushed again): run the shards again';

function subjectsOf(listed: ListedInput): string[] | undefined {
  return listed.input.kind === 'image' ? listed.input.plan.subjects.map((s) => s.digest) : undefined;
}

/**
 * What a shard can already say from its share: a hit in a layer is a finding in every image that holds it (visible or
 * hidden by a later layer, it ships), so the run leaks whatever the other shards find.
 */
function shardVerdict(owned: readonly OwnedImage[], layers: Iterable<LayerResult>, strict: boolean): Verdict {
  let verdict: Verdict = 'clean';
  const worse = (v: Verdict): void => {
    if (v === 'leak' || (v === 'unreadable' && verdict === 'clean')) verdict = v;
  };
  for (const r of layers) {
    if (r.hits.length || r.blobHits.length) worse('leak');
    else if (r.error !== undefined || r.unreadable.length || (strict && r.notLookedInside.length)) worse('unreadable');
  }
  for (const o of owned) {
    if ('report' in o) worse(verdictOf(o.report, strict));
    else if (o.part.findings.length) worse('leak');
    else if (o.part.gaps.unscanned.length) worse('unreadable');
  }
  return verdict;
}

/** What a shard says on its terminal: its share, what it found there, and what comes next. */
export function renderShardText(report: ShardReport): string {
  const { index, total } = report.shard;
  const images = report.run.images.length;
  const word = {
    clean: 'nothing found',
    leak: 'LEAK: the CA is in this share',
    unreadable: 'NOT SCANNED: a part of this share could not be read',
  };
  return [
    `org-ca leak-check: shard ${index}/${total} of a run over ${images} image(s) (run ${report.runId.slice(0, 12)})`,
    `  ${report.layers.length} layer(s) in this share (${report.stats.cachedLayers} judged from the cache), the own parts of ${report.owned.length} image(s), in ${(report.stats.ms / 1000).toFixed(1)} s`,
    `  ${word[report.verdict]}`,
    `The run's verdict per image: org-ca report merge with the reports of all ${total} shards.`,
  ].join('\n');
}

/** The report as written to a file: its own SHA-256 first, so that a damaged or cut file is told from a real one. */
export function serializeShardReport(report: ShardReport): string {
  const body = JSON.stringify(report);
  return JSON.stringify({ sha256: createHash('sha256').update(body).digest('hex'), report }) + '\n';
}

/** A shard report from a file, or a one-line MergeError naming the file and what is wrong with it. */
export function readShardReport(file: string): ShardReport {
  let text: string;
  try {
    if (statSync(file).size > MAX_SHARD_REPORT_BYTES)
      throw new MergeError(`${file} is over ${MAX_SHARD_REPORT_BYTES / 1024 ** 3} GiB: not a shard report`);
    text = readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof MergeError) throw error;
    throw new MergeError(`${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let outer: { sha256?: unknown; report?: Partial<ShardReport> };
  try {
    outer = JSON.parse(text) as typeof outer;
  } catch {
    throw new MergeError(`${file} is not JSON: give the files leak-check --shard wrote with --report`);
  }
  const report = outer?.report;
  if (typeof outer !== 'object' || outer === null || report?.kind !== KIND)
    throw new MergeError(`${file} is not a shard report (written by leak-check --shard I/N --report FILE)`);
  if (report.format !== FORMAT)
    throw new MergeError(`${file} is a shard report of format ${String(report.format)}; this org-ca reads ${FORMAT}`);
  if (createHash('sha256').update(JSON.stringify(report)).digest('hex') !== outer.sha256)
    throw new MergeError(`${file} is damaged: its content does not match its checksum`);
  return report as ShardReport;
}

/** The first thing two shards' runs differ in, for the message. */
function difference(a: ShardRun, b: ShardRun): string {
  if (a.scanner !== b.scanner) return `org-ca ${a.scanner} against ${b.scanner}`;
  if (a.shards !== b.shards) return `${a.shards} shards against ${b.shards}`;
  if (JSON.stringify(a.fingerprints) !== JSON.stringify(b.fingerprints)) return 'another CA';
  if (JSON.stringify(a.limits) !== JSON.stringify(b.limits) || a.strict !== b.strict) return 'other limits';
  if (JSON.stringify(a.inputs) !== JSON.stringify(b.inputs)) return 'other images named';
  const listed = (r: ShardRun): string => JSON.stringify(r.images.map((i) => i.image));
  if (listed(a) !== listed(b)) return 'another list of tags (a tag was pushed or deleted between the shards)';
  const moved = a.images.find((x, i) => JSON.stringify(x.seen) !== JSON.stringify(b.images[i]!.seen));
  return moved
    ? `${moved.image} seen as ${JSON.stringify(moved.seen)} against ${JSON.stringify(b.images.find((x) => x.image === moved.image)!.seen)} (it moved, or one shard could not read it)`
    : 'another run';
}

/**
 * The shards' reports joined into the report of one run: the same verdicts, findings and per-layer table a single
 * `leak-check` over the images gives (but the time, which is the slowest shard's).
 */
export function mergeShards(files: readonly { readonly file: string; readonly report: ShardReport }[]): {
  readonly sweep: SweepReport;
  /** The run's --strict, which its verdicts were given under. */
  readonly strict: boolean;
} {
  if (files.length === 0) throw new MergeError('report merge: expected the shard reports (A.json B.json …)');
  const first = files[0]!;
  const { run } = first.report;
  if (VERSION !== run.scanner)
    throw new MergeError(
      `${first.file} was written by org-ca ${run.scanner}; merge it with that version, not ${VERSION}`,
    );
  const byShard = new Map<number, string>();
  for (const { file, report } of files) {
    if (report.runId !== first.report.runId || runIdOf(report.run) !== report.runId)
      throw new MergeError(
        `${file} is of another run than ${first.file} (${difference(run, report.run)}): run every shard again`,
      );
    const { index, total } = report.shard;
    if (!(Number.isInteger(index) && index >= 1 && index <= total && total === run.shards))
      throw new MergeError(`${file} names shard ${index}/${total} of a run of ${run.shards}`);
    const twice = byShard.get(index);
    if (twice) throw new MergeError(`${twice} and ${file} are both shard ${index}/${total}`);
    byShard.set(index, file);
  }
  const missing = Array.from({ length: run.shards }, (_, i) => i + 1).filter((i) => !byShard.has(i));
  if (missing.length)
    throw new MergeError(
      `shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${run.shards}`).join(', ')} missing: a run is judged only with all ${run.shards}`,
    );

  const layerShards = assignLayers(run.layers, run.shards);
  const owner = new Map(run.images.map(({ image }, position) => [image, ownerOf(position, run.shards)]));
  const results = new Map<string, LayerResult>();
  const owners = new Map<string, OwnedImage & { readonly file: string }>();
  for (const { file, report } of files) {
    for (const { key, result } of report.layers) {
      const decoded = typeof key === 'string' ? decodeResult(result) : undefined;
      if (!decoded) throw new MergeError(`${file}: the result of layer ${String(key)} is malformed`);
      if (layerShards.get(key) !== report.shard.index)
        throw new MergeError(`${file} holds layer ${key}, which is not in shard ${report.shard.index}'s share`);
      results.set(key, { ...decoded, id: key });
    }
    for (const o of report.owned) {
      if (owner.get(o.image) !== report.shard.index || owners.has(o.image))
        throw new MergeError(`${file} holds ${o.image}, which shard ${report.shard.index} does not own`);
      owners.set(o.image, { ...o, file });
    }
  }

  const reports: Report[] = [];
  const judged = new Set<string>();
  for (const { image } of run.images) {
    const o = owners.get(image);
    if (!o) throw new MergeError(`no shard report holds ${image}, though every shard listed it`);
    if ('report' in o) {
      reports.push(o.report);
      continue;
    }
    // As a single run counts them: a layer an earlier image already had is judged from the run's memory, not read.
    const cachedLayers = o.part.layers.filter((l) => judged.has(l.key)).length;
    const missing = o.part.layers.find((l) => !results.has(l.key));
    if (missing) throw new MergeError(`no shard report holds layer ${missing.key} of ${image}`);
    try {
      reports.push(imageReport(image, o.part, results, cachedLayers));
    } catch (error) {
      throw new MergeError(`${o.file}: the part of ${image} is malformed (${safeMessage(error)})`);
    }
    for (const l of o.part.layers) judged.add(l.key);
  }
  const layersRead = files.reduce((n, f) => n + f.report.stats.layersRead, 0);
  const ms = Math.max(...files.map((f) => f.report.stats.ms));
  return { sweep: sweepOf(run.inputs, reports, run.strict, { layersRead, ms }), strict: run.strict };
}
