import forge from 'node-forge';
import { DEFAULT_STORE_PASSWORD, type KeystoreEntry } from './jks.js';

/**
 * Certificates of a PKCS#12 store, trying the passwords Java and OpenSSL use by default. The JDK's own cacerts is a
 * password-less PKCS#12 from JDK 18 on (JDK-8275252); `undefined` and '' are the two encodings of "no password".
 */
export function readPkcs12(bytes: Buffer, passwords: ReadonlyArray<string | undefined> = [undefined, '', DEFAULT_STORE_PASSWORD]): KeystoreEntry[] {
  const asn1 = forge.asn1.fromDer(forge.util.createBuffer(bytes.toString('binary')));
  let lastError: unknown;
  for (const password of passwords) {
    try {
      const p12 = forge.pkcs12.pkcs12FromAsn1(asn1, false, password as string);
      const entries: KeystoreEntry[] = [];
      for (const content of p12.safeContents) {
        for (const bag of content.safeBags) {
          if (bag.type !== forge.pki.oids.certBag) continue;
          // node-forge types a bag's attributes as `any`: read the one attribute we want defensively.
          const names = (bag.attributes as Record<string, unknown> | undefined)?.friendlyName;
          const alias = Array.isArray(names) && typeof names[0] === 'string' ? names[0] : '';
          if (bag.cert) {
            entries.push({ alias, der: Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(bag.cert)).getBytes(), 'binary') });
          } else if (bag.asn1) {
            // forge keeps certificates whose key type it cannot parse (EC, Ed25519) as the raw certificate ASN.1
            entries.push({ alias, der: Buffer.from(forge.asn1.toDer(bag.asn1).getBytes(), 'binary') });
          }
        }
      }
      return entries;
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(`PKCS#12 store could not be opened with the default passwords: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
}
