import { createHash, type X509Certificate, type KeyObject } from 'node:crypto';
import { certificateFromDer, isIssuedBy, type Certificate } from '../../ca/certificate.js';
import { derChildren, derElement } from '../../ca/der.js';
import { parseCertificates } from '../../ca/parse.js';
import type { Hit, MatchKind, TargetSpec } from '../types.js';
import { defined, present } from '../../lang/present.js';

/**
 * Finds a CA in arbitrary bytes, streaming, with memory bounded by a small window whatever the file size.
 *
 * Speed comes from searching a few dozen random needles in one pass (Wu-Manber over byte pairs, see NeedleSet:
 * several GB/s, about what one Buffer#indexOf costs) and verifying the rare hits on a window of context. The needles
 * are chosen so that every listed encoding of the CA contains at least one of them:
 * - 32 bytes of the CA's public key (inside its SubjectPublicKeyInfo): DER copies, JKS and unencrypted PKCS#12,
 *   binaries, and any re-issued or cross-signed certificate of the same key;
 * - the CA's subject Name DER, which every certificate it issued carries as its issuer: an issuing intermediate
 *   (CA:TRUE, signature verified under the CA's key) in DER, JKS or PKCS#12;
 * - base64 of the key bytes, of the subject Name and of one PEM line (base64 of a PEM file), each at the 3 byte
 *   alignments and cut into consecutive 20-character pieces, so that base64 wrapped at any width of 30 columns or
 *   more (64 in PEM, 76 from `base64`, YAML block scalars, JSON strings with `\n`) keeps one piece whole on a line;
 *   the hit's surrounding run is then collected across line breaks, indentation, quotes and escapes, and decoded;
 * - `-----BEGIN ` and the base64 of `-----BEGIN CERTIFICATE-----`: every PEM block, raw or base64-encoded, in any line
 *   wrapping, line ending or escaping, decoded and compared (the CA, its key, or an intermediate it signed).
 * With only fingerprints there is no key to look for, so every certificate found is parsed and hashed: PEM blocks,
 * DER v3 certificates (by the bytes `a0 03 02 01 02 02` that open every v3 TBSCertificate) and their base64.
 */

type Role =
  'begin' | 'key' | 'key-b64' | 'pem-b64' | 'name' | 'name-b64' | 'der-marker' | 'der-marker-b64' | 'begin-b64';

interface Needle {
  readonly bytes: Buffer;
  readonly role: Role;
  readonly target?: number;
  /** For base64 needles: which base64 character of a group-aligned encoding the needle starts at, and the byte shift. */
  readonly lead: number;
  readonly shift: number;
}

interface Target {
  readonly der: Buffer;
  readonly fingerprint: string;
  readonly spkiSha256: string;
  readonly subject: string;
  readonly keySeg: Buffer;
  /** The subject Name DER: the issuer field of every certificate this CA signed. */
  readonly name: Buffer;
  readonly cert: Certificate;
  readonly publicKey: KeyObject;
}

export interface Matcher {
  readonly targets: readonly Target[];
  readonly fingerprints: ReadonlySet<string>;
  readonly needles: readonly Needle[];
  readonly maxNeedle: number;
  readonly search: NeedleSet;
}

const KEY_SEG = 32;
/** Key bytes whose base64 is cut into pieces: 45 bytes = 60 characters = 3 pieces. */
const KEY_B64_SEG = 45;
/** base64 needle length. Consecutive pieces of this length: for any wrap width >= 1.5 x this, one stays whole. */
const PIECE = 20;
const PIECES = 3;
/** Needles at least this long share one Wu-Manber pass; shorter ones get an indexOf pass each. */
const MULTI_MIN = 16;
/** Context kept before a hit and awaited after it. A certificate is a few KiB; PEM bundles of PKCS#7 can be more. */
const BACK = 16 * 1024;
const FORWARD = 16 * 1024;
const FORWARD_BEGIN = 64 * 1024;
const MAX_HITS_PER_FILE = 64;
/** Longest base64 of a PEM certificate block to expect (a 16 KiB certificate, wrapped and indented). */
const MAX_PEM_BASE64 = 12 * 1024;
const MAX_DEPTH = 2;

