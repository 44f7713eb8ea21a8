import { createHash, X509Certificate } from 'node:crypto';
import { certificateFromDer } from '../ca/certificate.js';
import { parseCertificates } from '../ca/parse.js';
import type { Hit, MatchKind, TargetSpec } from './types.js';

/**
 * Finds a CA in arbitrary bytes, streaming, with memory bounded by a small window whatever the file size.
 *
 * Speed comes from searching few, long, random needles with Buffer#indexOf (V8's Boyer-Moore-Horspool: several GB/s)
 * and verifying the rare hits on a window of context. The needles are chosen so that every listed encoding of the
 * CA contains at least one of them:
 * - 32 bytes of the CA's public key (inside its SubjectPublicKeyInfo): DER copies, JKS and unencrypted PKCS#12,
 *   binaries, and any re-issued or cross-signed certificate of the same key;
 * - the base64 of those bytes at the 3 byte alignments: one-line base64 of the DER, and PEM bodies, because the
 *   bytes are picked so their base64 lies inside one 64-column PEM line;
 * - the base64 of that whole PEM line at 3 alignments: base64 of a PEM file;
 * - `-----BEGIN `: every PEM block, in any line wrapping or line ending, decoded and compared.
 * With only fingerprints there is no key to look for, so every certificate found is parsed and hashed: PEM blocks,
 * DER v3 certificates (by the bytes `a0 03 02 01 02 02` that open every v3 TBSCertificate) and their base64.
 */

type Role = 'begin' | 'key' | 'key-b64' | 'pem-b64' | 'der-marker' | 'der-marker-b64' | 'begin-b64';

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
}

export interface Matcher {
  readonly targets: readonly Target[];
  readonly fingerprints: ReadonlySet<string>;
  readonly needles: readonly Needle[];
  readonly maxNeedle: number;
}

const KEY_SEG = 32;
/** Context kept before a hit and awaited after it. A certificate is a few KiB; PEM bundles of PKCS#7 can be more. */
const BACK = 16 * 1024;
const FORWARD = 16 * 1024;
const FORWARD_BEGIN = 64 * 1024;
const MAX_HITS_PER_FILE = 64;
const MAX_DEPTH = 2;

const DER_MARKER = Buffer.from([0xa0, 0x03, 0x02, 0x01, 0x02, 0x02]);
const BEGIN = Buffer.from('-----BEGIN ');
const CERT_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE', 'PKCS7', 'CMS', 'PKCS #7 SIGNED DATA']);

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

function spkiOf(x509: X509Certificate): Buffer {
  return x509.publicKey.export({ type: 'spki', format: 'der' });
}

/** 32 key bytes whose base64, in the DER's own alignment, sits inside one 64-column PEM line (48 DER bytes a line). */
function pickKeySegment(der: Buffer, spki: Buffer): { seg: Buffer; offset: number } {
  const spkiAt = der.indexOf(spki);
  // The key material is the tail of the SPKI (RSA: modulus then a 5-byte exponent; EC: the point).
  const keyStart = spkiAt + Math.max(0, spki.length - 8 - 256);
  const keyEnd = spkiAt + spki.length - 8;
  for (let line = Math.ceil(keyStart / 48); 48 * line + 3 + KEY_SEG <= keyEnd; line++) {
    const offset = 48 * line + 3;
    return { seg: der.subarray(offset, offset + KEY_SEG), offset };
  }
  const offset = Math.max(spkiAt, keyEnd - KEY_SEG);
  return { seg: der.subarray(offset, offset + KEY_SEG), offset };
}

