import { readFileSync } from 'node:fs';
import { CaInputError, parseCertificates } from '../ca/parse.js';
import { parseFingerprint } from '../ca/validate.js';
import type { TargetSpec } from './types.js';

/**
 * What to look for, from the CA (text or file, the main action's parser) and/or SHA-256 fingerprints. Unlike the
 * main action, an expired or non-CA certificate is still searched for: the check is about the bytes, not trust.
 */
export function loadTargets(input: { ca?: string; caFile?: string; fingerprints?: readonly string[] }, names = { ca: 'ca', caFile: 'ca-file', fingerprint: 'fingerprint' }): TargetSpec {
  const text = input.ca?.trim() ? input.ca : undefined;
  const file = input.caFile?.trim() || undefined;
  if (text && file) throw new CaInputError(`Both ${names.ca} and ${names.caFile} are set: give the CA one way only.`);
  const fingerprints = (input.fingerprints ?? []).flatMap((f) => f.split(/[\s,]+/)).filter(Boolean).map((f) => parseFingerprint(f, names.fingerprint));
  let certs: { der: Buffer }[] = [];
  if (file) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (error) {
      throw new CaInputError(`${names.caFile} '${file}' could not be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}): expected a readable certificate file.`);
    }
    certs = parseCertificates(bytes, `${names.caFile} '${file}'`).map((c) => ({ der: c.der }));
  } else if (text) {
    certs = parseCertificates(text, names.ca).map((c) => ({ der: c.der }));
  }
  if (certs.length === 0 && fingerprints.length === 0) {
    throw new CaInputError(`Nothing to look for: set ${names.ca} or ${names.caFile} (the CA), or ${names.fingerprint} (its SHA-256, several allowed).`);
  }
  return { certs, fingerprints };
}