const DER_MARKER = Buffer.from([0xa0, 0x03, 0x02, 0x01, 0x02, 0x02]);
const BEGIN = Buffer.from('-----BEGIN ');
const BEGIN_CERT = Buffer.from('-----BEGIN CERTIFICATE-----');
const CERT_LABELS = new Set([
  'CERTIFICATE',
  'X509 CERTIFICATE',
  'TRUSTED CERTIFICATE',
  'PKCS7',
  'CMS',
  'PKCS #7 SIGNED DATA',
]);

/**
 * The base64 characters of `pattern` that do not depend on the bytes around it, when it starts `shift` bytes after
 * a 3-byte group boundary. Each character holds 6 bits; it is fixed when all 6 fall inside the pattern.
 */
export function base64Needle(pattern: Buffer, shift: number): { text: string; lead: number } {
  const encoded = Buffer.concat([Buffer.alloc(shift), pattern]).toString('base64');
  const first = Math.ceil((8 * shift) / 6);
  const last = Math.floor((8 * (shift + pattern.length)) / 6); // exclusive
  return { text: encoded.slice(first, last), lead: first };
}

/**
 * base64 needles of `pattern` at the 3 alignments, each cut into up to `count` consecutive pieces of `size`
 * characters: a line break (or indentation, or an escape) falls inside at most one piece of a run when the lines
 * are longer than the run's length divided by (pieces - 1).
 */
function base64Pieces(pattern: Buffer, role: Role, target: number | undefined, size = PIECE, count = PIECES): Needle[] {
  const out: Needle[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const n = base64Needle(pattern, shift);
    for (let k = 0; k < count; k++) {
      const from = k * size;
      if (from + MULTI_MIN > n.text.length) break;
      const text = n.text.slice(from, from + size);
      out.push({
        bytes: Buffer.from(text),
        role,
        ...defined({ target }),
        lead: n.lead + from,
        shift,
      });
    }
  }
  return out;
}

/**
 * All needles of a matcher in one pass: Wu-Manber (1994) with a table over the last two bytes of a 16-byte window.
 * On binary data and on base64 text alike almost every window shifts by the full 15 bytes, so dozens of needles
 * cost about one indexOf; the few needles shorter than the window each get an indexOf of their own.
 */
export class NeedleSet {
  private readonly shiftOf = new Uint8Array(65536);
  private readonly head = new Int32Array(65536).fill(-1);
  private readonly next: Int32Array;
  private readonly long: readonly Needle[];
  private readonly short: readonly Needle[];
  private readonly m: number;

  constructor(needles: readonly Needle[]) {
    this.long = needles.filter((n) => n.bytes.length >= MULTI_MIN);
    this.short = needles.filter((n) => n.bytes.length < MULTI_MIN);
    this.m = this.long.length ? Math.min(...this.long.map((n) => n.bytes.length)) : MULTI_MIN;
    const m = this.m;
    this.shiftOf.fill(m - 1);
    this.next = new Int32Array(this.long.length).fill(-1);
    this.long.forEach((needle, j) => {
      const p = needle.bytes;
      for (let q = 1; q < m; q++) {
        const h = (p[q - 1]! << 8) | p[q]!;
        this.shiftOf[h] = Math.min(this.shiftOf[h]!, m - 1 - q);
      }
      const h = (p[m - 2]! << 8) | p[m - 1]!;
      this.next[j] = this.head[h]!;
      this.head[h] = j;
    });
  }

  /** Calls `found` for every needle occurrence wholly inside `buf`, with its offset. */
  forEach(buf: Buffer, found: (at: number, needle: Needle) => void): void {
    for (const needle of this.short) {
      let i = buf.indexOf(needle.bytes);
      while (i !== -1) {
        found(i, needle);
        i = buf.indexOf(needle.bytes, i + 1);
      }
    }
    const { shiftOf, head, next, long, m } = this;
    if (long.length === 0) return;
    const len = buf.length;
    for (let pos = m - 1; pos < len;) {
      const h = (buf[pos - 1]! << 8) | buf[pos]!;
      const skip = shiftOf[h]!;
      if (skip !== 0) {
        pos += skip;
        continue;
      }
      const start = pos - m + 1;
      for (let j = head[h]!; j !== -1; j = next[j]!) {
        const p = long[j]!.bytes;
        if (start + p.length <= len && buf.compare(p, 0, p.length, start, start + p.length) === 0)
          found(start, long[j]!);
      }
      pos++;
    }
  }
}

