/**
 * Hits become findings: the CA's description, one message per place with the one fix, duplicates merged, the
 * settings that point tools at it judged against the final file system. Used by check.ts, which composes the rooms.
 */
import { colonFingerprint } from '../ca/certificate.js';
import { LEAK_FIX } from '../ca-pointers/fix.js';
import { judgePointer, type Pointer } from '../ca-pointers/pointers.js';
import type { FinalFs } from './scanning/final-fs.js';
import type { Matcher } from './scanning/matcher.js';
import { scanText } from './scanning/text.js';
import type { PlannedImage } from './sources/image.js';
import type { Finding, Hit, LayerJob, LayerResult, Report } from './types.js';
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
export function registryLayerFailure(job: LayerJob, r: LayerResult): string | undefined {
  if (job.blob.kind !== 'registry' || !r.error) return undefined;
  // The stream's own one line (a break, a short body, an HTTP status), possibly wrapped by the scan's wording.
  const own = r.error.indexOf(`blob ${job.blob.digest} of `);
  if (own >= 0) return own > 0 ? r.error.slice(own, -1) : r.error; // friendly() wraps as `… (<message>)`
  const what = `blob ${job.blob.digest} of ${job.blob.label}`;
  if (r.digest !== job.blob.digest && /^(blob digest is |the blob is corrupt: its digest is )/.test(r.error))
    return `${what}: the registry served content whose digest is ${r.digest}`;
  return `${what}: ${r.error}`;
}

/** A layer shared by several images (platforms) is listed once per layer and path. */
export function dedupeNotLookedInside(list: Report['notLookedInside'][number][]): Report['notLookedInside'][number][] {
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
