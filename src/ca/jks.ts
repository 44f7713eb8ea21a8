import { createHash } from 'node:crypto';

/**
 * Java keystores, read and written by hand: keytool needs a JVM start (~0.5 s) per call, and the format of a
 * trusted-certificate JKS is small. Layout from OpenJDK's JavaKeyStore engine
 * (openjdk/jdk17u-dev src/java.base/share/classes/sun/security/provider/JavaKeyStore.java).
 */
const JKS_MAGIC = 0xfeedfeed;
const JCEKS_MAGIC = 0xcececece;
const TAG_PRIVATE_KEY = 1;
const TAG_TRUSTED_CERT = 2;
const TAG_SECRET_KEY = 3;
export const DEFAULT_STORE_PASSWORD = 'changeit';

export interface KeystoreEntry {
  readonly alias: string;
  readonly der: Buffer;
  /**
   * Whether Java's TrustManagerFactory takes the certificate as a trust anchor (sun.security.validator.TrustStoreUtil):
   * a trusted certificate entry (JKS trustedCertEntry; PKCS#12 with Oracle's trusted-key-usage attribute), or the first
   * certificate of a private key entry's chain. The CAs further up a key entry's chain are not anchors.
   */
  readonly trusted?: boolean;
}

/** The entries Java's own TrustManagerFactory anchors on (JAVA_MIRROR): what a truststore built from a store may keep. */
export function trustAnchors(entries: readonly KeystoreEntry[]): KeystoreEntry[] {
  return entries.filter((entry) => entry.trusted === true);
}

export function isJavaKeystore(bytes: Buffer): boolean {
  if (bytes.length < 12) return false;
  const magic = bytes.readUInt32BE(0);
  return magic === JKS_MAGIC || magic === JCEKS_MAGIC;
}

/** Writes a JKS holding only trusted-certificate entries; readable by every JDK with trustStoreType=JKS. */
export function writeJks(
  entries: readonly KeystoreEntry[],
  password = DEFAULT_STORE_PASSWORD,
  now = new Date(),
): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n >>> 0);
    return b;
  };
  const utf = (s: string): Buffer => {
    const body = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(body.length);
    return Buffer.concat([len, body]);
  };
  parts.push(u32(JKS_MAGIC), u32(2), u32(entries.length));
  const stamp = Buffer.alloc(8);
  stamp.writeBigUInt64BE(BigInt(now.getTime()));
  for (const entry of entries) {
    parts.push(
      u32(TAG_TRUSTED_CERT),
      utf(entry.alias.toLowerCase()),
      stamp,
      utf('X.509'),
      u32(entry.der.length),
      entry.der,
    );
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, jksDigest(body, password)]);
}

function jksDigest(body: Buffer, password: string): Buffer {
  const pw = Buffer.alloc(password.length * 2);
  for (let i = 0; i < password.length; i++) pw.writeUInt16BE(password.charCodeAt(i), i * 2);
  return createHash('sha1').update(pw).update('Mighty Aphrodite', 'utf8').update(body).digest();
}

/**
 * Every certificate in a JKS or JCEKS keystore: trusted entries and the chains of key entries (certificates are
 * never encrypted in these formats, so no password is needed). Throws on anything it cannot follow.
 */
export function readJks(bytes: Buffer): KeystoreEntry[] {
  let pos = 0;
  const need = (n: number): void => {
    if (pos + n > bytes.length) throw new Error(`keystore truncated at byte ${pos}`);
  };
  const u32 = (): number => {
    need(4);
    const v = bytes.readUInt32BE(pos);
    pos += 4;
    return v;
  };
  const utf = (): string => {
    need(2);
    const len = bytes.readUInt16BE(pos);
    pos += 2;
    need(len);
    const s = bytes.subarray(pos, pos + len).toString('utf8');
    pos += len;
    return s;
  };
  const blob = (): Buffer => {
    const len = u32();
    need(len);
    const b = bytes.subarray(pos, pos + len);
    pos += len;
    return b;
  };
  const magic = u32();
  if (magic !== JKS_MAGIC && magic !== JCEKS_MAGIC) throw new Error('not a JKS/JCEKS keystore');
  const version = u32();
  if (version !== 1 && version !== 2) throw new Error(`unknown keystore version ${version}`);
  const count = u32();
  const certificate = (): Buffer => {
    if (version === 2) utf(); // certificate type, "X.509"
    return blob();
  };
  const entries: KeystoreEntry[] = [];
  for (let i = 0; i < count; i++) {
    const tag = u32();
    const alias = utf();
    need(8);
    pos += 8; // creation date
    if (tag === TAG_TRUSTED_CERT) {
      entries.push({ alias, der: certificate(), trusted: true });
    } else if (tag === TAG_PRIVATE_KEY) {
      blob(); // the protected key: opaque here
      const chain = u32();
      // Java trusts a key entry's own certificate (chain[0]), never the CAs above it (sun.security.validator.TrustStoreUtil).
      for (let c = 0; c < chain; c++) entries.push({ alias, der: certificate(), trusted: c === 0 });
    } else if (tag === TAG_SECRET_KEY) {
      throw new Error('JCEKS secret-key entries (serialized Java objects) cannot be read');
    } else {
      throw new Error(`unknown keystore entry tag ${tag}`);
    }
  }
  return entries;
}