function spkiOf(x509: X509Certificate): Buffer {
  return x509.publicKey.export({ type: 'spki', format: 'der' });
}

/** 32 key bytes whose base64, in the DER's own alignment, sits inside one 64-column PEM line (48 DER bytes a line). */
function pickKeySegment(der: Buffer, spki: Buffer): { seg: Buffer; offset: number; end: number } {
  const spkiAt = der.indexOf(spki);
  // The key material is the tail of the SPKI (RSA: modulus then a 5-byte exponent; EC: the point).
  const keyStart = spkiAt + Math.max(0, spki.length - 8 - 256);
  const keyEnd = spkiAt + spki.length - 8;
  for (let line = Math.ceil(keyStart / 48); 48 * line + 3 + KEY_SEG <= keyEnd; line++) {
    const offset = 48 * line + 3;
    return { seg: der.subarray(offset, offset + KEY_SEG), offset, end: keyEnd };
  }
  const offset = Math.max(spkiAt, keyEnd - KEY_SEG);
  return { seg: der.subarray(offset, offset + KEY_SEG), offset, end: keyEnd };
}

/** The subject Name of a certificate, as DER (TBSCertificate: [0] version, serial, signature, issuer, validity, subject). */
function subjectNameDer(der: Buffer): Buffer {
  const [tbs] = derChildren(der, derElement(der));
  const fields = derChildren(der, tbs!);
  const subject = fields[fields[0]!.tag === 0xa0 ? 5 : 4]!;
  return der.subarray(subject.offset, subject.end);
}

export function buildMatcher(spec: TargetSpec): Matcher {
  const targets: Target[] = [];
  const needles: Needle[] = [];
  const fingerprints = new Set(spec.fingerprints.map((f) => f.toLowerCase()));
  for (const given of spec.certs) {
    const der = Buffer.from(given.der);
    const cert = certificateFromDer(der);
    const spki = spkiOf(cert.x509);
    const { seg, offset, end } = pickKeySegment(cert.der, spki);
    const name = subjectNameDer(cert.der);
    const index = targets.length;
    targets.push({
      der: cert.der,
      fingerprint: cert.fingerprint,
      spkiSha256: cert.spkiSha256,
      subject: cert.subject,
      keySeg: seg,
      name,
      cert,
      publicKey: cert.x509.publicKey,
    });
    fingerprints.add(cert.fingerprint);
    needles.push({ bytes: seg, role: 'key', target: index, lead: 0, shift: 0 });
    needles.push(...base64Pieces(cert.der.subarray(offset, Math.min(end, offset + KEY_B64_SEG)), 'key-b64', index));
    needles.push({ bytes: name, role: 'name', target: index, lead: 0, shift: 0 });
    needles.push(...base64Pieces(name, 'name-b64', index));
    // The 64-column PEM line around the key bytes, for base64 of a whole PEM file.
    const body = cert.der.toString('base64');
    const lineStart = Math.floor((Math.ceil(offset / 3) * 4) / 64) * 64;
    const line = Buffer.from(body.slice(lineStart, lineStart + 64));
    if (line.length === 64) needles.push(...base64Pieces(line, 'pem-b64', index));
  }
  needles.push({ bytes: BEGIN, role: 'begin', lead: 0, shift: 0 });
  // base64 of a PEM file of any certificate: decoded and scanned (the CA, its key, or an intermediate it signed).
  needles.push(...base64Pieces(BEGIN_CERT, 'begin-b64', undefined, 17, 2));
  if (targets.length === 0) {
    needles.push({ bytes: DER_MARKER, role: 'der-marker', lead: 0, shift: 0 });
    for (let shift = 0; shift < 3; shift++) {
      const marker = base64Needle(DER_MARKER, shift);
      needles.push({ bytes: Buffer.from(marker.text), role: 'der-marker-b64', lead: marker.lead, shift });
    }
  }
  return {
    targets,
    fingerprints,
    needles,
    maxNeedle: Math.max(...needles.map((n) => n.bytes.length)),
    search: new NeedleSet(needles),
  };
}

