import { statSync } from 'node:fs';
import { ensureDirectory } from '../fs/ensure-directory.js';
import { LayerCache, RunVerdicts, type LayerVerdicts } from './layer-cache.js';
import { present } from '../lang/present.js';
import { newTotals } from './scanning/nested/budget.js';
import { buildMatcher, type Matcher } from './scanning/matcher.js';
import { runLayerJobs } from './scanning/pool.js';
import { scanDirectory } from './scanning/rootfs.js';
import { scanContent } from './scanning/text.js';
import type { Source } from './sources/archive.js';
import { openBlob } from './sources/blob.js';
import { digestOfMember, type Plan, type PlannedImage } from './sources/image.js';
import { ImageInputError } from './sources/input.js';
import { layerJobsOf } from './sources/members.js';
import { openCheckInput, type CheckInput } from './sources/open.js';
import {
  isRepositoryReference,
  listRepositoryTags,
  pemOf,
  RegistryError,
  type RegistrySourceOptions,
} from './sources/registry/index.js';
import { emptyReport, failureReport, safeMessage, verdictOf } from './reporting/report.js';
import { digestAlgorithm } from './digest.js';
import {
  configFindings,
  contentFindings,
  dedupeFindings,
  dedupeNotLookedInside,
  imageFindings,
  registryLayerFailure,
  rootfsFindings,
  strayBlobFindings,
  type Gaps,
} from './findings.js';
import {
  DEFAULT_LIMITS,
  type Finding,
  type LayerJob,
  type LayerResult,
  type Report,
  type ScanLimits,
  type TargetSpec,
  type Verdict,
  type SweepReport,
  type Subject,
} from './types.js';

/**
 * The leak check composes its three rooms: a source opens the input and plans its images (sources/), the layers and
 * members are scanned (scanning/), and what was found becomes findings (findings.ts) for the reports (reporting/).
 */
export interface CheckOptions {
  /** A path (archive, OCI layout, rootfs directory), optionally with a transport prefix, or a daemon image reference. */
  readonly image: string;
  readonly spec: TargetSpec;
  /** Bounds on work: layer sizes, nesting depth, expansion budgets (DEFAULT_LIMITS for what is not given). */
  readonly limits?: Partial<ScanLimits>;
  readonly parallel?: number;
  /** Writes `docker save` of a reference to a file; the shell passes one backed by @actions/exec. */
  readonly dockerSave?: (reference: string, file: string) => Promise<void>;
  /** For `registry:` / `docker://` references: credentials, platform, environment (see src/leak/registry/). */
  readonly registry?: RegistrySourceOptions;
  /** A layer-verdict cache (layer-cache.ts): layers judged before under the same CA and limits are not read again. */
  readonly cacheDir?: string;
  /** Several images in one run (checkImages): the layers they share, read once. */
  readonly layerVerdicts?: LayerVerdicts;
}

export { ImageInputError };

/** The limits of one check, and whether the user set the spill bound (else it is sized to the image). */
type CheckLimits = ScanLimits & { readonly spillGiven: boolean };

/**
 * The default spill bound (SPILL_BOUND): four times the input's bytes, never below the floor. An archive is written to
 * TMPDIR at most once per level it sits at, so a real image needs far less; a bomb of archives in archives stops there.
 */
export function spillBoundFor(jobs: readonly LayerJob[], floor: number): number {
  return Math.max(floor, 4 * jobs.reduce((total, job) => total + job.blob.size, 0));
}

export async function checkImage(options: CheckOptions): Promise<Report> {
  const started = Date.now();
  const checked = await checkInput(options, WHOLE_INPUT);
  if ('report' in checked) return checked.report;
  const { part, results, cachedLayers } = checked;
  const composed = composeReport(part!, (layer) => results.get(layer.key), cachedLayers);
  return { ...composed, stats: { ...composed.stats, ms: Date.now() - started } };
}

