import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTempDirectory } from '../fs/ensure-directory.js';
import { emptyLayerIndex, FinalFs } from './scanning/final-fs.js';
import { digestOfMember, planImages, type Plan } from './sources/image.js';
import { ImageInputError, openImageInput, parseImageInput, type OpenedInput } from './sources/input.js';
import { sniff } from './sniff.js';
import { scanDirectory } from './scanning/rootfs.js';
import { newTotals } from './scanning/nested/budget.js';
import { NESTED } from './scanning/nested/scan.js';
import { buildMatcher, type Matcher } from './scanning/matcher.js';
import { envPointers, filePointers } from '../ca-pointers/pointers.js';
import { runLayerJobs } from './scanning/pool.js';
import { openBlob } from './sources/blob.js';
import { readMember, type Source } from './sources/archive.js';
import {
  isRegistryReference,
  openRegistryImage,
  pemOf,
  RegistryError,
  type RegistrySourceOptions,
} from './sources/registry/index.js';
import { LEAK_FIX } from '../ca-pointers/fix.js';
import {
  configFindings,
  dedupeFindings,
  dedupeNotLookedInside,
  describeCa,
  hitFields,
  pointerFindings,
  registryLayerFailure,
} from './findings.js';
import { scanContent } from './scanning/text.js';
import {
  DEFAULT_LIMITS,
  type Finding,
  type LayerJob,
  type LayerResult,
  type Report,
  type ScanLimits,
  type TargetSpec,
  type Unscanned,
} from './types.js';
import { present } from '../lang/present.js';

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
  const matcher = buildMatcher(options.spec);
  if (isRegistryReference(options.image)) {
    // registry:HOST/REPO… and docker://…: nothing on disk, layers stream from the registry into the layer workers.
    const { source } = await openRegistryImage(options.image, pemOf(options.spec.certs), options.registry);
    return await checkSource(
      options.image,
      source,
      planImages(source, ['oci']),
      matcher,
      options.spec,
      limits,
      options.parallel,
      started,
      registryLayerFailure,
    );
  }
  const input = parseImageInput(options.image);
  let temp: string | undefined;
  try {
    let opened: OpenedInput;
    if (input.kind === 'daemon') {
      if (!options.dockerSave)
        throw new ImageInputError(`'${options.image}' is neither a path nor an image a Docker daemon can save.`);
      temp = await makeTempDirectory(tmpdir(), 'org-ca-leak-', { purpose: 'TMPDIR', mode: 0o700 });
      const file = join(temp, 'image.tar');
      await options.dockerSave(input.reference, file);
      // Whatever docker save wrote (legacy, Docker 25+ or the containerd store's layout) is read as what it is.
      opened = openImageInput({ kind: 'path', spelling: options.image, path: file });
    } else {
      opened = openImageInput(input);
    }
    if (opened.kind === 'rootfs-dir')
      return checkRootfs(
        options.image,
        await scanDirectory('rootfs', opened.dir, matcher, limits),
        opened.dir,
        started,
      );
    if (opened.kind === 'rootfs-tar') {
      const size = statSync(opened.file).size;
      const [layer] = await runLayerJobs(
        [{ id: opened.file, blob: { file: opened.file, start: 0, size }, where: opened.file }],
        options.spec,
        limits,
        openBlob,
        options.parallel,
      );
      return checkRootfs(options.image, layer!, opened.file, started);
    }
    return await checkSource(
      options.image,
      opened.source,
      planImages(opened.source, opened.layouts, opened.ref),
      matcher,
      options.spec,
      limits,
      options.parallel,
      started,
    );
  } finally {
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}

