import { createPrivateKey } from 'node:crypto';
import { certificateFromDer, type Certificate } from './certificate.js';
import { derBytes, derElement, looksLikePkcs12, pkcs7Certificates } from './der.js';

/**
 * A problem with the CA input. Its message is safe to log: it never holds any part of the input,
 * because the input may be a secret (or, pasted by mistake, a private key).
 */
export class CaInputError extends Error {
  override readonly name = 'CaInputError';
}

const EXPECTED =
  'expected a PEM certificate (-----BEGIN CERTIFICATE-----), DER bytes, the base64 of either on one line, or a PKCS#7 (.p7b) bundle';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
// Any PEM label naming a private key: PRIVATE KEY, ENCRYPTED PRIVATE KEY, RSA/EC/DSA/OPENSSH PRIVATE KEY, PGP PRIVATE KEY BLOCK.
const PRIVATE_KEY_LABEL = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----/;
const CERT_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE']);
const PKCS7_LABELS = new Set(['PKCS7', 'CMS', 'PKCS #7 SIGNED DATA']);

/** Where the input came from, for messages: the input or flag as the caller names it (`ca`, `ca-file '/x'`, `--ca '/x'`). */
export type CaSource = string;

/**
 * Turns whatever people actually hold as "the CA" into certificates: PEM (any line ends, many blocks),
 * DER, base64 of DER or of a whole PEM, PKCS#7. Rejects private keys before looking at anything else.
 */
export function parseCertificates(input: Buffer | string, source: CaSource = 'ca'): Certificate[] {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  const certs = parseBytes(bytes, source, 0);
  return dedupe(certs);
}

function parseBytes(bytes: Buffer, source: CaSource, depth: number): Certificate[] {
  const text = bytes.toString('latin1');
  if (text.trim() === '') throw new CaInputError(`The ${source} input is empty: ${EXPECTED}.`);
  rejectPrivateKeyText(text, source);

  if (text.includes('-----BEGIN ')) return parsePem(text, source);

  const first = bytes[0];
  if (first === 0x30) return parseDer(bytes, source);

  // Secrets are often stored as base64 on one line (of the DER, or of a whole PEM file).
  const compact = text.replace(/\s+/g, '');
  if (depth === 0 && /^[A-Za-z0-9+/_-]+={0,2}$/.test(compact) && compact.length >= 16) {
    const decoded = Buffer.from(compact.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (decoded.length > 0) return parseBytes(decoded, source, depth + 1);
  }
  throw new CaInputError(`The ${source} input is not a certificate: ${EXPECTED}.`);
}

function rejectPrivateKeyText(text: string, source: CaSource): void {
  if (PRIVATE_KEY_LABEL.test(text)) {
    throw new CaInputError(
      `The ${source} input contains a private key; it was not used and is not shown. ` +
        'Provide only the CA certificate, and rotate that key if it was stored where others can read it.',
    );
  }
}

function parsePem(text: string, source: CaSource): Certificate[] {
  const certs: Certificate[] = [];
  const labels: string[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const label = match[1] ?? '';
    labels.push(label);
    const der = Buffer.from((match[2] ?? '').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    if (CERT_LABELS.has(label)) {
      certs.push(certificateFromBlock(der, label, source));
    } else if (PKCS7_LABELS.has(label)) {
      certs.push(...parsePkcs7(der, source));
    }
  }
  if (certs.length === 0) {
    const seen = labels.length
      ? `found only ${[...new Set(labels)].map((l) => `'${l}'`).join(', ')} blocks`
      : 'no complete PEM block';
    throw new CaInputError(`The ${source} input holds no certificate (${seen}): ${EXPECTED}.`);
  }
  return certs;
}

function certificateFromBlock(der: Buffer, label: string, source: CaSource): Certificate {
  try {
    // OpenSSL's TRUSTED CERTIFICATE is the certificate DER followed by trust settings: keep the first element.
    return certificateFromDer(label === 'TRUSTED CERTIFICATE' ? firstDerElement(der) : der);
  } catch {
    throw new CaInputError(
      `The ${source} input has a '${label}' block that is not a valid X.509 certificate: ${EXPECTED}.`,
    );
  }
}

function parseDer(bytes: Buffer, source: CaSource): Certificate[] {
  try {
    return [certificateFromDer(bytes)];
  } catch {
    // not a single certificate: try the other DER things people export
  }
  if (isDerPrivateKey(bytes)) {
    throw new CaInputError(
      `The ${source} input is a private key (DER); it was not used and is not shown. ` +
        'Provide only the CA certificate, and rotate that key if it was stored where others can read it.',
    );
  }
  const pkcs7 = tryPkcs7(bytes);
  if (pkcs7) return pkcs7;
  if (looksLikePkcs12(bytes)) {
    throw new CaInputError(
      `The ${source} input is a PKCS#12 (.p12/.pfx) file, which can hold private keys: ` +
        'export the CA certificate alone (e.g. openssl pkcs12 -in file.p12 -cacerts -nokeys).',
    );
  }
  throw new CaInputError(`The ${source} input is DER data but not a certificate: ${EXPECTED}.`);
}

function isDerPrivateKey(der: Buffer): boolean {
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      createPrivateKey({ key: der, format: 'der', type });
      return true;
    } catch {
      // not this encoding
    }
  }
  // An encrypted PKCS#8 key needs a passphrase to load: node says so instead of "unsupported".
  try {
    createPrivateKey({ key: der, format: 'der', type: 'pkcs8', passphrase: '' });
  } catch (error) {
    if (error instanceof Error && /passphrase|decrypt|bad decrypt/i.test(error.message)) return true;
  }
  return false;
}

function parsePkcs7(der: Buffer, source: CaSource): Certificate[] {
  const certs = tryPkcs7(der);
  if (!certs) throw new CaInputError(`The ${source} input has a PKCS#7 block that could not be read: ${EXPECTED}.`);
  return certs;
}

function tryPkcs7(der: Buffer): Certificate[] | undefined {
  const ders = pkcs7Certificates(der);
  if (!ders?.length) return undefined;
  try {
    return ders.map((cert) => certificateFromDer(cert));
  } catch {
    return undefined;
  }
}

/** The first complete DER element of `der` (tag + length + content). */
function firstDerElement(der: Buffer): Buffer {
  return derBytes(der, derElement(der));
}

function dedupe(certs: Certificate[]): Certificate[] {
  const seen = new Set<string>();
  return certs.filter((cert) => {
    if (seen.has(cert.fingerprint)) return false;
    seen.add(cert.fingerprint);
    return true;
  });
}
