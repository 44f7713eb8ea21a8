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
import { digestOfMember, type Plan } from './sources/image.js';
import { ImageInputError } from './sources/input.js';
import { layerJobsOf } from './sources/members.js';
import { openCheckInput } from './sources/open.js';
import {
  isRepositoryReference,
  listRepositoryTags,
  pemOf,
  RegistryError,
  type RegistrySourceOptions,
} from './sources/registry/index.js';
import { failureReport, safeMessage, verdictOf } from './reporting/report.js';
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
  type CheckedImage,
  type SweepReport,
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
  const limits: CheckLimits = {
    ...DEFAULT_LIMITS,
    ...options.limits,
    spillGiven: options.limits?.maxSpillBytes !== undefined,
  };
  const opened = await openCheckInput(options.image, {
    extraCa: pemOf(options.spec.certs),
    ...present({ dockerSave: options.dockerSave, registry: options.registry }),
  });
  try {
    const { input } = opened;
    if (input.kind === 'image') {
      const { findings, gaps, stats, layers } = await checkSource(
        input.source,
        input.plan,
        options,
        limits,
        input.fromRegistry,
      );
      const checked = report(options.image, findings, gaps, { ...stats, ms: Date.now() - started });
      return { ...checked, subjects: input.plan.subjects, layers };
    }
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
    return report(options.image, findings, gaps, {
      images: 0,
      layers: 0,
      files: result.files,
      nestedFiles: result.nestedFiles,
      bytes: result.bytes,
      ms: Date.now() - started,
    });
  } finally {
    opened.close();
  }
}

async function diskCache(
  cacheDir: string | undefined,
  spec: TargetSpec,
  limits: ScanLimits,
): Promise<LayerCache | undefined> {
  if (!cacheDir) return undefined;
  return new LayerCache(await ensureDirectory(cacheDir, { purpose: '--cache-dir' }), spec, limits);
}

/**
 * Checks every image named (`registry:HOST/REPO` with no tag: every tag of the repository), one after another; a
 * layer several images share is read once. An image that cannot be checked is reported as unreadable and the rest
 * are still checked.
 */
export async function checkImages(
  images: readonly string[],
  options: Omit<CheckOptions, 'image' | 'layerVerdicts'>,
  strict = false,
): Promise<SweepReport> {
  const started = Date.now();
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const verdicts = new RunVerdicts(await diskCache(options.cacheDir, options.spec, limits));
  const expanded: string[] = [];
  for (const image of images) {
    if (!isRepositoryReference(image)) expanded.push(image);
    else {
      const base = image.replace(/^(registry:|docker:\/\/)/, 'registry:');
      for (const tag of await listRepositoryTags(image, pemOf(options.spec.certs), options.registry))
        expanded.push(`${base}:${tag}`);
    }
  }
  const checked: CheckedImage[] = [];
  const layerImages = new Map<string, { images: string[]; verdict: Verdict }>();
  let layersRead = 0;
  for (const image of [...new Set(expanded)]) {
    let report: Report;
    try {
      report = await checkImage({ ...options, image, layerVerdicts: verdicts });
    } catch (error) {
      report = failureReport(image, safeMessage(error));
    }
    const verdict = verdictOf(report, strict);
    checked.push({ image, verdict, report });
    layersRead += report.stats.layers - (report.stats.cachedLayers ?? 0);
    for (const layer of report.layers ?? []) {
      const entry = layerImages.get(layer.digest) ?? { images: [], verdict: layer.verdict };
      entry.images.push(image);
      layerImages.set(layer.digest, entry);
    }
  }
  return {
    inputs: images,
    images: checked,
    layers: [...layerImages].map(([digest, e]) => ({ digest, verdict: e.verdict, images: e.images })),
    stats: { images: checked.length, layers: layerImages.size, layersRead, ms: Date.now() - started },
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

async function checkSource(
  source: Source,
  plan: Plan,
  options: CheckOptions,
  limits: CheckLimits,
  fromRegistry: boolean,
): Promise<{
  findings: Finding[];
  gaps: Gaps;
  stats: Omit<Report['stats'], 'ms'>;
  layers: NonNullable<Report['layers']>;
}> {
  const matcher = buildMatcher(options.spec);
  const found = { findings: [] as Finding[], gaps: { unscanned: [...plan.unscanned], notLookedInside: [] } as Gaps };
  const { jobs, contentMembers } = layerJobsOf(source, plan);
  const cache = options.layerVerdicts ?? (await diskCache(options.cacheDir, options.spec, limits));
  const cached = new Map<string, LayerResult>();
  for (const job of jobs) {
    const hit = cache?.get(job);
    if (hit) cached.set(job.id, hit);
  }
  const toScan = jobs.filter((job) => !cached.has(job.id));
  const layerRun = runLayerJobs(
    toScan,
    options.spec,
    limits.spillGiven ? limits : { ...limits, maxSpillBytes: spillBoundFor(jobs, limits.maxSpillBytes) },
    openBlob,
    options.parallel,
    newTotals(),
  );
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

  const scanned = await layerRun;
  for (const r of scanned)
    cache?.put(
      toScan.find((j) => j.id === r.id)!,
      r,
    );
  const results = new Map([...cached, ...scanned.map((r) => [r.id, r] as const)]);
  for (const job of jobs) {
    const failure = fromRegistry ? registryLayerFailure(job, results.get(job.id)!) : undefined;
    if (failure) throw new RegistryError(failure);
  }
  const stats = {
    images: plan.images.length,
    layers: jobs.length,
    files: 0,
    nestedFiles: 0,
    bytes: 0,
    ...present({ cachedLayers: cache ? cached.size : undefined }),
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
  for (const image of plan.images) {
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
  return { ...found, stats, layers: [...layers].map(([digest, verdict]) => ({ digest, verdict })) };
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