/** A matcher's spec in transferable form (for worker_threads). */
export function matcherSpec(matcher: Matcher): TargetSpec {
  return { certs: matcher.targets.map((t) => ({ der: t.der })), fingerprints: [...matcher.fingerprints] };
}

interface Pending {
  readonly pos: number;
  readonly needle: Needle;
}

/** Streams one file's bytes through the matcher. feed() any number of chunks, then end(). */
export class ContentScanner {
  private total = 0;
  private tail: Buffer = Buffer.alloc(0);
  private history: { start: number; buf: Buffer }[] = [];
  private pending: Pending[] = [];
  private readonly hits: Hit[] = [];
  private scannedRun?: { start: number; end: number };

  constructor(
    private readonly matcher: Matcher,
    private readonly depth = 0,
  ) {}

  feed(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const base = this.total;
    const { search, maxNeedle } = this.matcher;
    if (this.tail.length > 0) {
      // Matches that straddle the previous chunk and this one.
      const tailLength = this.tail.length;
      const seam = Buffer.concat([this.tail, chunk.subarray(0, maxNeedle - 1)]);
      search.forEach(seam, (i, needle) => {
        if (i < tailLength && i + needle.bytes.length > tailLength)
          this.pending.push({ pos: base - tailLength + i, needle });
      });
    }
    search.forEach(chunk, (i, needle) => this.pending.push({ pos: base + i, needle }));
    this.total += chunk.length;
    this.history.push({ start: base, buf: chunk });
    const keep = maxNeedle - 1;
    this.tail =
      chunk.length >= keep ? chunk.subarray(chunk.length - keep) : Buffer.concat([this.tail, chunk]).subarray(-keep);
    if (this.pending.length) this.resolve(false);
    this.prune();
  }

  end(): Hit[] {
    this.resolve(true);
    this.history = [];
    return dedupe(this.hits);
  }

  private prune(): void {
    let floor = this.total - BACK - this.matcher.maxNeedle;
    for (const p of this.pending) floor = Math.min(floor, p.pos - BACK);
    while (this.history.length > 1) {
      const first = this.history[0]!;
      if (first.start + first.buf.length >= floor) break;
      this.history.shift();
    }
  }

  private window(from: number, to: number): { buf: Buffer; start: number } {
    const parts: Buffer[] = [];
    let start = -1;
    for (const h of this.history) {
      const hEnd = h.start + h.buf.length;
      if (hEnd <= from || h.start >= to) continue;
      const a = Math.max(from, h.start);
      const b = Math.min(to, hEnd);
      if (start === -1) start = a;
      parts.push(h.buf.subarray(a - h.start, b - h.start));
    }
    return { buf: parts.length === 1 ? parts[0]! : Buffer.concat(parts), start: start === -1 ? from : start };
  }

  private resolve(atEnd: boolean): void {
    const still: Pending[] = [];
    for (const p of this.pending) {
      const role = p.needle.role;
      const forward = role === 'begin' || role === 'begin-b64' || role === 'pem-b64' ? FORWARD_BEGIN : FORWARD;
      if (!atEnd && this.total < p.pos + forward) {
        still.push(p);
        continue;
      }
      if (this.hits.length >= MAX_HITS_PER_FILE) continue;
      // base64 of a PEM bundle holds a BEGIN every few KiB: one decoded run already scanned every PEM block that
      // starts in it and ends before it does.
      const wholeScan = role === 'begin-b64' || role === 'pem-b64';
      if (
        wholeScan &&
        this.scannedRun &&
        p.pos >= this.scannedRun.start &&
        p.pos + MAX_PEM_BASE64 <= this.scannedRun.end
      )
        continue;
      const w = this.window(Math.max(0, p.pos - BACK), p.pos + forward);
      const run = { start: 0, end: 0 };
      for (const hit of verify(this.matcher, {
        needle: p.needle,
        win: w.buf,
        rel: p.pos - w.start,
        winStart: w.start,
        depth: this.depth,
        run,
      }))
        this.hits.push(hit);
      if (wholeScan && run.end > run.start) this.scannedRun = { start: w.start + run.start, end: w.start + run.end };
    }
    this.pending = still;
  }
}

