import { readCaCertificates } from '../../ca/load.js';
import { CaInputError } from '../../ca/parse.js';
import { parseFingerprint } from '../../ca/validate.js';
import type { TargetSpec } from '../types.js';
import { defined } from '../../lang/present.js';

/**
 * What to look for, from the CA (text or file, the main action's parser) and/or SHA-256 fingerprints. Unlike the
 * main action, an expired or non-CA certificate is still searched for: the check is about the bytes, not trust.
 */
export function loadTargets(
  input: { ca?: string; caFile?: string; fingerprints?: readonly string[] },
  names = { ca: 'ca', caFile: 'ca-file', fingerprint: 'fingerprint' },
): TargetSpec {
  const fingerprints = (input.fingerprints ?? [])
    .flatMap((f) => f.split(/[\s,]+/))
    .filter(Boolean)
    .map((f) => parseFingerprint(f, names.fingerprint));
  const hasCa = Boolean(input.ca?.trim() || input.caFile?.trim());
  const certs = hasCa
    ? readCaCertificates(defined({ ca: input.ca, caFile: input.caFile }), names).map((c) => ({ der: c.der }))
    : [];
  if (certs.length === 0 && fingerprints.length === 0) {
    throw new CaInputError(
      `Nothing to look for: set ${names.ca} or ${names.caFile} (the CA), or ${names.fingerprint} (its SHA-256, several allowed).`,
    );
  }
  return { certs, fingerprints };
}