export function buildMatcher(spec: TargetSpec): Matcher {
  const targets: Target[] = [];
  const needles: Needle[] = [];
  const fingerprints = new Set(spec.fingerprints.map((f) => f.toLowerCase()));
  for (const given of spec.certs) {
    const der = Buffer.from(given.der);
    const cert = certificateFromDer(der);
    const spki = spkiOf(cert.x509);
    const { seg, offset } = pickKeySegment(cert.der, spki);
    const index = targets.length;
    targets.push({ der: cert.der, fingerprint: cert.fingerprint, spkiSha256: cert.spkiSha256, subject: cert.subject, keySeg: seg });
    fingerprints.add(cert.fingerprint);
    needles.push({ bytes: seg, role: 'key', target: index, lead: 0, shift: 0 });
    for (let shift = 0; shift < 3; shift++) {
      const n = base64Needle(seg.subarray(0, KEY_SEG - 2), shift);
      needles.push({ bytes: Buffer.from(n.text), role: 'key-b64', target: index, lead: n.lead, shift });
    }
    // The 64-column PEM line around the key bytes, for base64 of a whole PEM file.
    const body = cert.der.toString('base64');
    const lineStart = Math.floor((Math.ceil(offset / 3) * 4) / 64) * 64;
    const line = Buffer.from(body.slice(lineStart, lineStart + 64));
    if (line.length === 64) {
      for (let shift = 0; shift < 3; shift++) {
        const n = base64Needle(line, shift);
        needles.push({ bytes: Buffer.from(n.text), role: 'pem-b64', target: index, lead: n.lead, shift });
      }
    }
  }
  needles.push({ bytes: BEGIN, role: 'begin', lead: 0, shift: 0 });
  if (targets.length === 0) {
    needles.push({ bytes: DER_MARKER, role: 'der-marker', lead: 0, shift: 0 });
    for (let shift = 0; shift < 3; shift++) {
      const marker = base64Needle(DER_MARKER, shift);
      needles.push({ bytes: Buffer.from(marker.text), role: 'der-marker-b64', lead: marker.lead, shift });
      const begin = base64Needle(Buffer.from('-----BEGIN CERTIFICATE-----'), shift);
      needles.push({ bytes: Buffer.from(begin.text), role: 'begin-b64', lead: begin.lead, shift });
    }
  }
  return { targets, fingerprints, needles, maxNeedle: Math.max(...needles.map((n) => n.bytes.length)) };
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

  constructor(
    private readonly matcher: Matcher,
    private readonly depth = 0,
  ) {}

  feed(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const base = this.total;
    const { needles, maxNeedle } = this.matcher;
    if (this.tail.length > 0) {
      // Matches that straddle the previous chunk and this one.
      const seam = Buffer.concat([this.tail, chunk.subarray(0, maxNeedle - 1)]);
      for (const needle of needles) {
        let i = seam.indexOf(needle.bytes);
        while (i !== -1 && i < this.tail.length) {
          if (i + needle.bytes.length > this.tail.length) this.pending.push({ pos: base - this.tail.length + i, needle });
          i = seam.indexOf(needle.bytes, i + 1);
        }
      }
    }
    for (const needle of needles) {
      let i = chunk.indexOf(needle.bytes);
      while (i !== -1) {
        this.pending.push({ pos: base + i, needle });
        i = chunk.indexOf(needle.bytes, i + 1);
      }
    }
    this.total += chunk.length;
    this.history.push({ start: base, buf: chunk });
    const keep = maxNeedle - 1;
    this.tail = chunk.length >= keep ? chunk.subarray(chunk.length - keep) : Buffer.concat([this.tail, chunk]).subarray(-keep);
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
      const forward = p.needle.role === 'begin' ? FORWARD_BEGIN : FORWARD;
      if (!atEnd && this.total < p.pos + forward) {
        still.push(p);
        continue;
      }
      if (this.hits.length >= MAX_HITS_PER_FILE) continue;
      const w = this.window(Math.max(0, p.pos - BACK), p.pos + forward);
      for (const hit of verify(this.matcher, p.needle, w.buf, p.pos - w.start, w.start, this.depth)) this.hits.push(hit);
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

function verify(m: Matcher, needle: Needle, win: Buffer, rel: number, winStart: number, depth: number): Hit[] {
  switch (needle.role) {
    case 'begin':
      return verifyPem(m, win, rel, winStart);
    case 'key':
      return verifyKey(m, m.targets[needle.target!]!, win, rel, winStart, '');
    case 'der-marker':
      return verifyDerMarker(m, win, rel, winStart, '');
    default:
      return verifyBase64(m, needle, win, rel, winStart, depth);
  }
}

function hitFor(m: Matcher, der: Buffer, kindSame: MatchKind, kindExact: MatchKind, start: number, end: number): Hit | undefined {
  const fingerprint = createHash('sha256').update(der).digest('hex');
  if (m.fingerprints.has(fingerprint)) {
    const t = m.targets.find((x) => x.fingerprint === fingerprint);
    return { kind: kindExact, fingerprint, ...(t ? { subject: t.subject } : {}), start, end };
  }
  if (m.targets.length === 0) return undefined;
  // Same key, other certificate: only worth an X.509 parse when the key bytes are there.
  const t = m.targets.find((x) => der.includes(x.keySeg));
  if (!t) return undefined;
  try {
    const cert = certificateFromDer(der);
    if (cert.spkiSha256 === t.spkiSha256) return { kind: kindSame, fingerprint: cert.fingerprint, subject: cert.subject, start, end };
  } catch {
    // not a certificate
  }
  return undefined;
}

/** Whether one DER certificate (from a keystore) is a target, by fingerprint or by key. */
export function classifyDer(m: Matcher, der: Buffer): { fingerprint: string; subject?: string } | undefined {
  const hit = hitFor(m, der, 'der-same-key', 'der', 0, der.length);
  return hit ? { fingerprint: hit.fingerprint, ...(hit.subject ? { subject: hit.subject } : {}) } : undefined;
}

function verifyPem(m: Matcher, win: Buffer, rel: number, winStart: number): Hit[] {
  const text = win.toString('latin1', rel, Math.min(win.length, rel + FORWARD_BEGIN));
  const head = /^-----BEGIN ([A-Z0-9 #]{1,40})-----/.exec(text);
  if (!head || !CERT_LABELS.has(head[1]!)) return [];
  const label = head[1]!;
  const endMarker = `-----END ${label}-----`;
  const endAt = text.indexOf(endMarker, head[0].length);
  if (endAt === -1) return [];
  // Bodies appear JSON- or shell-escaped (\n, \r, \/) as well as raw: drop escapes, then anything not base64.
  const body = text
    .slice(head[0].length, endAt)
    .replace(/\\[nrt]/g, '')
    .replace(/[^A-Za-z0-9+/=]/g, '');
  const start = winStart + rel;
  const end = start + endAt + endMarker.length;
  const ders: Buffer[] = [];
  if (label === 'PKCS7' || label === 'CMS' || label === 'PKCS #7 SIGNED DATA') {
    try {
      for (const cert of parseCertificates(`-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`, 'image')) ders.push(cert.der);
    } catch {
      return [];
    }
  } else {
    const der = Buffer.from(body, 'base64');
    ders.push(label === 'TRUSTED CERTIFICATE' ? firstDerElement(der) : der);
  }
  const hits: Hit[] = [];
  for (const der of ders) {
    const hit = hitFor(m, der, 'pem-same-key', 'pem', start, end);
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

/** Looks for a whole certificate around the key bytes at `rel`; without one, the key alone is reported. */
function verifyKey(m: Matcher, t: Target, win: Buffer, rel: number, winStart: number, prefix: '' | 'base64-'): Hit[] {
  for (let q = rel - 1; q >= Math.max(0, rel - 8192); q--) {
    if (win[q] !== 0x30 || (win[q + 1] ?? 0) < 0x81 || (win[q + 1] ?? 0) > 0x83) continue;
    const len = derLength(win, q);
    if (!len || q + len < rel + KEY_SEG || q + len > win.length || len > 65536) continue;
    const hit = hitFor(m, win.subarray(q, q + len), `${prefix}der-same-key` as MatchKind, `${prefix}der` as MatchKind, winStart + q, winStart + q + len);
    if (hit) return [hit];
  }
  return [{ kind: `${prefix}public-key` as MatchKind, fingerprint: t.fingerprint, subject: t.subject, start: winStart + rel, end: winStart + rel + KEY_SEG }];
}

function verifyDerMarker(m: Matcher, win: Buffer, rel: number, winStart: number, prefix: '' | 'base64-'): Hit[] {
  // Certificate SEQUENCE, then TBSCertificate SEQUENCE, then `a0 03 02 01 02`: try each length-of-length pair.
  for (const back of [8, 9, 7, 6, 10]) {
    const q = rel - back;
    if (q < 0) continue;
    const len = derLength(win, q);
    if (!len || q + len > win.length) continue;
    const hit = hitFor(m, win.subarray(q, q + len), `${prefix}der-same-key` as MatchKind, `${prefix}der` as MatchKind, winStart + q, winStart + q + len);
    if (hit) return [hit];
  }
  return [];
}

const B64 = /[A-Za-z0-9+/=]/;
// Node's base64 decoder stops at the first '=', so a run never extends left over padding.
const B64_NO_PAD = /[A-Za-z0-9+/]/;

/**
 * Decodes the base64 text around a base64 needle (skipping line breaks, JSON escapes and quotes, so wrapped
 * bodies decode too) at the needle's own alignment, then looks inside the decoded bytes.
 */
function verifyBase64(m: Matcher, needle: Needle, win: Buffer, rel: number, winStart: number, depth: number): Hit[] {
  const s = win.toString('latin1');
  const skippable = (i: number): number => {
    const c = s[i]!;
    if (c === '\\' && /[nrt/]/.test(s[i + 1] ?? '')) return s[i + 1] === '/' ? 0 : 2;
    if (c === '\n' || c === '\r' || c === ' ' || c === '\t' || c === '"' || c === "'") return 1;
    return 0;
  };
  let left = rel;
  while (left > 0) {
    const c = s[left - 1]!;
    if (B64_NO_PAD.test(c) || c === '\n' || c === '\r' || c === ' ' || c === '\t' || c === '"' || c === "'") left--;
    else if (c === '\\' || (s[left - 2] === '\\' && /[nrt]/.test(c))) left--;
    else break;
  }
  let out = '';
  const origin: number[] = [];
  let hitNorm = -1;
  let i = left;
  for (; i < s.length; ) {
    if (i === rel) hitNorm = out.length;
    const c = s[i]!;
    if (c === '\\' && s[i + 1] === '/') {
      origin.push(i);
      out += '/';
      i += 2;
      continue;
    }
    const skip = skippable(i);
    if (skip) {
      i += skip;
      continue;
    }
    if (!B64.test(c)) break;
    origin.push(i);
    out += c;
    i++;
    if (c === '=' && s[i] !== '=') break;
  }
  origin.push(i);
  if (hitNorm === -1) return [];
  const group = hitNorm - needle.lead;
  const from = ((group % 4) + 4) % 4;
  const usable = out.length - from - ((out.length - from) % 4);
  const decoded = Buffer.from(out.slice(from, from + usable), 'base64');
  const at = ((group - from) / 4) * 3 + needle.shift;
  // Decoded byte offsets back to window offsets, so the ranges of separate copies stay separate.
  const charOf = (byte: number): number => Math.min(out.length, from + Math.floor(byte / 3) * 4);
  const place = (h: Hit): Hit => {
    const a = charOf(h.start);
    const last = charOf(Math.max(h.start, h.end - 1));
    const start = origin[a]!;
    const end = origin[Math.min(out.length, last + 4)]!;
    // Line breaks or escapes inside the certificate's base64: a wrapped PEM body, not one-line base64.
    const wrapped = origin[last]! - start !== last - a;
    const kind: MatchKind = needle.role === 'key-b64' && wrapped && h.kind !== 'base64-public-key' ? 'pem-body' : h.kind;
    return { ...h, kind, start: winStart + start, end: winStart + end };
  };
  if (needle.role === 'key-b64') return verifyKey(m, m.targets[needle.target!]!, decoded, at, 0, 'base64-').map(place);
  if (needle.role === 'der-marker-b64') return verifyDerMarker(m, decoded, at, 0, 'base64-').map(place);
  if (depth >= MAX_DEPTH) return [];
  return scanBuffer(m, decoded, depth + 1).map((h) => place({ ...h, kind: base64Kind(h.kind) }));
}

function base64Kind(kind: MatchKind): MatchKind {
  if (kind === 'der' || kind === 'der-same-key' || kind === 'public-key') return `base64-${kind}`;
  if (kind.startsWith('base64-')) return kind;
  return 'base64-pem';
}
