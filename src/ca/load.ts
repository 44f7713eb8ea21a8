import { readFileSync } from 'node:fs';
import type { Certificate } from './certificate.js';
import { CaInputError, parseCertificates } from './parse.js';
import { validateCa, type ValidatedCa } from './validate.js';
import { present } from '../lang/present.js';

export interface CaSpec {
  /** Certificate text (PEM, base64…), usually from a secret. */
  readonly ca?: string;
  /** A path to a certificate file (PEM, DER, .p7b). */
  readonly caFile?: string;
  /** Optional SHA-256 pin. */
  readonly fingerprint?: string;
}

export function hasCa(spec: CaSpec): boolean {
  return Boolean(spec.ca?.trim() || spec.caFile?.trim());
}

type InputNames = { readonly ca: string; readonly caFile: string; readonly fingerprint?: string };

/** The error for a step or command that must act but was given no CA. */
export function noCaGiven(names: InputNames = { ca: 'ca', caFile: 'ca-file' }): CaInputError {
  return new CaInputError(
    `No CA given: set ${names.ca} (the certificate text, e.g. from a secret) or ${names.caFile} (a path).`,
  );
}

/**
 * Reads and parses the certificates from whichever input was given, without judging them (the leak check searches for
 * an expired or non-CA certificate too). Messages never contain the input itself.
 */
export function readCaCertificates(spec: CaSpec, names: InputNames = { ca: 'ca', caFile: 'ca-file' }): Certificate[] {
  const text = spec.ca?.trim() ? spec.ca : undefined;
  const file = spec.caFile?.trim() || undefined;
  if (text && file) throw new CaInputError(`Both ${names.ca} and ${names.caFile} are set: give the CA one way only.`);
  if (!text && !file) throw noCaGiven(names);
  if (!file) return parseCertificates(text!, names.ca);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CaInputError(
      `${names.caFile} '${file}' could not be read (${code}): expected a readable certificate file.`,
    );
  }
  return parseCertificates(bytes, `${names.caFile} '${file}'`);
}

/** Reads, parses and validates the CA: what a TLS client may anchor on. */
export function loadCa(spec: CaSpec, now: Date, names: InputNames = { ca: 'ca', caFile: 'ca-file' }): ValidatedCa {
  const certs = readCaCertificates(spec, names);
  return validateCa(certs, {
    now,
    ...present({ pin: spec.fingerprint?.trim() ? spec.fingerprint : undefined, pinName: names.fingerprint }),
  });
}

/**
 * The one place the action loads its CA input: judged whenever one is given, whatever the step then decides, so a
 * private key or garbage in the secret fails on every runner kind; undefined when none was given.
 */
export function loadGivenCa(
  spec: CaSpec,
  now: Date,
  names: InputNames = { ca: 'ca', caFile: 'ca-file' },
): ValidatedCa | undefined {
  return hasCa(spec) ? loadCa(spec, now, names) : undefined;
}
