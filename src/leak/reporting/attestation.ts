/**
 * The leak check as a verifiable record: an in-toto Statement v1 (github.com/in-toto/attestation, spec/v1) whose
 * subjects are the manifests checked, by digest, and whose predicate says what was looked for (fingerprints, never
 * the CA), what was found, what could not be read or looked inside, and under which limits. A deploy gate verifies
 * it once it is signed and attached (actions/attest, cosign attest). Pure: report in, statement out.
 */
import { searchedFingerprints, type Report, type ScanLimits, type TargetSpec, type Verdict } from '../types.js';
import { verdictOf } from './report.js';
import { defined } from '../../lang/present.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
/** Versioned: a change that a consumer could misread gets a new version, never a silent change of meaning. */
export const LEAK_CHECK_PREDICATE_TYPE = 'https://github.com/org-ca/org-ca/blob/v1/docs/attestation.md#leak-check-v1';

export interface LeakCheckPredicate {
  readonly scanner: { readonly name: 'org-ca'; readonly version: string };
  /** A leak includes a setting that points a tool at the CA; unreadable is never counted clean. */
  readonly verdict: Verdict;
  /** With strict, a file not looked inside fails the check as well. */
  readonly strict: boolean;
  /** SHA-256 fingerprints of the certificates searched for (lower-case hex). */
  readonly searchedFor: readonly string[];
  readonly counts: {
    readonly images: number;
    readonly layers: number;
    readonly files: number;
    readonly nestedFiles: number;
    readonly bytes: number;
    readonly findings: number;
  };
  readonly findings: readonly {
    readonly image?: string;
    readonly path: string;
    readonly kind: string;
    readonly fingerprint: string;
  }[];
  readonly notScanned: Report['unscanned'];
  readonly notLookedInside: readonly { readonly path: string; readonly reason: string }[];
  readonly limits: ScanLimits;
  /** When the check ran (RFC 3339, UTC). */
  readonly checkedOn: string;
}

export interface Statement {
  readonly _type: typeof STATEMENT_TYPE;
  readonly subject: readonly { readonly name: string; readonly digest: Readonly<Record<string, string>> }[];
  readonly predicateType: typeof LEAK_CHECK_PREDICATE_TYPE;
  readonly predicate: LeakCheckPredicate;
}

export class AttestationError extends Error {
  override readonly name = 'AttestationError';
}

export function leakCheckStatement(
  report: Report,
  context: { spec: TargetSpec; limits: ScanLimits; strict: boolean; version: string; now: Date },
): Statement {
  const subjects = report.subjects ?? [];
  if (report.error !== undefined || subjects.length === 0)
    throw new AttestationError(
      report.error !== undefined
        ? 'no attestation: the image could not be checked'
        : `no attestation: '${report.input}' has no manifest digest to name (a root file system is not an image)`,
    );
  const searchedFor = searchedFingerprints(context.spec);
  const verdict = verdictOf(report, context.strict);
  return {
    _type: STATEMENT_TYPE,
    subject: subjects.map((s) => {
      const at = s.digest.indexOf(':');
      return { name: s.name, digest: { [s.digest.slice(0, at)]: s.digest.slice(at + 1) } };
    }),
    predicateType: LEAK_CHECK_PREDICATE_TYPE,
    predicate: {
      scanner: { name: 'org-ca', version: context.version },
      verdict,
      strict: context.strict,
      searchedFor,
      counts: {
        images: report.stats.images,
        layers: report.stats.layers,
        files: report.stats.files,
        nestedFiles: report.stats.nestedFiles,
        bytes: report.stats.bytes,
        findings: report.findings.length,
      },
      findings: report.findings.map((f) => ({
        ...defined({ image: f.image }),
        path: f.path,
        kind: f.kind,
        fingerprint: f.fingerprint,
      })),
      notScanned: report.unscanned,
      notLookedInside: report.notLookedInside.map((n) => ({ path: n.path, reason: n.reason })),
      limits: context.limits,
      checkedOn: context.now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
  };
}
