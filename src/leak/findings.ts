/**
 * Hits become findings: the CA's description, one message per place with the one fix, duplicates merged, the
 * settings that point tools at it judged against the final file system. Used by check.ts, which composes the rooms.
 */
import { colonFingerprint } from '../ca/certificate.js';
import { LEAK_FIX } from '../ca-pointers/fix.js';
import { envPointers, judgePointer, keptPointers, type Pointer } from '../ca-pointers/pointers.js';
import { emptyLayerIndex, FinalFs } from './scanning/final-fs.js';
import { NESTED } from './scanning/nested/scan.js';
import type { Matcher } from './scanning/matcher.js';
import { scanText } from './scanning/text.js';
import type { PlannedImage } from './sources/image.js';
import type { Finding, Hit, LayerResult, Report, Unscanned } from './types.js';
import { present } from '../lang/present.js';
export function hitFields(h: Hit): Pick<Finding, 'kind' | 'fingerprint' | 'subject'> {
  return { kind: h.kind, fingerprint: h.fingerprint, ...present({ subject: h.subject }) };
}

export function describeCa(h: { kind: string; fingerprint: string; subject?: string }): string {
  // An intermediate the CA signed is an anchor for Java, Go and Node as much as the CA itself.
  const what = h.kind.endsWith('-intermediate') ? 'An intermediate CA signed by the org CA,' : 'The CA';
  return `${what}${h.subject ? ` '${h.subject}'` : ''} (SHA-256 ${colonFingerprint(h.fingerprint)})`;
}

/**
 * A registry layer that could not be read to its end, or whose bytes do not hash to its digest, fails the whole
 * check with one line naming the blob: what was scanned is not what was pushed.
 */
export function registryLayerFailure(
  blob: { readonly digest: string; readonly label: string },
  r: LayerResult,
): string | undefined {
  if (!r.error) return undefined;
  // The stream's own one line (a break, a short body, an HTTP status), possibly wrapped by the scan's wording.
  const own = r.error.indexOf(`blob ${blob.digest} of `);
  if (own >= 0) return own > 0 ? r.error.slice(own, -1) : r.error; // friendly() wraps as `… (<message>)`
  const what = `blob ${blob.digest} of ${blob.label}`;
  if (r.digest !== blob.digest && /^(blob digest is |the blob is corrupt: its digest is )/.test(r.error))
    return `${what}: the registry served content whose digest is ${r.digest}`;
  return `${what}: ${r.error}`;
}

