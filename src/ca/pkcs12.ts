import forge from 'node-forge';
import { DEFAULT_STORE_PASSWORD, type KeystoreEntry } from './jks.js';

/**
 * Oracle's trusted-key-usage bag attribute (2.16.840.1.113894.746875.1.1): what marks a PKCS#12 certificate as a
 * TrustedCertificateEntry for Java (sun.security.pkcs12.PKCS12KeyStore). node-forge drops attributes it has no name
 * for, so the name is registered once, the way forge registers its own.
 */
const TRUSTED_KEY_USAGE_OID = '2.16.840.1.113894.746875.1.1';
const TRUSTED_KEY_USAGE_NAME = 'oracleTrustedKeyUsage';
const oids = forge.pki.oids as Record<string, string>;
oids[TRUSTED_KEY_USAGE_OID] ??= TRUSTED_KEY_USAGE_NAME;
oids[TRUSTED_KEY_USAGE_NAME] ??= TRUSTED_KEY_USAGE_OID;

/**
 * Certificates of a PKCS#12 store, trying the passwords Java and OpenSSL use by default. The JDK's own cacerts is a
 * password-less PKCS#12 from JDK 18 on (JDK-8275252); `undefined` and '' are the two encodings of "no password".
 */
export function readPkcs12(
  bytes: Buffer,
  passwords: ReadonlyArray<string | undefined> = [undefined, '', DEFAULT_STORE_PASSWORD],
): KeystoreEntry[] {
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
          const attributes = bag.attributes as Record<string, unknown> | undefined;
          const names = attributes?.friendlyName;
          const alias = Array.isArray(names) && typeof names[0] === 'string' ? names[0] : '';
          // Java anchors on a certificate bag with this attribute (keytool -importcert sets it), and on a key's own
          // certificate (the bag sharing the key's localKeyId); the other certificates only complete chains.
          const trusted = attributes?.[TRUSTED_KEY_USAGE_NAME] !== undefined || attributes?.localKeyId !== undefined;
          if (bag.cert) {
            entries.push({
              alias,
              der: Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(bag.cert)).getBytes(), 'binary'),
              trusted,
            });
          } else if (bag.asn1) {
            // forge keeps certificates whose key type it cannot parse (EC, Ed25519) as the raw certificate ASN.1
            entries.push({ alias, der: Buffer.from(forge.asn1.toDer(bag.asn1).getBytes(), 'binary'), trusted });
          }
        }
      }
      return entries;
    } catch (error) {
      lastError = error;
    }
  }
  throw new Error(
    `PKCS#12 store could not be opened with the default passwords: ${lastError instanceof Error ? lastError.message : String(lastError)}`,
  );
}