/** Scans a whole buffer (config strings, decoded base64, keystores). */
export function scanBuffer(matcher: Matcher, buf: Buffer, depth = 0): Hit[] {
  const scanner = new ContentScanner(matcher, depth);
  scanner.feed(buf);
  return scanner.end();
}

/** Drops hits inside a larger hit for the same certificate (the key bytes inside a PEM block already reported). */
function dedupe(hits: Hit[]): Hit[] {
  const sorted = [...hits].sort((a, b) => b.end - b.start - (a.end - a.start) || a.start - b.start);
  const kept: Hit[] = [];
  for (const hit of sorted) {
    if (kept.some((k) => k.fingerprint === hit.fingerprint && k.start <= hit.start && hit.end <= k.end)) continue;
    kept.push(hit);
  }
  return kept.sort((a, b) => a.start - b.start);
}

/**
 * A needle found in a window: `rel` is its offset in `win`, `winStart` the window's offset in the stream, and `run`
 * receives the window range of the base64 run a base64 needle's verification decoded.
 */
interface Candidate {
  needle: Needle;
  win: Buffer;
  rel: number;
  winStart: number;
  depth: number;
  run?: { start: number; end: number } | undefined;
}

function verify(m: Matcher, candidate: Candidate): Hit[] {
  const { needle, win, rel, winStart } = candidate;
  switch (needle.role) {
    case 'begin':
      return verifyPem(m, win, rel, winStart);
    case 'key':
      return verifyKey(m, m.targets[needle.target!]!, win, rel, winStart, '');
    case 'name':
      return verifyIssued(m, m.targets[needle.target!]!, win, rel, winStart, 'der');
    case 'der-marker':
      return verifyDerMarker(m, win, rel, winStart, 'der');
    default:
      return verifyBase64(m, candidate);
  }
}

/** How a certificate was written where it was found; the kinds of a finding are named after it. */
type Encoding = 'pem' | 'der' | 'base64-der';

/** The one place a certificate found in the content is judged: the CA, a certificate of its key, or one it issued. */
function hitFor(m: Matcher, der: Buffer, encoding: Encoding, start: number, end: number): Hit | undefined {
  const fingerprint = createHash('sha256').update(der).digest('hex');
  if (m.fingerprints.has(fingerprint)) {
    const t = m.targets.find((x) => x.fingerprint === fingerprint);
    return { kind: encoding, fingerprint, ...present({ subject: t ? t.subject : undefined }), start, end };
  }
  // Only worth an X.509 parse when the key bytes or the CA's name are there (a public bundle never has them).
  const sameKey = m.targets.find((x) => der.includes(x.keySeg));
  const issuedBy = m.targets.filter((x) => der.includes(x.name));
  if (!sameKey && issuedBy.length === 0) return undefined;
  let cert: Certificate;
  try {
    cert = certificateFromDer(der);
  } catch {
    return undefined; // not a certificate
  }
  if (sameKey && cert.spkiSha256 === sameKey.spkiSha256)
    return { kind: `${encoding}-same-key`, fingerprint: cert.fingerprint, subject: cert.subject, start, end };
  // Java, Go and Node trust every certificate in their store as an anchor: a CA the org CA signed (an issuing
  // intermediate) trusts the inspection proxy as much as the root. Checked by signature, never by name alone.
  if (cert.isCa && issuedBy.some((t) => isIssuedBy(cert, t.cert)))
    return { kind: `${encoding}-intermediate`, fingerprint: cert.fingerprint, subject: cert.subject, start, end };
  return undefined;
}