/** Which part of an input a run reads: all of it, or one shard's share (fanout/). */
export interface InputShare {
  /** The input's own parts (config, manifests, attestations, a root file system) are read here. */
  readonly ownsInput: boolean;
  /** The layer with this key (layerKey) is read here. */
  ownsLayer(key: string): boolean;
}

const WHOLE_INPUT: InputShare = { ownsInput: true, ownsLayer: () => true };

/**
 * A layer's name across inputs and shards: its digest when that is verifiable (the same layer in two images is one),
 * else the input and member that hold it.
 */
export function layerKey(input: string, job: LayerJob): string {
  return job.digest && digestAlgorithm(job.digest) ? job.digest : `${input}!${job.id}`;
}

/** A layer of a planned input, as composing its report needs it: plain data, so a shard report can carry it. */
export interface PartLayer {
  readonly id: string;
  readonly key: string;
  /** A registry blob: one that cannot be read to its end fails the input (registryLayerFailure). */
  readonly registry?: { readonly digest: string; readonly label: string };
}

/**
 * Everything an image input's report needs except what its layers' scans found: the plan, and what its config,
 * manifests and attestations hold. Plain data, so a shard can hand it to `report merge`.
 */
export interface InputPart {
  readonly input: string;
  readonly subjects: readonly Subject[];
  readonly images: readonly PlannedImage[];
  readonly layers: readonly PartLayer[];
  readonly findings: readonly Finding[];
  readonly gaps: Gaps;
}

/** What reading one input (or a share of it) gave: a finished report, or the part and its layers' results by key. */
export type InputRead =
  | { readonly report: Report; readonly subjects?: undefined }
  | {
      readonly subjects: readonly Subject[];
      /** Only when the share owns the input. */
      readonly part?: InputPart;
      readonly results: ReadonlyMap<string, LayerResult>;
      /** Layers judged from the cache, not read. */
      readonly cachedLayers?: number;
    };

/**
 * An input opened and its layers listed: enough for a run to decide which shard reads what before anything is read.
 * `close` removes what opening wrote.
 */
export interface ListedInput {
  readonly image: string;
  readonly input: CheckInput;
  readonly jobs: readonly LayerJob[];
  readonly contentMembers: readonly string[];
  /** Each layer by key (layerKey) with its stored size: a run's shares are balanced by bytes. */
  readonly layers: readonly { readonly key: string; readonly size: number }[];
  close(): void;
}

export async function listInput(options: CheckOptions): Promise<ListedInput> {
  const opened = await openCheckInput(options.image, {
    extraCa: pemOf(options.spec.certs),
    ...present({ dockerSave: options.dockerSave, registry: options.registry }),
  });
  const { input } = opened;
  const { jobs, contentMembers } =
    input.kind === 'image' ? layerJobsOf(input.source, input.plan) : { jobs: [], contentMembers: [] };
  const layers = jobs.map((job) => ({ key: layerKey(options.image, job), size: job.blob.size }));
  return { image: options.image, input, jobs, contentMembers, layers, close: () => opened.close() };
}

/** Opens an input and reads the share of it a run owns (readInput). */
export async function checkInput(options: CheckOptions, share: InputShare): Promise<InputRead> {
  const listed = await listInput(options);
  try {
    return await readInput(listed, options, share);
  } finally {
    listed.close();
  }
}

/**
 * Reads the share of an opened input a run owns. A root file system is read whole by its owner (it has no layers to
 * share); an image gives its part (owner only) and the results of the owned layers.
 */
