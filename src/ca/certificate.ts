import { createHash, X509Certificate } from 'node:crypto';

/** One parsed certificate with the facts every part of org-ca asks about. */
export interface Certificate {
  readonly der: Buffer;
  /** SHA-256 of the DER, lower-case hex without colons. */
  readonly fingerprint: string;
  /** SHA-256 of the SubjectPublicKeyInfo DER: the same key re-issued or cross-signed has the same value. */
  readonly spkiSha256: string;
  readonly subject: string;
  readonly issuer: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCa: boolean;
  readonly selfIssued: boolean;
  readonly x509: X509Certificate;
}

export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Parses DER bytes; throws node's own error for anything that is not one X.509 certificate. */
export function certificateFromDer(der: Buffer): Certificate {
  const x509 = new X509Certificate(der);
  const raw = Buffer.from(x509.raw);
  const spki = x509.publicKey.export({ type: 'spki', format: 'der' });
  return {
    der: raw,
    fingerprint: sha256Hex(raw),
    spkiSha256: sha256Hex(spki),
    subject: oneLineName(x509.subject),
    issuer: oneLineName(x509.issuer),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
    isCa: x509.ca,
    selfIssued: x509.subject === x509.issuer,
    x509,
  };
}

/** node prints names one attribute per line; a log line wants them joined. */
function oneLineName(name: string): string {
  return name
    .split('\n')
    .map((part) => part.trim())
    .filter(Boolean)
    .join(', ');
}

export function toPem(der: Buffer): string {
  const body = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

/** aa:bb:… form, the way browsers and `openssl x509 -fingerprint` show it. */
export function colonFingerprint(hex: string): string {
  return hex.toUpperCase().replace(/(..)(?!$)/g, '$1:');
}

/** Whether `issuer` signed `cert`: checked by signature, never by comparing names alone. */
export function isIssuedBy(cert: Certificate, issuer: Certificate): boolean {
  try {
    return cert.x509.checkIssued(issuer.x509) && cert.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
}
