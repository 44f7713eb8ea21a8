import { statSync } from 'node:fs';
import { ensureDirectory } from '../fs/ensure-directory.js';
import { LayerCache } from './layer-cache.js';
import { present } from '../lang/present.js';
import { newTotals } from './scanning/nested/budget.js';
import { buildMatcher, type Matcher } from './scanning/matcher.js';
import { runLayerJobs } from './scanning/pool.js';
import { scanDirectory } from './scanning/rootfs.js';
import { scanContent } from './scanning/text.js';
import type { Source } from './sources/archive.js';
import { openBlob } from './sources/blob.js';
import { digestOfMember, type Plan } from './sources/image.js';
import { ImageInputError } from './sources/input.js';
import { layerJobsOf } from './sources/members.js';
import { openCheckInput, type CheckInput } from './sources/open.js';
import { pemOf, RegistryError, type RegistrySourceOptions } from './sources/registry/index.js';
import { digestAlgorithm } from './digest.js';
import {
  composableImage,
  configFindings,
  contentFindings,
  dedupeFindings,
  dedupeNotLookedInside,
  imageFindings,
  registryLayerFailure,
  rootfsFindings,
  strayBlobFindings,
  type ComposableImage,
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
}

export { ImageInputError };

/** The limits of one check, and whether the user set the spill bound (else it is sized to the image). */
export type CheckLimits = ScanLimits & { readonly spillGiven: boolean };

export function checkLimits(options: Pick<CheckOptions, 'limits'>): CheckLimits {
  return { ...DEFAULT_LIMITS, ...options.limits, spillGiven: options.limits?.maxSpillBytes !== undefined };
}

/**
 * The default spill bound (SPILL_BOUND): four times the input's bytes, never below the floor. An archive is written to
 * TMPDIR at most once per level it sits at, so a real image needs far less; a bomb of archives in archives stops there.
 */
export function spillBoundFor(jobs: readonly LayerJob[], floor: number): number {
  return Math.max(floor, 4 * jobs.reduce((total, job) => total + job.blob.size, 0));
}

export async function checkImage(options: CheckOptions): Promise<Report> {
  const started = Date.now();
  const checked = await checkInput(options);
  if ('report' in checked) return checked.report;
  const { part, results, cachedLayers } = checked;
  const composed = composeReport(part, (layer) => results.get(layer.key), cachedLayers);
  return { ...composed, stats: { ...composed.stats, ms: Date.now() - started } };
}

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
  readonly images: readonly ComposableImage[];
  readonly layers: readonly PartLayer[];
  readonly findings: readonly Finding[];
  readonly gaps: Gaps;
}

/** What reading one input gave: a finished report (a root file system), or the part and its layers' results by key. */
export type InputRead =
  | { readonly report: Report }
  | {
      readonly part: InputPart;
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
  /** Bytes of metadata the opened input holds in memory (a registry's manifests and configs). */
  readonly heldBytes: number;
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
  let heldBytes = 0;
  if (input.kind === 'image')
    for (const m of input.source.members.values()) if (m.blob.kind === 'bytes') heldBytes += m.blob.size;
  return { image: options.image, input, jobs, contentMembers, layers, heldBytes, close: () => opened.close() };
}

/** Opens an input and reads it (readInput). */
export async function checkInput(options: CheckOptions): Promise<InputRead> {
  const listed = await listInput(options);
  try {
    return await readInput(listed, options);
  } finally {
    listed.close();
  }
}

/**
 * Reads an opened input: a root file system into its report; an image into its part and its layers' results (runs
 * over many images read the layers themselves, see sweep.ts).
 */
export async function readInput(listed: ListedInput, options: CheckOptions): Promise<InputRead> {
  const started = Date.now();
  const limits = checkLimits(options);
  const { input } = listed;
  if (input.kind === 'image') return await readImageInput(listed, options, limits);
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

/** The disk cache behind a check or a run, when `cacheDir` names one. */
export async function diskCache(
  cacheDir: string | undefined,
  spec: TargetSpec,
  limits: ScanLimits,
): Promise<LayerCache | undefined> {
  if (!cacheDir) return undefined;
  return new LayerCache(await ensureDirectory(cacheDir, { purpose: '--cache-dir' }), spec, limits);
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

/** Reads an image input: its layers (from the disk cache when judged before), and its part. */
async function readImageInput(listed: ListedInput, options: CheckOptions, limits: CheckLimits): Promise<InputRead> {
  const { jobs } = listed;
  const keyOf = keysOf(listed);
  const cache = await diskCache(options.cacheDir, options.spec, limits);
  const results = new Map<string, LayerResult>();
  for (const job of jobs) {
    const hit = cache?.get(job);
    if (hit) results.set(keyOf.get(job.id)!, hit);
  }
  const cachedLayers = results.size;
  const toScan = jobs.filter((job) => !results.has(keyOf.get(job.id)!));
  const layerRun = runLayerJobs(
    toScan,
    options.spec,
    limits.spillGiven ? limits : { ...limits, maxSpillBytes: spillBoundFor(jobs, limits.maxSpillBytes) },
    openBlob,
    options.parallel,
    newTotals(),
  );
  const part = await describeInput(listed, options);
  const byId = new Map(toScan.map((job) => [job.id, job]));
  for (const r of await layerRun) {
    cache?.put(byId.get(r.id)!, r);
    results.set(keyOf.get(r.id)!, r);
  }
  return { part, results, ...present({ cachedLayers: cache ? cachedLayers : undefined }) };
}

/** Each layer job's key (layerKey), by job id. */
function keysOf({ jobs, layers }: ListedInput): ReadonlyMap<string, string> {
  return new Map(jobs.map((job, i) => [job.id, layers[i]!.key]));
}

/** The owner's part of an image input: the plan, and what its config fields and text members hold. */
export async function describeInput(listed: ListedInput, options: Omit<CheckOptions, 'image'>): Promise<InputPart> {
  if (listed.input.kind !== 'image') throw new Error(`${listed.image} is not an image input`);
  const { source, plan } = listed.input;
  const { jobs, contentMembers } = listed;
  const keyOf = keysOf(listed);
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
    input: listed.image,
    subjects: plan.subjects,
    images: plan.images.map(composableImage),
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
