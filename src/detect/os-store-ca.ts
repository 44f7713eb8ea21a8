/**
 * The org CA as the OS store already holds it: found by probing through the job's proxy (the anchor of every
 * `os-trusted` verdict, as `detect` reports it), or by fingerprint among the OS store's certificates without any
 * network. For hosts whose IT put the CA in the OS store: `org-ca ca export`, and `env`/`exec` without `--ca`.
 */
import { colonFingerprint, type Certificate } from '../ca/certificate.js';
import { parseFingerprint } from '../ca/validate.js';
import { detect, type ProbeVerdict } from './detect.js';
import { publicRoots, systemRoots } from './trust.js';
import { routeText } from './probe-report.js';

export interface OsStoreCa {
  /** Distinct anchors, in the order of the URLs that found them. */
  readonly certs: readonly Certificate[];
  /** One line per probe, for the user's stderr. */
  readonly seen: readonly string[];
}

export class OsStoreCaError extends Error {
  override readonly name = 'OsStoreCaError';
}

/** Pure: the distinct OS-store anchors of `os-trusted` verdicts; an error saying what each probe saw when there is none. */
export function anchorsOf(verdicts: readonly ProbeVerdict[]): OsStoreCa {
  const certs: Certificate[] = [];
  const seen: string[] = [];
  for (const v of verdicts) {
    const anchor = v.verdict === 'os-trusted' ? v.classification?.anchor : undefined;
    seen.push(
      `${v.url} ${routeText(v)}: ${v.verdict}${anchor ? ` (signed by ${anchor.subject}, SHA-256 ${colonFingerprint(anchor.fingerprint)})` : v.failure ? ` (${v.failure.kind})` : ''}`,
    );
    if (anchor && !certs.some((c) => c.fingerprint === anchor.fingerprint)) certs.push(anchor);
  }
  if (certs.length === 0) {
    const why = verdicts.some((v) => v.verdict === 'unknown')
      ? 'the CA that re-signs TLS here is not in the OS store'
      : verdicts.every((v) => v.verdict === 'direct')
        ? 'TLS is not inspected on this path'
        : 'no probe reached a server whose chain anchors in the OS store';
    throw new OsStoreCaError(`No org CA found in the OS store: ${why} (${seen.join('; ')}).`);
  }
  return { certs, seen };
}

/** Pure: the OS store's certificate with this fingerprint (hex, colons and case ignored; a malformed one is an input error). */
export function byFingerprint(store: readonly Certificate[], fingerprint: string): Certificate {
  const want = parseFingerprint(fingerprint, '--fingerprint');
  const found = store.find((c) => c.fingerprint === want);
  if (!found)
    throw new OsStoreCaError(
      `No certificate with SHA-256 ${colonFingerprint(want)} is in the OS store (${store.length} certificates read).`,
    );
  return found;
}

export interface FindOptions {
  readonly urls: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly timeoutMs: number;
  readonly publicRootsFile?: string;
  readonly now: Date;
}

/** Probes the URLs the way the job's tools would and returns what the OS store trusts that re-signs them. */
export async function findOrgCaInOsStore(options: FindOptions): Promise<OsStoreCa> {
  const verdicts = await detect({
    urls: options.urls,
    env: options.env,
    timeoutMs: options.timeoutMs,
    trust: { org: [], public: publicRoots(options.publicRootsFile, '--public-roots'), system: systemRoots },
    now: options.now,
  });
  return anchorsOf(verdicts);
}

export { systemRoots };
