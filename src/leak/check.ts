import { createHash } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTempDirectory } from '../fs/ensure-directory.js';
import { colonFingerprint } from '../ca/certificate.js';
import { emptyLayerIndex, FinalFs } from './scanning/final-fs.js';
import { digestOfMember, planImages, type Plan, type PlannedImage } from './sources/image.js';
import { ImageInputError, openImageInput, parseImageInput, type OpenedInput } from './sources/input.js';
import { sniff } from './sniff.js';
import { scanDirectory } from './scanning/rootfs.js';
import { newTotals } from './scanning/nested/budget.js';
import { NESTED } from './scanning/nested/scan.js';
import { buildMatcher, ContentScanner, scanBuffer, type Matcher } from './scanning/matcher.js';
import { envPointers, filePointers, judgePointer, type Pointer } from '../ca-pointers/pointers.js';
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
  DEFAULT_LIMITS,
  type BlobRef,
  type Finding,
  type Hit,
  type LayerJob,
  type LayerResult,
  type Report,
  type ScanLimits,
  type TargetSpec,
  type Unscanned,
} from './types.js';

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

function hitFields(h: Hit): Pick<Finding, 'kind' | 'fingerprint' | 'subject'> {
  return { kind: h.kind, fingerprint: h.fingerprint, ...(h.subject ? { subject: h.subject } : {}) };
}

function describeCa(h: { kind: string; fingerprint: string; subject?: string }): string {
  // An intermediate the CA signed is an anchor for Java, Go and Node as much as the CA itself.
  const what = h.kind.endsWith('-intermediate') ? 'An intermediate CA signed by the org CA,' : 'The CA';
  return `${what}${h.subject ? ` '${h.subject}'` : ''} (SHA-256 ${colonFingerprint(h.fingerprint)})`;
}

/**
 * A registry layer that could not be read to its end, or whose bytes do not hash to its digest, fails the whole
 * check with one line naming the blob: what was scanned is not what was pushed.
 */
function registryLayerFailure(job: LayerJob, r: LayerResult): string | undefined {
  if (job.blob.kind !== 'registry' || !r.error) return undefined;
  // The stream's own one line (a break, a short body, an HTTP status), possibly wrapped by the scan's wording.
  const own = r.error.indexOf(`blob ${job.blob.digest} of `);
  if (own >= 0) return own > 0 ? r.error.slice(own, -1) : r.error; // friendly() wraps as `… (<message>)`
  const what = `blob ${job.blob.digest} of ${job.blob.label}`;
  if (r.digest !== job.blob.digest && /^(blob digest is |the blob is corrupt: its digest is )/.test(r.error))
    return `${what}: the registry served content whose digest is ${r.digest}`;
  return `${what}: ${r.error}`;
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
        ...(planned.mediaType ? { mediaType: planned.mediaType } : {}),
        ...(digest ? { digest } : {}),
      });
      continue;
    }
    const head = readMember({ ...m, blob: { ...m.blob, size: Math.min(m.blob.size, 1024) } });
    const kind = sniff(head);
    if (kind === 'gzip' || kind === 'zstd' || (kind === 'none' && m.blob.size >= 1024))
      jobs.push({ id: m.name, blob: m.blob, where: m.name, ...(digest ? { digest } : {}) });
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
        ...(attestation ? { image: attestation } : {}),
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
          layer: { index: l.index, digest: r.digest, ...(l.instruction ? { instruction: l.instruction } : {}) },
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

