import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readSync, closeSync, rmSync, statSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { colonFingerprint } from '../ca/certificate.js';
import { emptyLayerIndex, FinalFs } from './filesystem.js';
import { digestOfMember, planImages, type PlannedImage } from './image.js';
import { scanDirectory, sniff } from './layer.js';
import { buildMatcher, ContentScanner, scanBuffer, type Matcher } from './matcher.js';
import { envPointers, filePointers, judgePointer, type Pointer } from './pointers.js';
import { runLayerJobs } from './pool.js';
import { openBlob } from './blob.js';
import { indexDirectory, indexTar, readMember, type Source } from './source.js';
import { isRegistryReference, openRegistryImage, pemOf, RegistryError, type RegistrySourceOptions } from './registry/index.js';
import { DEFAULT_LIMITS, LEAK_FIX, type BlobRef, type Finding, type Hit, type LayerJob, type LayerResult, type Report, type ScanLimits, type TargetSpec, type Unscanned } from './types.js';

export interface CheckOptions {
  /** A path (archive, OCI layout, rootfs directory), optionally with a transport prefix, or a daemon image reference. */
  readonly image: string;
  readonly spec: TargetSpec;
  readonly limits?: ScanLimits;
  readonly parallel?: number;
  /** Writes `docker save` of a reference to a file; the shell passes one backed by @actions/exec. */
  readonly dockerSave?: (reference: string, file: string) => Promise<void>;
  /** For `registry:` / `docker://` references: credentials, platform, environment (see src/leak/registry/). */
  readonly registry?: RegistrySourceOptions;
}

export class ImageInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageInputError';
  }
}


/** `docker-archive:x`, `oci-archive:x`, `oci:dir[:ref]`, `dir:x` as skopeo/buildah spell them, or a bare path. */
export function resolveImagePath(image: string): string | undefined {
  const m = /^(docker-archive|oci-archive|oci|dir):(.*)$/.exec(image);
  const path = m ? m[2]! : image;
  if (existsSync(path)) return path;
  // oci:/path:tag and docker-archive:/path:ref carry a reference after the path.
  const cut = path.lastIndexOf(':');
  if (cut > 0 && existsSync(path.slice(0, cut))) return path.slice(0, cut);
  return m ? path : undefined;
}

function openSource(path: string): Source | 'rootfs' {
  const st = statSync(path);
  if (st.isDirectory()) {
    const dir = indexDirectory(path);
    return dir.members.has('oci-layout') || dir.members.has('index.json') || dir.members.has('manifest.json') ? dir : 'rootfs';
  }
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(1024);
  const n = readSync(fd, head, 0, head.length, 0);
  closeSync(fd);
  const kind = sniff(head.subarray(0, n));
  if (kind === 'gzip' || kind === 'zstd') {
    throw new ImageInputError(`'${path}' is a ${kind}-compressed archive: decompress it first (e.g. gunzip -k), then check the .tar.`);
  }
  if (kind !== 'none') throw new ImageInputError(`'${path}' is not a tar archive: expected a docker save / OCI archive, an OCI layout directory or a root file system directory.`);
  return indexTar(path);
}

