import { sha256Hex, toPem, type Certificate } from './certificate.js';

/** Certificates from one place the runner already trusts (Node's roots, the OS store, an existing SSL_CERT_FILE…). */
export interface TrustSource {
  readonly label: string;
  readonly pems: readonly string[];
}

export interface Bundle {
  readonly pem: string;
  readonly count: number;
  /** Certificates contributed by each source, after de-duplication: for the summary. */
  readonly added: ReadonlyArray<{ label: string; count: number }>;
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;

/** Splits PEM text into certificate DERs; anything that is not a CERTIFICATE block is skipped. */
export function pemCertificates(text: string): Buffer[] {
  const ders: Buffer[] = [];
  for (const match of text.matchAll(CERT_BLOCK)) {
    const der = Buffer.from((match[1] ?? '').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
    if (der.length > 0) ders.push(der);
  }
  return ders;
}

/**
 * What the runner already trusts plus the org CA, de-duplicated by SHA-256 of the DER, in a stable order
 * (sources in the order given, then the org CA). No X.509 parsing here: hashing the DER is enough to de-duplicate,
 * and a system bundle holds ~150 certificates that need not be parsed on every run.
 */
export function combineBundle(sources: readonly TrustSource[], org: readonly Certificate[]): Bundle {
  const seen = new Set<string>();
  const parts: string[] = [];
  const added: Array<{ label: string; count: number }> = [];
  const take = (der: Buffer): boolean => {
    const fingerprint = sha256Hex(der);
    if (seen.has(fingerprint)) return false;
    seen.add(fingerprint);
    parts.push(toPem(der));
    return true;
  };
  // Node's view of the OS store names each certificate up to four times (the bundle file, then the hashed directory's
  // links): the same text needs no second decode and hash.
  const seenText = new Set<string>();
  for (const source of sources) {
    let count = 0;
    for (const pem of source.pems) {
      if (seenText.has(pem)) continue;
      seenText.add(pem);
      for (const der of pemCertificates(pem)) if (take(der)) count++;
    }
    added.push({ label: source.label, count });
  }
  let orgCount = 0;
  for (const cert of org) if (take(cert.der)) orgCount++;
  added.push({ label: 'org CA', count: orgCount });
  return { pem: parts.join(''), count: seen.size, added };
}

export function certificatesPem(certs: readonly Certificate[]): string {
  return certs.map((cert) => toPem(cert.der)).join('');
}
