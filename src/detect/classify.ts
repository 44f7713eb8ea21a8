/**
 * Classifies the chain a server presented, by the trust anchor its signatures lead to. Pure: the certificate sets
 * come in as arguments. Names are never compared alone: every step of a path is a verified signature (isIssuedBy).
 *
 * The engineer's manual check ("open a site and look at the issuer: an organisation's or appliance's name means
 * inspection") becomes: build a path from the leaf through the presented certificates to a known anchor, and say
 * which set the anchor belongs to.
 */
import { colonFingerprint, isIssuedBy, type Certificate } from '../ca/certificate.js';

export type ChainVerdict = 'direct' | 'org-ca' | 'os-trusted' | 'unknown';
export type Verdict = ChainVerdict | 'unreachable';

/** Verdicts that mean something between the runner and the server re-signs TLS. */
export const INSPECTED: readonly Verdict[] = ['org-ca', 'os-trusted', 'unknown'];

export interface TrustSets {
  /** The CA given to org-ca (roots and/or intermediates). */
  readonly org: readonly Certificate[];
  /** Public web PKI roots: Node's bundled Mozilla store, plus the `public-roots` file. */
  readonly public: readonly Certificate[];
  /** What the OS store trusts (tls.getCACertificates('system')); public ones among them count as public. */
  readonly system: readonly Certificate[];
}

export interface Classification {
  readonly verdict: ChainVerdict;
  /** Leaf first; ends with the anchor when one was found, else with the highest certificate reachable by signatures. */
  readonly path: readonly Certificate[];
  /** The trusted certificate the path ends in (absent for `unknown`). */
  readonly anchor?: Certificate;
  /** The leaf's issuer as the server presented it: what a person sees in a browser. */
  readonly leafIssuer: string;
  /** For `unknown`: the issuer of the highest certificate reached, and that certificate's fingerprint. */
  readonly top: { readonly issuer: string; readonly subject: string; readonly fingerprint: string };
  /** Validity problems, reported apart from the verdict (an expired leaf does not change who signs). */
  readonly notes: readonly string[];
}

const MAX_DEPTH = 8;

/**
 * The same anchor: the same certificate, or the same key under the same name (a re-issued or cross-signed copy).
 * RFC 5280 §6.1.1(d) defines a trust anchor as a name and a public key, not as one certificate.
 */
function sameAnchor(a: Certificate, b: Certificate): boolean {
  return a.fingerprint === b.fingerprint || (a.spkiSha256 === b.spkiSha256 && a.subject === b.subject);
}

/** The anchor of `set` that `cert` is, or that signed `cert`. */
function anchorFor(cert: Certificate, set: readonly Certificate[]): Certificate | undefined {
  return set.find((anchor) => sameAnchor(cert, anchor)) ?? set.find((anchor) => isIssuedBy(cert, anchor));
}

/** Shortest path from the leaf through presented certificates to an anchor of `set`, by breadth-first search. */
function pathTo(
  leaf: Certificate,
  presented: readonly Certificate[],
  set: readonly Certificate[],
): { path: Certificate[]; anchor: Certificate } | undefined {
  if (set.length === 0) return undefined;
  let frontier: Certificate[][] = [[leaf]];
  for (let depth = 0; depth < MAX_DEPTH && frontier.length; depth++) {
    const next: Certificate[][] = [];
    for (const path of frontier) {
      const end = path[path.length - 1]!;
      const anchor = anchorFor(end, set);
      // A presented copy of the anchor stays in the path as sent; the anchor itself is the trusted set's certificate.
      if (anchor) return { path: sameAnchor(end, anchor) ? path : [...path, anchor], anchor };
      for (const candidate of presented) {
        if (path.some((c) => c.fingerprint === candidate.fingerprint)) continue;
        if (isIssuedBy(end, candidate)) next.push([...path, candidate]);
      }
    }
    frontier = next;
  }
  return undefined;
}