/**
 * Whether one DER certificate (from a keystore) is a target, by fingerprint or by key, or an intermediate it signed.
 * `container` names the store, which names the kind: `jks`, `pkcs12`, `jks-intermediate`, `pkcs12-intermediate`.
 */
export function classifyDer(
  m: Matcher,
  der: Buffer,
  container: 'jks' | 'pkcs12' = 'jks',
): { kind: MatchKind; fingerprint: string; subject?: string } | undefined {
  const hit = hitFor(m, der, 'der', 0, der.length);
  if (!hit) return undefined;
  const kind: MatchKind = hit.kind === 'der-intermediate' ? `${container}-intermediate` : container;
  return { kind, fingerprint: hit.fingerprint, ...present({ subject: hit.subject }) };
}

/** Line breaks and entities that PEM bodies carry once escaped for JSON, shells, Java properties or XML. */
const ESCAPED_BREAKS = /\\+(?:[nrt]|u000[aAdD]|\r?\n)|&#(?:1[03]|x[aAdD]);/g;

function verifyPem(m: Matcher, win: Buffer, rel: number, winStart: number): Hit[] {
  const text = win.toString('latin1', rel, Math.min(win.length, rel + FORWARD_BEGIN));
  const head = /^-----BEGIN ([A-Z0-9 #]{1,40})-----/.exec(text);
  if (!head || !CERT_LABELS.has(head[1]!)) return [];
  const label = head[1]!;
  const endMarker = `-----END ${label}-----`;
  const endAt = text.indexOf(endMarker, head[0].length);
  if (endAt === -1) return [];
  // Bodies appear JSON-, shell- or XML-escaped (\n, \\n, \r\n, \u000a, &#10;, \/) as well as raw: drop escapes,
  // then anything not base64.
  const body = text
    .slice(head[0].length, endAt)
    .replace(ESCAPED_BREAKS, '')
    .replace(/[^A-Za-z0-9+/=]/g, '');
  const start = winStart + rel;
  const end = start + endAt + endMarker.length;
  const ders: Buffer[] = [];
  if (label === 'PKCS7' || label === 'CMS' || label === 'PKCS #7 SIGNED DATA') {
    try {
      for (const cert of parseCertificates(`-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`, 'image'))
        ders.push(cert.der);
    } catch {
      return [];
    }
  } else {
    const der = Buffer.from(body, 'base64');
    ders.push(label === 'TRUSTED CERTIFICATE' ? firstDerElement(der) : der);
  }
  const hits: Hit[] = [];
  for (const der of ders) {
    const hit = hitFor(m, der, 'pem', start, end);
    if (hit) hits.push(hit);
  }
  return hits;
}

function derLength(buf: Buffer, at: number): number | undefined {
  if (buf[at] !== 0x30) return undefined;
  const l = buf[at + 1];
  if (l === undefined) return undefined;
  if (l < 0x80) return 2 + l;
  const n = l & 0x7f;
  if (n < 1 || n > 3 || at + 2 + n > buf.length) return undefined;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i]!;
  return 2 + n + len;
}

function firstDerElement(der: Buffer): Buffer {
  const len = derLength(der, 0);
  return len && len <= der.length ? der.subarray(0, len) : der;
}

/**
 * The certificate around bytes found at `rel` (`covering` of them): the nearest enclosing DER SEQUENCE, within
 * `reach` bytes before them, that hitFor accepts.
 */
function enclosingCertificate(
  m: Matcher,
  win: Buffer,
  rel: number,
  covering: number,
  reach: number,
  winStart: number,
  encoding: Encoding,
): Hit | undefined {
  for (let q = rel - 1; q >= Math.max(0, rel - reach); q--) {
    if (win[q] !== 0x30 || (win[q + 1] ?? 0) < 0x81 || (win[q + 1] ?? 0) > 0x83) continue;
    const len = derLength(win, q);
    if (!len || q + len < rel + covering || q + len > win.length || len > 65536) continue;
    const hit = hitFor(m, win.subarray(q, q + len), encoding, winStart + q, winStart + q + len);
    if (hit) return hit;
  }
  return undefined;
}

/** Looks for a whole certificate around the key bytes at `rel`; without one, the key alone is reported. */
function verifyKey(m: Matcher, t: Target, win: Buffer, rel: number, winStart: number, prefix: '' | 'base64-'): Hit[] {
  const hit = enclosingCertificate(m, win, rel, KEY_SEG, 8192, winStart, prefix ? 'base64-der' : 'der');
  if (hit) return [hit];
  return [
    {
      kind: `${prefix}public-key`,
      fingerprint: t.fingerprint,
      subject: t.subject,
      start: winStart + rel,
      end: winStart + rel + KEY_SEG,
    },
  ];
}

/**
 * The CA's name at `rel`: the issuer of a certificate it signed (or its own subject). In a TBSCertificate the issuer
 * follows the version, the serial (up to 20 bytes) and the signature algorithm (longest for RSA-PSS): well within 1 KiB.
 */
function verifyIssued(m: Matcher, t: Target, win: Buffer, rel: number, winStart: number, encoding: Encoding): Hit[] {
  const hit = enclosingCertificate(m, win, rel, t.name.length, 1024, winStart, encoding);
  return hit ? [hit] : [];
}

function verifyDerMarker(m: Matcher, win: Buffer, rel: number, winStart: number, encoding: Encoding): Hit[] {
  // Certificate SEQUENCE, then TBSCertificate SEQUENCE, then `a0 03 02 01 02`: try each length-of-length pair.
  for (const back of [8, 9, 7, 6, 10]) {
    const q = rel - back;
    if (q < 0) continue;
    const len = derLength(win, q);
    if (!len || q + len > win.length) continue;
    const hit = hitFor(m, win.subarray(q, q + len), encoding, winStart + q, winStart + q + len);
    if (hit) return [hit];
  }
  return [];
}

/** base64 characters, and (for the walk back to a run's start) every character a separator is made of. */
const IS_B64 = new Uint8Array(256);
const IN_RUN = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=')
  IS_B64[c.charCodeAt(0)] = IN_RUN[c.charCodeAt(0)] = 1;
for (const c of '\n\r \t"\',\\&#;') IN_RUN[c.charCodeAt(0)] = 1;

/**
 * How many bytes at `i` separate two pieces of one base64 blob: line breaks and indentation, quotes and commas
 * (JSON arrays of lines), escapes of a line break (`\n`, `\\n`, `\r\n`, `\u000a`, a Java properties `\` at the end
 * of a line), XML character references (`&#10;`). 0 when `i` is not a separator.
 */
function separatorAt(b: Buffer, i: number): number {
  const c = b[i];
  // \n \r space \t " ' ,
  if (c === 10 || c === 13 || c === 32 || c === 9 || c === 34 || c === 39 || c === 44) return 1;
  if (c === 92) {
    let j = i;
    while (b[j] === 92) j++;
    const e = b[j];
    // n r t, or a real line break
    if (e === 110 || e === 114 || e === 116 || e === 10) return j + 1 - i;
    if (e === 13 && b[j + 1] === 10) return j + 2 - i;
    // u000a, u000d
    if (e === 117 && b[j + 1] === 48 && b[j + 2] === 48 && b[j + 3] === 48) {
      const last = (b[j + 4] ?? 0) | 0x20;
      if (last === 97 || last === 100) return j + 5 - i;
    }
    return 0;
  }
  if (c === 38 && b[i + 1] === 35) {
    // &#10; &#13; &#xA; &#xD;
    if (b[i + 2] === 49 && (b[i + 3] === 48 || b[i + 3] === 51) && b[i + 4] === 59) return 5;
    if (b[i + 2] === 120) {
      const h = (b[i + 3] ?? 0) | 0x20;
      if ((h === 97 || h === 100) && b[i + 4] === 59) return 5;
    }
  }
  return 0;
}

function nextNonSeparator(b: Buffer, i: number): number {
  for (let skip = separatorAt(b, i); skip; skip = separatorAt(b, i)) i += skip;
  return i;
}

/**
 * Decodes the base64 text around a base64 needle at the needle's own alignment, joining the pieces of a wrapped,
 * indented or escaped blob, then looks inside the decoded bytes.
 */
function verifyBase64(m: Matcher, { needle, win, rel, winStart, depth, run }: Candidate): Hit[] {
  // The run that holds the needle: collected from where the characters it can be made of begin, restarting after
  // anything that ends a run (a stray '&' or '\\'), until a run passes the needle and ends. Bytes, not strings:
  // this runs once per hit over up to the whole window.
  let i = rel;
  while (i > 0 && IN_RUN[win[i - 1]!]) i--;
  const out = Buffer.allocUnsafe(win.length - i);
  const origin = new Int32Array(win.length - i + 1);
  let n = 0;
  let hitNorm = -1;
  while (i < win.length) {
    if (i === rel) hitNorm = n;
    const c = win[i]!;
    if (c === 92 && win[i + 1] === 47) {
      // JSON's \/ is a '/'
      origin[n] = i + 1;
      out[n++] = 47;
      i += 2;
      continue;
    }
    const skip = separatorAt(win, i);
    if (skip) {
      if (i < rel && i + skip > rel) return []; // the needle cannot start inside a separator
      i += skip;
      continue;
    }
    const ends = !IS_B64[c];
    if (!ends) {
      origin[n] = i;
      out[n++] = c;
      i++;
    }
    // Node's base64 decoder stops at the first '=': padding ends a run as well (once any second '=' is in).
    if (ends || (c === 61 && win[nextNonSeparator(win, i)] !== 61)) {
      if (hitNorm !== -1) break;
      n = 0;
      if (ends) i++;
    }
  }
  origin[n] = i;
  if (hitNorm === -1) return [];
  if (run) {
    run.start = origin[0]!;
    run.end = i;
  }
  const group = hitNorm - needle.lead;
  const from = ((group % 4) + 4) % 4;
  const usable = n - from - ((n - from) % 4);
  const decoded = Buffer.from(out.toString('latin1', from, from + usable), 'base64');
  const at = ((group - from) / 4) * 3 + needle.shift;
  // Decoded byte offsets back to window offsets, so the ranges of separate copies stay separate.
  const charOf = (byte: number): number => Math.min(n, from + Math.floor(byte / 3) * 4);
  const place = (h: Hit): Hit => {
    const a = charOf(h.start);
    const last = charOf(Math.max(h.start, h.end - 1));
    const start = origin[a]!;
    const end = origin[Math.min(n, last + 4)]!;
    // Line breaks or escapes inside the certificate's base64, which starts a line: a PEM body without its BEGIN line
    // (or `base64 -w N` of the DER file), not one-line base64 nor a certificate inside a base64 keystore.
    const wrapped = origin[last]! - start !== last - a;
    const startsLine = a === 0 || start - origin[a - 1]! > 1;
    const pemBody = wrapped && startsLine && (h.kind === 'base64-der' || h.kind === 'base64-der-same-key');
    return { ...h, kind: pemBody ? 'pem-body' : h.kind, start: winStart + start, end: winStart + end };
  };
  if (at < 0) return [];
  if (needle.role === 'key-b64') return verifyKey(m, m.targets[needle.target!]!, decoded, at, 0, 'base64-').map(place);
  if (needle.role === 'name-b64')
    return verifyIssued(m, m.targets[needle.target!]!, decoded, at, 0, 'base64-der').map(place);
  if (needle.role === 'der-marker-b64') return verifyDerMarker(m, decoded, at, 0, 'base64-der').map(place);
  if (depth >= MAX_DEPTH) return [];
  return scanBuffer(m, decoded, depth + 1).map((h) => place({ ...h, kind: base64Kind(h.kind) }));
}

function base64Kind(kind: MatchKind): MatchKind {
  switch (kind) {
    case 'der':
    case 'der-same-key':
    case 'der-intermediate':
    case 'public-key':
      return `base64-${kind}`;
    case 'pem-intermediate':
      return 'base64-pem-intermediate';
    default:
      return kind.startsWith('base64-') ? kind : 'base64-pem';
  }
}
