/**
 * A minimal DER walker: enough to find certificates inside PKCS#7 and to recognise PKCS#12, without loading
 * node-forge (≈0.9 MB of JavaScript) on the action's hot path.
 */
export interface DerElement {
  readonly tag: number;
  /** Offset of the content. */
  readonly start: number;
  /** Offset just past the content. */
  readonly end: number;
  /** Offset of the tag byte. */
  readonly offset: number;
}

/** The element at `offset`; throws on truncation or indefinite/oversized lengths (not DER). */
export function derElement(buf: Buffer, offset = 0): DerElement {
  if (offset + 2 > buf.length) throw new Error('DER truncated');
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new Error('multi-byte DER tags are not used here');
  let length = buf[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new Error('not DER: indefinite or oversized length');
    if (start + count > buf.length) throw new Error('DER truncated');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[start + i]!;
    start += count;
  }
  const end = start + length;
  if (end > buf.length) throw new Error('DER truncated');
  return { tag, start, end, offset };
}

export function derChildren(buf: Buffer, parent: DerElement): DerElement[] {
  const out: DerElement[] = [];
  for (let pos = parent.start; pos < parent.end;) {
    const child = derElement(buf, pos);
    out.push(child);
    pos = child.end;
  }
  return out;
}

export function derBytes(buf: Buffer, el: DerElement): Buffer {
  return buf.subarray(el.offset, el.end);
}

const SIGNED_DATA_OID = Buffer.from('2a864886f70d010702', 'hex'); // 1.2.840.113549.1.7.2

/**
 * The certificates of a PKCS#7/CMS SignedData (a .p7b export), or undefined when `buf` is not one.
 * ContentInfo ::= SEQUENCE { contentType OID, content [0] EXPLICIT SignedData };
 * SignedData ::= SEQUENCE { version, digestAlgorithms SET, encapContentInfo, certificates [0] IMPLICIT SET OF … }
 * (RFC 5652 §3, §5.1).
 */
export function pkcs7Certificates(buf: Buffer): Buffer[] | undefined {
  try {
    const root = derElement(buf);
    if (root.tag !== 0x30) return undefined;
    const [oid, explicit] = derChildren(buf, root);
    if (!oid || oid.tag !== 0x06 || !buf.subarray(oid.start, oid.end).equals(SIGNED_DATA_OID)) return undefined;
    if (!explicit || explicit.tag !== 0xa0) return undefined;
    const [signedData] = derChildren(buf, explicit);
    if (!signedData || signedData.tag !== 0x30) return undefined;
    const certSet = derChildren(buf, signedData).find((el) => el.tag === 0xa0);
    if (!certSet) return [];
    return derChildren(buf, certSet)
      .filter((el) => el.tag === 0x30)
      .map((el) => derBytes(buf, el));
  } catch {
    return undefined;
  }
}

/** PFX ::= SEQUENCE { version INTEGER (3), authSafe ContentInfo, macData OPTIONAL } (RFC 7292 §4). */
export function looksLikePkcs12(buf: Buffer): boolean {
  try {
    const root = derElement(buf);
    if (root.tag !== 0x30) return false;
    const [version, authSafe] = derChildren(buf, root);
    return (
      version?.tag === 0x02 && version.end - version.start === 1 && buf[version.start] === 3 && authSafe?.tag === 0x30
    );
  } catch {
    return false;
  }
}