export async function readInput(listed: ListedInput, options: CheckOptions, share: InputShare): Promise<InputRead> {
  const started = Date.now();
  const limits: CheckLimits = {
    ...DEFAULT_LIMITS,
    ...options.limits,
    spillGiven: options.limits?.maxSpillBytes !== undefined,
  };
  const { input } = listed;
  if (input.kind === 'image') return await readImageInput(listed, input.source, input.plan, options, limits, share);
  if (!share.ownsInput) return { report: emptyReport(options.image) };
  const where = input.kind === 'rootfs-dir' ? input.dir : input.file;
  const result =
    input.kind === 'rootfs-dir'
      ? await scanDirectory('rootfs', input.dir, buildMatcher(options.spec), limits)
      : (
          await runLayerJobs(
            [{ id: input.file, blob: { file: input.file, start: 0, size: statSync(input.file).size }, where }],
            options.spec,
            limits,
            openBlob,
            options.parallel,
          )
        )[0]!;
  const { findings, ...gaps } = rootfsFindings(result, where);
  return {
    report: report(options.image, findings, gaps, {
      images: 0,
      layers: 0,
      files: result.files,
      nestedFiles: result.nestedFiles,
      bytes: result.bytes,
      ms: Date.now() - started,
    }),
  };
}

async function diskCache(
  cacheDir: string | undefined,
  spec: TargetSpec,
  limits: ScanLimits,
): Promise<LayerCache | undefined> {
  if (!cacheDir) return undefined;
  return new LayerCache(await ensureDirectory(cacheDir, { purpose: '--cache-dir' }), spec, limits);
}

/** The images a run names, in order, once each: `registry:HOST/REPO` with no tag becomes every tag of it. */
export async function expandImages(
  images: readonly string[],
  options: Pick<CheckOptions, 'spec' | 'registry'>,
): Promise<string[]> {
  const expanded: string[] = [];
  for (const image of images) {
    if (!isRepositoryReference(image)) expanded.push(image);
    else {
      const base = image.replace(/^(registry:|docker:\/\/)/, 'registry:');
      for (const tag of await listRepositoryTags(image, pemOf(options.spec.certs), options.registry))
        expanded.push(`${base}:${tag}`);
    }
  }
  return [...new Set(expanded)];
}

/** The options of a run over several images: one check's, less the image (and the verdicts the run keeps itself). */
export type SweepOptions = Omit<CheckOptions, 'image' | 'layerVerdicts'>;

/** A run's memory of the layers it read (and the disk cache behind it, when there is one). */
export async function runVerdicts(options: SweepOptions): Promise<RunVerdicts> {
  return new RunVerdicts(await diskCache(options.cacheDir, options.spec, { ...DEFAULT_LIMITS, ...options.limits }));
}

/**
 * Checks every image named (`registry:HOST/REPO` with no tag: every tag of the repository), one after another; a
 * layer several images share is read once. An image that cannot be checked is reported as unreadable and the rest
 * are still checked.
 */
export async function checkImages(
  images: readonly string[],
  options: SweepOptions,
  strict = false,
): Promise<SweepReport> {
  const started = Date.now();
  const verdicts = await runVerdicts(options);
  const reports: Report[] = [];
  for (const image of await expandImages(images, options)) {
    try {
      reports.push(await checkImage({ ...options, image, layerVerdicts: verdicts }));
    } catch (error) {
      reports.push(failureReport(image, safeMessage(error)));
    }
  }
  const layersRead = reports.reduce((n, r) => n + r.stats.layers - (r.stats.cachedLayers ?? 0), 0);
  return sweepOf(images, reports, strict, { layersRead, ms: Date.now() - started });
}

/** The reports of a run over several images as one: a verdict per image, and which images hold each layer. */
export function sweepOf(
  inputs: readonly string[],
  reports: readonly Report[],
  strict: boolean,
  work: { readonly layersRead: number; readonly ms: number },
): SweepReport {
  const layerImages = new Map<string, { images: string[]; verdict: Verdict }>();
  for (const report of reports) {
    for (const layer of report.layers ?? []) {
      const entry = layerImages.get(layer.digest) ?? { images: [], verdict: layer.verdict };
      entry.images.push(report.input);
      layerImages.set(layer.digest, entry);
    }
  }
  return {
    inputs,
    images: reports.map((report) => ({ image: report.input, verdict: verdictOf(report, strict), report })),
    layers: [...layerImages].map(([digest, e]) => ({ digest, verdict: e.verdict, images: e.images })),
    stats: { images: reports.length, layers: layerImages.size, ...work },
  };
}