export async function checkImage(options: CheckOptions): Promise<Report> {
  const started = Date.now();
  const limits = options.limits ?? DEFAULT_LIMITS;
  const matcher = buildMatcher(options.spec);
  if (isRegistryReference(options.image)) {
    // Nothing on disk: layers stream from the registry into the layer workers.
    const { source } = await openRegistryImage(options.image, pemOf(options.spec.certs), options.registry);
    return await checkSource(options.image, source, matcher, options.spec, limits, options.parallel, started, registryLayerFailure);
  }
  let path = resolveImagePath(options.image);
  let temp: string | undefined;
  try {
    if (!path) {
      // A Docker reference never starts with '/' or '.' (distribution/reference grammar): this is a path that does
      // not exist, and asking a daemon would bury the typo under "invalid reference" or "cannot connect".
      if (/^(\/|\.\.?\/|~\/)/.test(options.image)) {
        throw new ImageInputError(`'${options.image}' does not exist: expected a docker save or OCI archive, an OCI layout or root file system directory, or a local Docker image reference.`);
      }
      if (!options.dockerSave) throw new ImageInputError(`'${options.image}' is neither a path nor an image a Docker daemon can save.`);
      temp = mkdtempSync(join(tmpdir(), 'org-ca-leak-'));
      path = join(temp, 'image.tar');
      await options.dockerSave(options.image, path);
    }
    const source = openSource(path);
    if (source === 'rootfs') return await checkRootfs(options.image, path, matcher, limits, started);
    return await checkSource(options.image, source, matcher, options.spec, limits, options.parallel, started);
  } finally {
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}

async function checkRootfs(input: string, dir: string, matcher: Matcher, limits: ScanLimits, started: number): Promise<Report> {
  const result = await scanDirectory('rootfs', dir, matcher, limits);
  const fs = FinalFs.build([result.index]);
  const findings: Finding[] = result.hits.map((h) => ({
    ...hitFields(h),
    path: `/${h.path}`,
    visibility: 'final',
    message: `${describeCa(h)} is in the file system at /${h.path} (${h.kind}). ${LEAK_FIX}`,
  }));
  const caPaths = new Set(result.hits.map((h) => `/${h.path}`));
  for (const c of result.captured) findings.push(...pointerFindings(filePointers(c.path, c.text), fs, caPaths, '/', undefined));
  const unscanned: Unscanned[] = result.unreadable.map((u) => ({ what: `/${u.path}`, reason: u.reason }));
  if (result.error) unscanned.push({ what: dir, reason: result.error });
  return { input, findings, unscanned, stats: { images: 0, layers: 0, files: result.files, bytes: result.bytes, ms: Date.now() - started } };
}

function hitFields(h: Hit): Pick<Finding, 'kind' | 'fingerprint' | 'subject'> {
  return { kind: h.kind, fingerprint: h.fingerprint, ...(h.subject ? { subject: h.subject } : {}) };
}

function describeCa(h: { fingerprint: string; subject?: string }): string {
  return `The CA${h.subject ? ` '${h.subject}'` : ''} (SHA-256 ${colonFingerprint(h.fingerprint)})`;
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
  if (r.digest !== job.blob.digest && /^blob digest is /.test(r.error)) return `${what}: the registry served content whose digest is ${r.digest}`;
  return `${what}: ${r.error}`;
}

async function checkSource(
  input: string,
  source: Source,
  matcher: Matcher,
  spec: TargetSpec,
  limits: ScanLimits,
  parallel: number | undefined,
  started: number,
  layerFailure?: (job: LayerJob, result: LayerResult) => string | undefined,
): Promise<Report> {
  const plan = planImages(source);
  const unscanned: Unscanned[] = [...plan.unscanned];
  const findings: Finding[] = [];
  if (plan.images.length === 0) unscanned.push({ what: source.label, reason: 'no image found: expected index.json (OCI) or manifest.json (docker save)' });

  // Every regular member is scanned once: as a layer when a manifest says so or its bytes are a tar stream
  // (an unreferenced blob still ships), else as content (configs, manifests, attestations, legacy json).
  const jobs: LayerJob[] = [];
  const contentMembers: string[] = [];
  for (const m of source.members.values()) {
    if (m.type !== 'file') continue;
    const planned = plan.layerMembers.get(m.name);
    const digest = planned?.digest ?? digestOfMember(m);
    if (planned) {
      jobs.push({ id: m.name, blob: m.blob, where: m.name, ...(planned.mediaType ? { mediaType: planned.mediaType } : {}), ...(digest ? { digest } : {}) });
      continue;
    }
    const head = readMember({ ...m, blob: { ...m.blob, size: Math.min(m.blob.size, 1024) } });
    const kind = sniff(head);
    if (kind === 'gzip' || kind === 'zstd' || (kind === 'none' && m.blob.size >= 1024)) jobs.push({ id: m.name, blob: m.blob, where: m.name, ...(digest ? { digest } : {}) });
    else contentMembers.push(m.name);
  }

  const configMembers = new Set(plan.images.map((i) => i.configMember).filter((x): x is string => Boolean(x)));
  const structured = new Map<string, Set<string>>();
  for (const image of plan.images) {
    const found = configFindings(image, matcher);
    findings.push(...found);
    if (image.configMember) structured.set(image.configMember, new Set([...(structured.get(image.configMember) ?? []), ...found.map((f) => f.fingerprint)]));
  }
  const layerRun = runLayerJobs(jobs, spec, limits, parallel);
  for (const name of contentMembers) {
    const m = source.members.get(name)!;
    const { hits, digest, error } = await scanContent(m.blob, matcher, configMembers.has(name) || name.endsWith('.json') || /^blobs\//.test(name));
    const expected = digestOfMember(m);
    if (error) unscanned.push({ what: name, reason: error });
    if (expected && digest !== expected) unscanned.push({ what: name, reason: `blob digest is ${digest}, expected ${expected}` });
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
  let bytes = 0;
  for (const r of results.values()) {
    files += r.files;
    bytes += r.bytes;
    for (const u of r.unreadable) unscanned.push({ what: `${r.id}: /${u.path}`, reason: u.reason });
    if (r.error) unscanned.push({ what: `layer ${r.digest && r.compression !== 'unknown' ? r.digest : r.id}`, reason: r.error });
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
      if (l.diffId && !r.error && r.diffId !== l.diffId) unscanned.push({ what: `${image.name} layer ${l.index}`, reason: `uncompressed digest is ${r.diffId}, expected diff_id ${l.diffId}` });
      for (const h of r.hits) {
        const visible = fs.layerOf(h.path) === i;
        if (visible) caPaths.add(`/${h.path}`);
        findings.push({
          ...hitFields(h),
          image: image.name,
          layer: { index: l.index, digest: r.digest, ...(l.instruction ? { instruction: l.instruction } : {}) },
          path: `/${h.path}`,
          visibility: visible ? 'final' : 'lower-layer',
          message:
            `${describeCa(h)} is in layer ${l.index} at /${h.path} (${h.kind}), ` +
            (visible ? 'visible in the final file system' : 'hidden or deleted by a later layer but still shipped in this one') +
            `${l.instruction ? `; made by: ${l.instruction.slice(0, 200)}` : ''}. ${LEAK_FIX}`,
        });
      }
    });
    const cwd = image.config.config?.WorkingDir || '/';
    findings.push(...pointerFindings(envPointers(image.config.config?.Env ?? []), fs, caPaths, cwd, image.name));
    image.layers.forEach((l, i) => {
      for (const c of layerResults[i]?.captured ?? []) {
        if (fs.layerOf(c.path) === i) findings.push(...pointerFindings(filePointers(c.path, c.text), fs, caPaths, cwd, image.name, l.index));
      }
    });
  }
  for (const [id, r] of results) {
    if (inImage.has(id)) continue;
    for (const h of r.hits) {
      findings.push({ ...hitFields(h), path: `${id}: /${h.path}`, visibility: 'n/a', message: `${describeCa(h)} is in /${h.path} of blob ${id}, which no manifest references but which ships with the image (${h.kind}). ${LEAK_FIX}` });
    }
  }
  return { input, findings: dedupeFindings(findings), unscanned, stats: { images: plan.images.length, layers: jobs.length, files, bytes, ms: Date.now() - started } };
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

function pointerFindings(pointers: Pointer[], fs: FinalFs, caPaths: ReadonlySet<string>, cwd: string, image: string | undefined, layer?: number): Finding[] {
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
    out.push({ kind: verdict.kind, fingerprint: '', ...(image ? { image } : {}), path: p.where, visibility: p.where.startsWith('config.') ? 'config' : 'final', message });
  }
  return out;
}

/** Env, Labels, Entrypoint, Cmd and every history entry (ARG values appear there as `RUN |N K=v …`). */
function configFindings(image: PlannedImage, matcher: Matcher): Finding[] {
  const c = image.config;
  const fields: [string, string][] = [];
  (c.config?.Env ?? []).forEach((v, i) => fields.push([`config.Env[${i}]`, v]));
  for (const [k, v] of Object.entries(c.config?.Labels ?? {})) fields.push([`config.Labels[${JSON.stringify(k)}]`, `${k}=${v}`]);
  for (const key of ['Entrypoint', 'Cmd'] as const) {
    const v = c.config?.[key];
    if (v) fields.push([`config.${key}`, Array.isArray(v) ? v.join(' ') : v]);
  }
  (c.history ?? []).forEach((h, i) => h.created_by && fields.push([`history[${i}].created_by`, h.created_by]));
  const out: Finding[] = [];
  for (const [where, text] of fields) {
    for (const h of scanText(matcher, text)) {
      out.push({ ...hitFields(h), image: image.name, path: where, visibility: 'config', message: `${describeCa(h)} is in the image config at ${where} (${h.kind}); anyone who pulls the image can read it. ${LEAK_FIX}` });
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
      if (decoded[0] === 0x7b || decoded[0] === 0x5b) inner.push(...scanJsonStrings(matcher, decoded.toString('utf8'), depth + 1));
      // A PEM line is itself base64: what decodes from it was already found as the PEM.
      for (const h of inner) if (!found.has(h.fingerprint)) (found.add(h.fingerprint), hits.push(h));
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
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (v.length >= 40) hits.push(...scanText(matcher, v, depth));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) {
      if (k.length >= 40) hits.push(...scanText(matcher, k, depth));
      walk(x);
    }
  };
  walk(doc);
  return hits;
}

/** A non-layer member: streamed through the matcher and hashed; JSON is also walked string by string. */
async function scanContent(blob: BlobRef, matcher: Matcher, maybeJson: boolean): Promise<{ hits: Hit[]; digest: string; error?: string }> {
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
    return { hits: scanner.end(), digest: `sha256:${hash.digest('hex')}`, error: error instanceof Error ? error.message : String(error) };
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