/** The longest signature path through the presented certificates: where an unknown chain tops out. */
function longestPath(leaf: Certificate, presented: readonly Certificate[]): Certificate[] {
  let best = [leaf];
  const walk = (path: Certificate[]): void => {
    if (path.length > best.length) best = path;
    if (path.length >= MAX_DEPTH) return;
    const end = path[path.length - 1]!;
    for (const candidate of presented) {
      if (path.some((c) => c.fingerprint === candidate.fingerprint)) continue;
      if (isIssuedBy(end, candidate)) walk([...path, candidate]);
    }
  };
  walk(best);
  return best;
}

function validityNotes(certs: readonly Certificate[], now: Date): string[] {
  const notes: string[] = [];
  certs.forEach((cert, i) => {
    const role = i === 0 ? 'server certificate' : 'CA certificate';
    if (cert.notAfter.getTime() < now.getTime())
      notes.push(`The ${role} '${cert.subject}' expired on ${cert.notAfter.toISOString()}.`);
    if (cert.notBefore.getTime() > now.getTime())
      notes.push(`The ${role} '${cert.subject}' is not valid before ${cert.notBefore.toISOString()}.`);
  });
  return notes;
}

/**
 * `chain` is what the server sent, leaf first (the order of the rest does not matter). The org CA is tried first so
 * that an org root which is also in the OS store is still `org-ca`; public before system, since the OS store holds
 * the public roots too.
 */
export function classifyChain(chain: readonly Certificate[], trust: TrustSets, now: Date): Classification {
  const leaf = chain[0];
  if (!leaf) throw new Error('classifyChain: the server presented no certificate');
  const presented = chain.slice(1);
  const systemOnly = trust.system.filter((s) => !trust.public.some((p) => sameAnchor(s, p)));
  const tries: ReadonlyArray<readonly [ChainVerdict, readonly Certificate[]]> = [
    ['org-ca', trust.org],
    ['direct', trust.public],
    ['os-trusted', systemOnly],
  ];
  for (const [verdict, set] of tries) {
    const found = pathTo(leaf, presented, set);
    if (!found) continue;
    const { path, anchor } = found;
    return {
      verdict,
      path,
      anchor,
      leafIssuer: leaf.issuer,
      top: { issuer: anchor.issuer, subject: anchor.subject, fingerprint: anchor.fingerprint },
      notes: validityNotes(path, now),
    };
  }
  const path = longestPath(leaf, presented);
  const top = path[path.length - 1]!;
  return {
    verdict: 'unknown',
    path,
    leafIssuer: leaf.issuer,
    top: { issuer: top.issuer, subject: top.subject, fingerprint: top.fingerprint },
    notes: validityNotes(path, now),
  };
}

/** One line for logs: "unknown: anchors nowhere known; top issuer 'CN=…' (SHA-256 AA:BB…)". */
export function describeClassification(c: Classification): string {
  switch (c.verdict) {
    case 'direct':
      return `direct: anchors in the public root '${c.anchor!.subject}'`;
    case 'org-ca':
      return `org-ca: anchors in the provided CA '${c.anchor!.subject}' (SHA-256 ${colonFingerprint(c.anchor!.fingerprint)})`;
    case 'os-trusted':
      return `os-trusted: anchors in '${c.anchor!.subject}' (SHA-256 ${colonFingerprint(c.anchor!.fingerprint)}), trusted by the OS store but not public`;
    case 'unknown':
      return c.top.subject === c.top.issuer
        ? `unknown: anchors nowhere known; the server sent the unknown root '${c.top.subject}' (SHA-256 ${colonFingerprint(c.top.fingerprint)})`
        : `unknown: anchors nowhere known; issued by '${c.top.issuer}', not sent; the chain as sent tops out at '${c.top.subject}' (SHA-256 ${colonFingerprint(c.top.fingerprint)})`;
  }
}