function report(input: string, findings: Finding[], gaps: Gaps, stats: Report['stats']): Report {
  return {
    input,
    findings: dedupeFindings(findings),
    unscanned: gaps.unscanned,
    notLookedInside: dedupeNotLookedInside(gaps.notLookedInside),
    stats,
  };
}

/** Adds what one part of the check found to the whole. */
function gather(into: { findings: Finding[]; gaps: Gaps }, part: Gaps & { findings: readonly Finding[] }): void {
  into.findings.push(...part.findings);
  into.gaps.unscanned.push(...part.unscanned);
  into.gaps.notLookedInside.push(...part.notLookedInside);
}

/** Reads an image input's share: the owned layers (from the verdicts when judged before), and, for its owner, the part. */
async function readImageInput(
  { jobs, contentMembers, layers }: ListedInput,
  source: Source,
  plan: Plan,
  options: CheckOptions,
  limits: CheckLimits,
  share: InputShare,
): Promise<InputRead> {
  const keyOf = new Map(jobs.map((job, i) => [job.id, layers[i]!.key]));
  const owned = jobs.filter((job) => share.ownsLayer(keyOf.get(job.id)!));
  const cache = options.layerVerdicts ?? (await diskCache(options.cacheDir, options.spec, limits));
  const results = new Map<string, LayerResult>();
  for (const job of owned) {
    const hit = cache?.get(job);
    if (hit) results.set(keyOf.get(job.id)!, hit);
  }
  const cachedLayers = results.size;
  const toScan = owned.filter((job) => !results.has(keyOf.get(job.id)!));
  const layerRun = runLayerJobs(
    toScan,
    options.spec,
    limits.spillGiven ? limits : { ...limits, maxSpillBytes: spillBoundFor(jobs, limits.maxSpillBytes) },
    openBlob,
    options.parallel,
    newTotals(),
  );
  const part = share.ownsInput
    ? await describeInput(source, plan, { jobs, contentMembers }, keyOf, options)
    : undefined;
  const byId = new Map(toScan.map((job) => [job.id, job]));
  for (const r of await layerRun) {
    cache?.put(byId.get(r.id)!, r);
    results.set(keyOf.get(r.id)!, r);
  }
  return { subjects: plan.subjects, results, ...present({ part, cachedLayers: cache ? cachedLayers : undefined }) };
}

/** The owner's part of an image input: the plan, and what its config fields and text members hold. */
async function describeInput(
  source: Source,
  plan: Plan,
  { jobs, contentMembers }: Pick<ListedInput, 'jobs' | 'contentMembers'>,
  keyOf: ReadonlyMap<string, string>,
  options: CheckOptions,
): Promise<InputPart> {
  const matcher = buildMatcher(options.spec);
  const found = { findings: [] as Finding[], gaps: { unscanned: [...plan.unscanned], notLookedInside: [] } as Gaps };
  // Config fields are judged as fields; the same CA found again in the config's raw text is not a second finding.
  const inConfigFields = new Map<string, Set<string>>();
  for (const image of plan.images) {
    const fromConfig = configFindings(image, matcher);
    found.findings.push(...fromConfig);
    if (image.configMember) {
      const seen = inConfigFields.get(image.configMember) ?? new Set<string>();
      for (const f of fromConfig) seen.add(f.fingerprint);
      inConfigFields.set(image.configMember, seen);
    }
  }
  for (const name of contentMembers) await checkContent(source, plan, name, matcher, inConfigFields, found);
  return {
    input: options.image,
    subjects: plan.subjects,
    images: plan.images,
    layers: jobs.map((job) => ({
      id: job.id,
      key: keyOf.get(job.id)!,
      ...present({
        registry: job.blob.kind === 'registry' ? { digest: job.blob.digest, label: job.blob.label } : undefined,
      }),
    })),
    ...found,
  };
}