/** A root file system (a directory, or the tar of one): one layer, all of it the final file system. */
function checkRootfs(input: string, result: LayerResult, where: string, started: number): Report {
  const fs = FinalFs.build([result.index]);
  const within = (h: { path: string }): string =>
    h.path.includes(NESTED) ? ' (inside a file that holds other files)' : '';
  const findings: Finding[] = result.hits.map((h) => ({
    ...hitFields(h),
    path: `/${h.path}`,
    visibility: 'final',
    message: `${describeCa(h)} is in the file system at /${h.path}${within(h)} (${h.kind}). ${LEAK_FIX}`,
  }));
  const caPaths = new Set(result.hits.filter((h) => !h.path.includes(NESTED)).map((h) => `/${h.path}`));
  for (const c of result.captured)
    findings.push(...pointerFindings(filePointers(c.path, c.text), fs, caPaths, '/', undefined));
  const unscanned: Unscanned[] = result.unreadable.map((u) => ({ what: `/${u.path}`, reason: u.reason }));
  if (result.error) unscanned.push({ what: where, reason: result.error });
  const notLookedInside = result.notLookedInside.map((n) => ({ ...n, path: `/${n.path}` }));
  return {
    input,
    findings,
    unscanned,
    notLookedInside,
    stats: {
      images: 0,
      layers: 0,
      files: result.files,
      nestedFiles: result.nestedFiles,
      bytes: result.bytes,
      ms: Date.now() - started,
    },
  };
}

