/**
 * Scanning what is not a layer: config and history text (with base64 tokens decoded, JSON walked string by string)
 * and other blobs of an image (attestations, stray members), streamed through the matcher and hashed. Given an
 * opener, never where the bytes come from.
 */
import { ContentScanner, scanBuffer, type Matcher } from './matcher.js';
import { DigestHash } from '../digest.js';
import type { BlobOpener, BlobRef, Hit } from '../types.js';

/** Text, plus any base64 token in it decoded (descriptor `data`, max-mode provenance hold JSON []byte as base64). */
export function scanText(matcher: Matcher, text: string, depth = 0): Hit[] {
  const hits = scanBuffer(matcher, Buffer.from(text, 'utf8'));
  if (depth < 2) {
    const found = new Set(hits.map((h) => h.fingerprint));
    for (const token of text.match(/[A-Za-z0-9+/]{64,}={0,2}/g) ?? []) {
      const decoded = Buffer.from(token, 'base64');
      const inner = scanBuffer(matcher, decoded);
      if (decoded[0] === 0x7b || decoded[0] === 0x5b)
        inner.push(...scanJsonStrings(matcher, decoded.toString('utf8'), depth + 1));
      // A PEM line is itself base64: what decodes from it was already found as the PEM.
      for (const h of inner) {
        if (found.has(h.fingerprint)) continue;
        found.add(h.fingerprint);
        hits.push(h);
      }
    }
  }
  return hits;
}

function scanJsonStrings(matcher: Matcher, text: string, depth: number): Hit[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return [];
  }
  const hits: Hit[] = [];
  // An explicit stack: a hostile blob of a million nested lists must not overflow the call stack.
  const stack: unknown[] = [doc];
  while (stack.length) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (v.length >= 40) hits.push(...scanText(matcher, v, depth));
    } else if (Array.isArray(v)) {
      for (const x of v) stack.push(x);
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k.length >= 40) hits.push(...scanText(matcher, k, depth));
        stack.push(x);
      }
    }
  }
  return hits;
}

/**
 * JSON up to this size is also walked string by string (escapes undone); bigger documents are searched as they
 * stream (escaped newlines in base64 included), so the walk's copies of the text stay within the memory bound.
 */
const MAX_JSON_WALK = 16 * 1024 * 1024;

/** A non-layer member: streamed through the matcher and hashed; JSON is also walked string by string. */
export async function scanContent(
  blob: BlobRef,
  matcher: Matcher,
  maybeJson: boolean,
  openBlob: BlobOpener,
  expectedDigest?: string,
): Promise<{ hits: Hit[]; digest: string; error?: string }> {
  const hash = DigestHash.for(expectedDigest);
  const scanner = new ContentScanner(matcher);
  const keep: Buffer[] = [];
  let kept = 0;
  try {
    if (blob.size > 0) {
      for await (const chunk of await openBlob(blob)) {
        const b = chunk as Buffer;
        hash.update(b);
        scanner.feed(b);
        if (maybeJson && kept < MAX_JSON_WALK) {
          keep.push(b);
          kept += b.length;
        }
      }
    }
  } catch (error) {
    return {
      hits: scanner.end(),
      digest: hash.digest(),
      error: error instanceof Error ? error.message : String(error),
    };
  }
  const hits = scanner.end();
  if (maybeJson && kept <= MAX_JSON_WALK) {
    const text = Buffer.concat(keep).toString('utf8');
    if (/^\s*[[{]/.test(text)) {
      const fps = new Set(hits.map((h) => h.fingerprint));
      for (const h of scanJsonStrings(matcher, text, 0)) if (!fps.has(h.fingerprint)) hits.push(h);
    }
  }
  return { hits, digest: hash.digest() };
}