/**
 * An image input's report from its part and its layers' results, wherever they were read (here, the cache, another
 * shard). A registry layer that could not be read to its end fails the input (RegistryError).
 */
export function composeReport(
  part: InputPart,
  resultOf: (layer: PartLayer) => LayerResult | undefined,
  cachedLayers?: number,
): Report {
  const found = {
    findings: [...part.findings],
    gaps: { unscanned: [...part.gaps.unscanned], notLookedInside: [...part.gaps.notLookedInside] },
  };
  const results = new Map<string, LayerResult>();
  for (const layer of part.layers) {
    const r = resultOf(layer);
    if (!r) throw new Error(`no result for layer ${layer.key} of ${part.input}`);
    const failure = layer.registry ? registryLayerFailure(layer.registry, r) : undefined;
    if (failure) throw new RegistryError(failure);
    results.set(layer.id, { ...r, id: layer.id });
  }
  const stats = {
    images: part.images.length,
    layers: part.layers.length,
    files: 0,
    nestedFiles: 0,
    bytes: 0,
    ...present({ cachedLayers }),
  };
  for (const r of results.values()) {
    stats.files += r.files;
    stats.nestedFiles += r.nestedFiles;
    stats.bytes += r.bytes;
    for (const u of r.unreadable) found.gaps.unscanned.push({ what: `${r.id}: /${u.path}`, reason: u.reason });
    if (r.error)
      found.gaps.unscanned.push({
        what: `layer ${r.digest && r.compression !== 'unknown' ? r.digest : r.id}`,
        reason: r.error,
      });
  }
  const inImage = new Set<string>();
  for (const image of part.images) {
    for (const l of image.layers) if (results.has(l.member)) inImage.add(l.member);
    gather(
      found,
      imageFindings(
        image,
        image.layers.map((l) => results.get(l.member)),
      ),
    );
  }
  for (const [id, r] of results) if (!inImage.has(id)) gather(found, strayBlobFindings(id, r));
  // Per layer, by digest: a leak when a finding names it, unreadable when it could not be read to its end.
  const layers = new Map<string, Verdict>();
  for (const r of results.values()) if (r.digest) layers.set(r.digest, r.error !== undefined ? 'unreadable' : 'clean');
  for (const f of found.findings) if (f.layer && layers.has(f.layer.digest)) layers.set(f.layer.digest, 'leak');
  const checked = report(part.input, found.findings, found.gaps, { ...stats, ms: 0 });
  return { ...checked, subjects: part.subjects, layers: [...layers].map(([digest, verdict]) => ({ digest, verdict })) };
}

/** A member read as text: its hits (less those its image's config fields already reported), its digest checked. */
async function checkContent(
  source: Source,
  plan: Plan,
  name: string,
  matcher: Matcher,
  inConfigFields: ReadonlyMap<string, ReadonlySet<string>>,
  found: { findings: Finding[]; gaps: Gaps },
): Promise<void> {
  const m = source.members.get(name)!;
  const isConfig = plan.images.some((i) => i.configMember === name);
  const expected = digestOfMember(m);
  const { hits, digest, error } = await scanContent(
    m.blob,
    matcher,
    isConfig || name.endsWith('.json') || /^blobs\//.test(name),
    openBlob,
    expected,
  );
  if (error) found.gaps.unscanned.push({ what: name, reason: error });
  if (expected && digest !== expected)
    found.gaps.unscanned.push({ what: name, reason: `blob digest is ${digest}, expected ${expected}` });
  const reported = inConfigFields.get(name);
  const fresh = hits.filter((h) => !reported?.has(h.fingerprint));
  found.findings.push(...contentFindings(name, fresh, plan.attestations.get(name)));
}

export type { LayerResult };