async function checkSource(
  input: string,
  source: Source,
  plan: Plan,
  matcher: Matcher,
  spec: TargetSpec,
  limits: CheckLimits,
  parallel: number | undefined,
  started: number,
  layerFailure?: (job: LayerJob, result: LayerResult) => string | undefined,
): Promise<Report> {
  const unscanned: Unscanned[] = [...plan.unscanned];
  const findings: Finding[] = [];

  // Every regular member is scanned once: as a layer when a manifest says so or its bytes are a tar stream
  // (an unreferenced blob still ships), else as content (configs, manifests, attestations, legacy json).
  const jobs: LayerJob[] = [];
  const contentMembers: string[] = [];
  for (const m of source.members.values()) {
    if (m.type !== 'file') continue;
    const planned = plan.layerMembers.get(m.name);
    const digest = planned?.digest ?? digestOfMember(m);
    if (planned) {
      jobs.push({
        id: m.name,
        blob: m.blob,
        where: m.name,
        ...present({ mediaType: planned.mediaType, digest }),
      });
      continue;
    }
    const head = readMember({ ...m, blob: { ...m.blob, size: Math.min(m.blob.size, 1024) } });
    const kind = sniff(head);
    if (kind === 'gzip' || kind === 'zstd' || (kind === 'none' && m.blob.size >= 1024))
      jobs.push({ id: m.name, blob: m.blob, where: m.name, ...present({ digest }) });
    else contentMembers.push(m.name);
  }

  const configMembers = new Set(plan.images.map((i) => i.configMember).filter((x): x is string => Boolean(x)));
  const structured = new Map<string, Set<string>>();
  for (const image of plan.images) {
    const found = configFindings(image, matcher);
    findings.push(...found);
    if (image.configMember)
      structured.set(
        image.configMember,
        new Set([...(structured.get(image.configMember) ?? []), ...found.map((f) => f.fingerprint)]),
      );
  }
  const layerRun = runLayerJobs(
    jobs,
    spec,
    limits.spillGiven ? limits : { ...limits, maxSpillBytes: spillBoundFor(jobs, limits.maxSpillBytes) },
    openBlob,
    parallel,
    newTotals(),
  );
  for (const name of contentMembers) {
    const m = source.members.get(name)!;
    const { hits, digest, error } = await scanContent(
      m.blob,
      matcher,
      configMembers.has(name) || name.endsWith('.json') || /^blobs\//.test(name),
      openBlob,
    );
    const expected = digestOfMember(m);
    if (error) unscanned.push({ what: name, reason: error });
    if (expected && digest !== expected)
      unscanned.push({ what: name, reason: `blob digest is ${digest}, expected ${expected}` });
    const skip = structured.get(name) ?? new Set<string>();
    const attestation = plan.attestations.get(name);
    for (const h of hits) {
      if (skip.has(h.fingerprint)) continue;
      findings.push({
        ...hitFields(h),
        ...present({ image: attestation }),
        path: name,
        visibility: 'n/a',
        message: attestation
          ? `${describeCa(h)} is in the ${attestation} at ${name} (${h.kind}): BuildKit records build arguments and the Dockerfile there, and the attestation is pushed with the image. ${LEAK_FIX}`
          : `${describeCa(h)} is in ${name} of the image archive (${h.kind}). ${LEAK_FIX}`,
      });
    }
  }
  const results = new Map((await layerRun).map((r) => [r.id, r] as const));
  for (const job of jobs) {
    const failure = layerFailure?.(job, results.get(job.id)!);
    if (failure) throw new RegistryError(failure);
  }

  let files = 0;
  let nestedFiles = 0;
  let bytes = 0;
  const notLookedInside: Report['notLookedInside'][number][] = [];
  for (const r of results.values()) {
    files += r.files;
    nestedFiles += r.nestedFiles;
    bytes += r.bytes;
    for (const u of r.unreadable) unscanned.push({ what: `${r.id}: /${u.path}`, reason: u.reason });
    if (r.error)
      unscanned.push({ what: `layer ${r.digest && r.compression !== 'unknown' ? r.digest : r.id}`, reason: r.error });
  }
  const inImage = new Set<string>();
  for (const image of plan.images) {
    const layerResults = image.layers.map((l) => results.get(l.member));
    const fs = FinalFs.build(layerResults.map((r) => r?.index ?? emptyLayerIndex()));
    const caPaths = new Set<string>();
    image.layers.forEach((l, i) => {
      const r = layerResults[i];
      if (!r) return;
      inImage.add(l.member);
      if (l.diffId && !r.error && r.diffId && r.diffId !== l.diffId)
        unscanned.push({
          what: `${image.name} layer ${l.index}`,
          reason: `uncompressed digest is ${r.diffId}, expected diff_id ${l.diffId}`,
        });
      for (const n of r.notLookedInside)
        notLookedInside.push({ path: `/${n.path}`, reason: n.reason, image: image.name, layer: l.index });
      for (const h of r.hits) {
        // Inside an archive, the archive's own path decides visibility: `/app/app.jar!/x.pem` ships with /app/app.jar.
        const cut = h.path.indexOf(NESTED);
        const nested = cut !== -1;
        const visible = fs.layerOf(nested ? h.path.slice(0, cut) : h.path) === i;
        if (visible && !nested) caPaths.add(`/${h.path}`);
        findings.push({
          ...hitFields(h),
          image: image.name,
          layer: { index: l.index, digest: r.digest, ...present({ instruction: l.instruction }) },
          path: `/${h.path}`,
          visibility: visible ? 'final' : 'lower-layer',
          message:
            `${describeCa(h)} is in layer ${l.index} at /${h.path}${nested ? ' (inside a file that holds other files)' : ''} (${h.kind}), ` +
            (visible
              ? 'visible in the final file system'
              : 'hidden or deleted by a later layer but still shipped in this one') +
            `${l.instruction ? `; made by: ${l.instruction.slice(0, 200)}` : ''}. ${LEAK_FIX}`,
        });
      }
    });
    const cwd = image.config.config?.WorkingDir || '/';
    findings.push(...pointerFindings(envPointers(image.config.config?.Env ?? []), fs, caPaths, cwd, image.name));
    image.layers.forEach((l, i) => {
      for (const c of layerResults[i]?.captured ?? []) {
        if (fs.layerOf(c.path) === i)
          findings.push(...pointerFindings(filePointers(c.path, c.text), fs, caPaths, cwd, image.name, l.index));
      }
    });
  }
  for (const [id, r] of results) {
    if (inImage.has(id)) continue;
    for (const n of r.notLookedInside) notLookedInside.push({ path: `${id}: /${n.path}`, reason: n.reason });
    for (const h of r.hits) {
      findings.push({
        ...hitFields(h),
        path: `${id}: /${h.path}`,
        visibility: 'n/a',
        message: `${describeCa(h)} is in /${h.path} of blob ${id}, which no manifest references but which ships with the image (${h.kind}). ${LEAK_FIX}`,
      });
    }
  }
  return {
    input,
    findings: dedupeFindings(findings),
    unscanned,
    notLookedInside: dedupeNotLookedInside(notLookedInside),
    stats: { images: plan.images.length, layers: jobs.length, files, nestedFiles, bytes, ms: Date.now() - started },
  };
}

export type { LayerResult };