/** A layer shared by several images (platforms) is listed once per layer and path. */
function dedupeNotLookedInside(list: Report['notLookedInside'][number][]): Report['notLookedInside'][number][] {
  const seen = new Set<string>();
  return list.filter((n) => {
    const key = `${n.layer}|${n.path}|${n.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function dedupeFindings(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.image}|${f.layer?.index}|${f.path}|${f.kind}|${f.fingerprint}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function pointerFindings(
  pointers: Pointer[],
  fs: FinalFs,
  caPaths: ReadonlySet<string>,
  cwd: string,
  image: string | undefined,
  layer?: number,
): Finding[] {
  const out: Finding[] = [];
  for (const p of pointers) {
    const verdict = judgePointer(p, fs, caPaths, cwd);
    if (!verdict) continue;
    const what = `${p.setting} in ${p.where}${layer !== undefined ? ` (layer ${layer})` : ''}`;
    const message =
      verdict.kind === 'pointer-inline'
        ? `${what} holds certificate text instead of a path. ${LEAK_FIX}`
        : verdict.kind === 'pointer-to-ca'
          ? `${what} points tools at ${verdict.file}, which holds the CA. ${LEAK_FIX}`
          : `${what} points at ${verdict.file}, which is not in the image: a build-time CA setting was left in the release image ` +
            '(tools fail on the missing file, or trust whatever is put there). Set it only in the builder stage, e.g. through with-org-ca.';
    out.push({
      kind: verdict.kind,
      fingerprint: '',
      ...(image ? { image } : {}),
      path: p.where,
      visibility: p.where.startsWith('config.') ? 'config' : 'final',
      message,
    });
  }
  return out;
}

/** Env, Labels, Entrypoint, Cmd and every history entry (ARG values appear there as `RUN |N K=v …`). */
function configFindings(image: PlannedImage, matcher: Matcher): Finding[] {
  const c = image.config;
  const fields: [string, string][] = [];
  (c.config?.Env ?? []).forEach((v, i) => fields.push([`config.Env[${i}]`, v]));
  for (const [k, v] of Object.entries(c.config?.Labels ?? {}))
    fields.push([`config.Labels[${JSON.stringify(k)}]`, `${k}=${v}`]);
  for (const key of ['Entrypoint', 'Cmd'] as const) {
    const v = c.config?.[key];
    if (v) fields.push([`config.${key}`, Array.isArray(v) ? v.join(' ') : v]);
  }
  (c.history ?? []).forEach((h, i) => h.created_by && fields.push([`history[${i}].created_by`, h.created_by]));
  const out: Finding[] = [];
  for (const [where, text] of fields) {
    for (const h of scanText(matcher, text)) {
      out.push({
        ...hitFields(h),
        image: image.name,
        path: where,
        visibility: 'config',
        message: `${describeCa(h)} is in the image config at ${where} (${h.kind}); anyone who pulls the image can read it. ${LEAK_FIX}`,
      });
    }
  }
  return out;
}

/** Text, plus any base64 token in it decoded (descriptor `data`, max-mode provenance hold JSON []byte as base64). */
function scanText(matcher: Matcher, text: string, depth = 0): Hit[] {
  const hits = scanBuffer(matcher, Buffer.from(text, 'utf8'));
  if (depth < 2) {
    const found = new Set(hits.map((h) => h.fingerprint));
    for (const token of text.match(/[A-Za-z0-9+/]{64,}={0,2}/g) ?? []) {
      const decoded = Buffer.from(token, 'base64');
      const inner = scanBuffer(matcher, decoded);
      if (decoded[0] === 0x7b || decoded[0] === 0x5b)
        inner.push(...scanJsonStrings(matcher, decoded.toString('utf8'), depth + 1));
      // A PEM line is itself base64: what decodes from it was already found as the PEM.
      for (const h of inner) {
        if (found.has(h.fingerprint)) continue;
        found.add(h.fingerprint);
        hits.push(h);
      }
    }
  }
  return hits;
}

function scanJsonStrings(matcher: Matcher, text: string, depth: number): Hit[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  const hits: Hit[] = [];
  // An explicit stack: a hostile blob of a million nested lists must not overflow the call stack.
  const stack: unknown[] = [doc];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.length >= 40) hits.push(...scanText(matcher, v, depth));
    } else if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k.length >= 40) hits.push(...scanText(matcher, k, depth));
        stack.push(x);
      }
    }
  }
  return hits;
}

/** A non-layer member: streamed through the matcher and hashed; JSON is also walked string by string. */
async function scanContent(
  blob: BlobRef,
  matcher: Matcher,
  maybeJson: boolean,
): Promise<{ hits: Hit[]; digest: string; error?: string }> {
  const hash = createHash('sha256');
  const scanner = new ContentScanner(matcher);
  const keep: Buffer[] = [];
  let kept = 0;
  try {
    if (blob.size > 0) {
      for await (const chunk of await openBlob(blob)) {
        const b = chunk as Buffer;
        hash.update(b);
        scanner.feed(b);
        if (maybeJson && kept < 64 * 1024 * 1024) {
          keep.push(b);
          kept += b.length;
        }
      }
    }
  } catch (error) {
    return {
      hits: scanner.end(),
      digest: `sha256:${hash.digest('hex')}`,
      error: error instanceof Error ? error.message : String(error),
    };
  }
  const hits = scanner.end();
  if (maybeJson && kept <= 64 * 1024 * 1024) {
    const text = Buffer.concat(keep).toString('utf8');
    if (/^\s*[[{]/.test(text)) {
      const fps = new Set(hits.map((h) => h.fingerprint));
      for (const h of scanJsonStrings(matcher, text, 0)) if (!fps.has(h.fingerprint)) hits.push(h);
    }
  }
  return { hits, digest: `sha256:${hash.digest('hex')}` };
}

export type { LayerResult };
