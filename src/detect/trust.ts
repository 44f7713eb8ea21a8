/**
 * Where the classifier's certificate sets come from (the I/O half of classify.ts).
 * - public: Node's bundled Mozilla roots (tls.rootCertificates, https://nodejs.org/api/tls.html#tlsrootcertificates),
 *   plus the file of input `public-roots` (added, not replacing: it declares more roots as "not inspection").
 * - system: tls.getCACertificates('system') (https://nodejs.org/api/tls.html#tlsgetcacertificatestype), the OS store
 *   as OpenSSL finds it (SSL_CERT_FILE / SSL_CERT_DIR on Linux, Keychain on macOS, the Windows store).
 */
import { readFileSync } from 'node:fs';
import { getCACertificates, rootCertificates } from 'node:tls';
import { pemCertificates } from '../ca/bundle.js';
import { certificateFromDer, type Certificate } from '../ca/certificate.js';
import { parseCertificates, CaInputError } from '../ca/parse.js';

function fromPems(pems: readonly string[]): Certificate[] {
  const out: Certificate[] = [];
  // The OS store lists one certificate under several names (the hashed links of /etc/ssl/certs): parse each once.
  for (const pem of new Set(pems)) {
    for (const der of pemCertificates(pem)) {
      try {
        out.push(certificateFromDer(der));
      } catch {
        // one unparsable store entry must not hide the others
      }
    }
  }
  return out;
}

let bundled: Certificate[] | undefined;
let system: Certificate[] | undefined;

export function bundledRoots(): readonly Certificate[] {
  bundled ??= fromPems(rootCertificates);
  return bundled;
}

/** Node's bundled roots plus the certificates of `file`; a bad file is an error naming it as `name` (input or flag). */
export function publicRoots(file?: string, name = 'public-roots'): readonly Certificate[] {
  if (!file) return bundledRoots();
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new CaInputError(
      `${name} '${file}' could not be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}): expected a PEM file of root certificates.`,
    );
  }
  return [...bundledRoots(), ...parseCertificates(bytes, `${name} '${file}'`)];
}

/** What the OS store trusts; read on first use only (it costs tens of milliseconds), empty where unreadable. */
export function systemRoots(): readonly Certificate[] {
  if (!system) {
    try {
      system = fromPems(getCACertificates('system'));
    } catch {
      system = [];
    }
  }
  return system;
}