/** A layer shared by several images (platforms) is listed once per layer and path. */
export function dedupeNotLookedInside(list: NotLookedInsideAt[]): NotLookedInsideAt[] {
  const seen = new Set<string>();
  return list.filter((n) => {
    const key = `${n.layer}|${n.path}|${n.reason}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function dedupeFindings(findings: Finding[]): Finding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.image}|${f.layer?.index}|${f.path}|${f.kind}|${f.fingerprint}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function pointerFindings(
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
      ...present({ image }),
      path: p.where,
      visibility: p.where.startsWith('config.') ? 'config' : 'final',
      message,
    });
  }
  return out;
}

/** Env, Labels, Entrypoint, Cmd and every history entry (ARG values appear there as `RUN |N K=v …`). */
export function configFindings(image: PlannedImage, matcher: Matcher): Finding[] {
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

const INSIDE_ARCHIVE = ' (inside a file that holds other files)';

/** Hits in a blob's own bytes that no decoder reads (zstd skippable frames), named by `where` the blob is. */
function blobFindings(where: string, r: LayerResult, at: Partial<Pick<Finding, 'image' | 'layer'>>): Finding[] {
  return r.blobHits.map((h) => ({
    ...hitFields(h),
    ...at,
    path: `${where}: ${h.path}`,
    visibility: 'n/a',
    message: `${describeCa(h)} is in ${where}, in a ${h.path} (${h.kind}): decompressors skip such frames, but their bytes ship with the image. ${LEAK_FIX}`,
  }));
}

/** What a scan of an image's parts found besides findings: places not read, and files not looked inside. */
export interface Gaps {
  readonly unscanned: Unscanned[];
  readonly notLookedInside: NotLookedInsideAt[];
}

/** A file not looked inside, with the image and layer that hold it where there is one. */
type NotLookedInsideAt = Report['notLookedInside'][number];

/** A root file system (a directory, or the tar of one): one layer, all of it the final file system. */
export function rootfsFindings(result: LayerResult, where: string): Gaps & { findings: Finding[] } {
  const fs = FinalFs.build([result.index]);
  const findings: Finding[] = result.hits.map((h) => ({
    ...hitFields(h),
    path: `/${h.path}`,
    visibility: 'final',
    message: `${describeCa(h)} is in the file system at /${h.path}${h.path.includes(NESTED) ? INSIDE_ARCHIVE : ''} (${h.kind}). ${LEAK_FIX}`,
  }));
  const caPaths = new Set(result.hits.filter((h) => !h.path.includes(NESTED)).map((h) => `/${h.path}`));
  for (const c of result.captured) findings.push(...pointerFindings([...c.pointers], fs, caPaths, '/', undefined));
  findings.push(...blobFindings(where, result, {}));
  const unscanned: Unscanned[] = result.unreadable.map((u) => ({ what: `/${u.path}`, reason: u.reason }));
  if (result.error) unscanned.push({ what: where, reason: result.error });
  return { findings, unscanned, notLookedInside: result.notLookedInside.map((n) => ({ ...n, path: `/${n.path}` })) };
}

/** Hits in a member read as text (a config, a manifest, an attestation, legacy json) of an image archive. */
export function contentFindings(name: string, hits: readonly Hit[], attestation: string | undefined): Finding[] {
  return hits.map((h) => ({
    ...hitFields(h),
    ...present({ image: attestation }),
    path: name,
    visibility: 'n/a',
    message: attestation
      ? `${describeCa(h)} is in the ${attestation} at ${name} (${h.kind}): BuildKit records build arguments and the Dockerfile there, and the attestation is pushed with the image. ${LEAK_FIX}`
      : `${describeCa(h)} is in ${name} of the image archive (${h.kind}). ${LEAK_FIX}`,
  }));
}

/**
 * An image as its layers are judged: its plan without the config, whose fields were judged already (configFindings),
 * but for what the final file system is asked about: the working directory and the CA settings of its Env, kept
 * without certificate text. Plain data that may be written (a shard report) without the config's secrets.
 */
export interface ComposableImage extends Omit<PlannedImage, 'config'> {
  readonly workingDir: string;
  readonly envPointers: readonly Pointer[];
}

export function composableImage({ config, ...image }: PlannedImage): ComposableImage {
  return {
    ...image,
    workingDir: config.config?.WorkingDir ?? '',
    envPointers: keptPointers(envPointers(config.config?.Env ?? [])),
  };
}

/**
 * One image's layers, judged against its final file system: each hit visible there or hidden by a later layer (yet
 * shipped), the diff_ids the config promised, and the settings in its config and files that point tools at a CA.
 */
export function imageFindings(
  image: ComposableImage,
  layerResults: readonly (LayerResult | undefined)[],
): Gaps & { findings: Finding[] } {
  const findings: Finding[] = [];
  const unscanned: Unscanned[] = [];
  const notLookedInside: NotLookedInsideAt[] = [];
  const fs = FinalFs.build(layerResults.map((r) => r?.index ?? emptyLayerIndex()));
  const caPaths = new Set<string>();
  image.layers.forEach((l, i) => {
    const r = layerResults[i];
    if (!r) return;
    if (l.diffId && !r.error && r.diffId && r.diffId !== l.diffId)
      unscanned.push({
        what: `${image.name} layer ${l.index}`,
        reason: `uncompressed digest is ${r.diffId}, expected diff_id ${l.diffId}`,
      });
    for (const n of r.notLookedInside)
      notLookedInside.push({ path: `/${n.path}`, reason: n.reason, image: image.name, layer: l.index });
    const layer = { index: l.index, digest: r.digest, ...present({ instruction: l.instruction }) };
    findings.push(...blobFindings(`the blob of layer ${l.index}`, r, { image: image.name, layer }));
    for (const h of r.hits) {
      // Inside an archive, the archive's own path decides visibility: `/app/app.jar!/x.pem` ships with /app/app.jar.
      const cut = h.path.indexOf(NESTED);
      const nested = cut !== -1;
      const visible = fs.layerOf(nested ? h.path.slice(0, cut) : h.path) === i;
      if (visible && !nested) caPaths.add(`/${h.path}`);
      findings.push({
        ...hitFields(h),
        image: image.name,
        layer,
        path: `/${h.path}`,
        visibility: visible ? 'final' : 'lower-layer',
        message:
          `${describeCa(h)} is in layer ${l.index} at /${h.path}${nested ? INSIDE_ARCHIVE : ''} (${h.kind}), ` +
          (visible
            ? 'visible in the final file system'
            : 'hidden or deleted by a later layer but still shipped in this one') +
          `${l.instruction ? `; made by: ${l.instruction.slice(0, 200)}` : ''}. ${LEAK_FIX}`,
      });
    }
  });
  const cwd = image.workingDir || '/';
  findings.push(...pointerFindings([...image.envPointers], fs, caPaths, cwd, image.name));
  image.layers.forEach((l, i) => {
    for (const c of layerResults[i]?.captured ?? []) {
      if (fs.layerOf(c.path) === i)
        findings.push(...pointerFindings([...c.pointers], fs, caPaths, cwd, image.name, l.index));
    }
  });
  return { findings, unscanned, notLookedInside };
}

/** A blob no manifest references still ships with the image: what is in it is a leak all the same. */
export function strayBlobFindings(id: string, r: LayerResult): Gaps & { findings: Finding[] } {
  return {
    findings: [
      ...r.hits.map((h): Finding => ({
        ...hitFields(h),
        path: `${id}: /${h.path}`,
        visibility: 'n/a',
        message: `${describeCa(h)} is in /${h.path} of blob ${id}, which no manifest references but which ships with the image (${h.kind}). ${LEAK_FIX}`,
      })),
      ...blobFindings(`blob ${id}`, r, {}),
    ],
    unscanned: [],
    notLookedInside: r.notLookedInside.map((n) => ({ path: `${id}: /${n.path}`, reason: n.reason })),
  };
}
