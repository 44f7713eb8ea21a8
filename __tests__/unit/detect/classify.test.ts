import { certificateFromDer, type Certificate } from '../../../src/ca/certificate.js';
import { classifyChain, describeClassification, type TrustSets } from '../../../src/detect/classify.js';
import { mintIntermediate, mintLeaf, mintRoot, type Issued } from '../../support/pki.js';

const DAY = 24 * 60 * 60 * 1000;
const now = new Date();
const c = (issued: Issued): Certificate => certificateFromDer(issued.der);

// Public web PKI: root → intermediate → leaf, like a real site.
const publicRoot = mintRoot({ cn: 'Test Public Root', org: 'Public Trust' });
const publicIntermediate = mintIntermediate(publicRoot, { cn: 'Test Public Issuing CA' });
const publicLeaf = mintLeaf(publicIntermediate, { cn: 'github.test', dnsNames: ['github.test'] });
// Single-tier org CA (mitmproxy style).
const orgCa = mintRoot({ cn: 'Example Org Inspection CA', org: 'Example Org' });
const orgCaLeaf = mintLeaf(orgCa, { cn: 'github.test' });
// Two-tier org PKI (squid ssl-bump with an issuing intermediate).
const orgRoot = mintRoot({ cn: 'Example Org Root CA', org: 'Example Org' });
const orgIntermediate = mintIntermediate(orgRoot, { cn: 'Example Org Issuing CA 1', org: 'Example Org' });
const orgLeaf = mintLeaf(orgIntermediate, { cn: 'github.test' });
// An appliance nobody told us about, and an impostor that copies the org CA's name with another key.
const foreignCa = mintRoot({ cn: 'Foreign Appliance CA', org: 'Nobody We Know' });
const foreignLeaf = mintLeaf(foreignCa, { cn: 'github.test' });
const impostor = mintRoot({ cn: 'Example Org Inspection CA', org: 'Example Org' });
const impostorLeaf = mintLeaf(impostor, { cn: 'github.test' });
// Cross-signing: a new root's key certified both by itself and by an old root; the site sends the cross certificate.
const oldRoot = mintRoot({ cn: 'Old Public Root', org: 'Public Trust' });
const newRoot = mintRoot({ cn: 'New Public Root', org: 'Public Trust' });
const newRootCross = mintIntermediate(oldRoot, { cn: 'New Public Root', org: 'Public Trust', keys: newRoot.keys });
const newIntermediate = mintIntermediate(newRoot, { cn: 'New Public Issuing CA', org: 'Public Trust' });
const crossLeaf = mintLeaf(newIntermediate, { cn: 'cross.test' });
// Expired leaf under the org CA.
const expiredLeaf = mintLeaf(orgCa, {
  cn: 'old.test',
  notBefore: new Date(Date.now() - 400 * DAY),
  notAfter: new Date(Date.now() - 5 * DAY),
});

function trust(parts: Partial<Record<keyof TrustSets, Issued[]>>): TrustSets {
  return { org: (parts.org ?? []).map(c), public: (parts.public ?? []).map(c), system: (parts.system ?? []).map(c) };
}

const PUBLIC = { public: [publicRoot, oldRoot] };

// [name, presented chain (leaf first), trust, verdict, anchor subject or undefined]
const CASES: ReadonlyArray<readonly [string, Issued[], TrustSets, string, Issued | undefined]> = [
  [
    'public site, intermediate sent, root not sent',
    [publicLeaf, publicIntermediate],
    trust(PUBLIC),
    'direct',
    publicRoot,
  ],
  ['public site, root sent too', [publicLeaf, publicIntermediate, publicRoot], trust(PUBLIC), 'direct', publicRoot],
  [
    'public site, chain out of order',
    [publicLeaf, publicRoot, publicIntermediate],
    trust(PUBLIC),
    'direct',
    publicRoot,
  ],
  [
    'public site while an org CA is given: still direct',
    [publicLeaf, publicIntermediate],
    trust({ ...PUBLIC, org: [orgCa] }),
    'direct',
    publicRoot,
  ],
  ['single-tier org CA, leaf only', [orgCaLeaf], trust({ ...PUBLIC, org: [orgCa] }), 'org-ca', orgCa],
  ['single-tier org CA, CA sent along', [orgCaLeaf, orgCa], trust({ ...PUBLIC, org: [orgCa] }), 'org-ca', orgCa],
  [
    'two-tier org PKI, full chain sent, root given',
    [orgLeaf, orgIntermediate, orgRoot],
    trust({ ...PUBLIC, org: [orgRoot] }),
    'org-ca',
    orgRoot,
  ],
  [
    'two-tier org PKI, intermediate given instead of the root',
    [orgLeaf, orgIntermediate, orgRoot],
    trust({ ...PUBLIC, org: [orgIntermediate] }),
    'org-ca',
    orgIntermediate,
  ],
  [
    'two-tier org PKI, leaf only, intermediate given',
    [orgLeaf],
    trust({ ...PUBLIC, org: [orgIntermediate] }),
    'org-ca',
    orgIntermediate,
  ],
  [
    'two-tier org PKI, leaf only, only the root given: no path',
    [orgLeaf],
    trust({ ...PUBLIC, org: [orgRoot] }),
    'unknown',
    undefined,
  ],
  [
    'org root in the OS store, no CA given',
    [orgLeaf, orgIntermediate],
    trust({ ...PUBLIC, system: [publicRoot, orgRoot] }),
    'os-trusted',
    orgRoot,
  ],
  [
    'org root in the OS store and given: org-ca wins',
    [orgLeaf, orgIntermediate],
    trust({ ...PUBLIC, org: [orgRoot], system: [orgRoot] }),
    'org-ca',
    orgRoot,
  ],
  [
    'org intermediate in the OS store, root given: org-ca wins',
    [orgLeaf, orgIntermediate],
    trust({ ...PUBLIC, org: [orgRoot], system: [orgIntermediate] }),
    'org-ca',
    orgRoot,
  ],
  [
    'public root in the OS store stays public',
    [publicLeaf, publicIntermediate],
    trust({ ...PUBLIC, system: [publicRoot] }),
    'direct',
    publicRoot,
  ],
  [
    'OS store only knows the public root (no public set): os-trusted',
    [publicLeaf, publicIntermediate],
    trust({ system: [publicRoot] }),
    'os-trusted',
    publicRoot,
  ],
  [
    'foreign appliance, CA sent along',
    [foreignLeaf, foreignCa],
    trust({ ...PUBLIC, org: [orgCa] }),
    'unknown',
    undefined,
  ],
  [
    'foreign appliance, leaf only',
    [foreignLeaf],
    trust({ ...PUBLIC, org: [orgCa], system: [publicRoot] }),
    'unknown',
    undefined,
  ],
  [
    'wrong CA given for the two-tier proxy',
    [orgLeaf, orgIntermediate, orgRoot],
    trust({ ...PUBLIC, org: [orgCa] }),
    'unknown',
    undefined,
  ],
  [
    'impostor with the org CA name and another key is not the org CA',
    [impostorLeaf, impostor],
    trust({ ...PUBLIC, org: [orgCa] }),
    'unknown',
    undefined,
  ],
  [
    'cross-signed: the new root is trusted, the cross certificate sent',
    [crossLeaf, newIntermediate, newRootCross],
    trust({ public: [newRoot] }),
    'direct',
    newRoot,
  ],
  [
    'cross-signed: only the old root is trusted',
    [crossLeaf, newIntermediate, newRootCross],
    trust({ public: [oldRoot] }),
    'direct',
    oldRoot,
  ],
  [
    'cross-signed: neither root trusted',
    [crossLeaf, newIntermediate, newRootCross],
    trust({ public: [publicRoot] }),
    'unknown',
    undefined,
  ],
  [
    'expired leaf still anchors in the org CA',
    [expiredLeaf, orgCa],
    trust({ ...PUBLIC, org: [orgCa] }),
    'org-ca',
    orgCa,
  ],
];

describe('classifyChain', () => {
  test.each(CASES)('%s → %s', (_name, chain, sets, verdict, anchor) => {
    const result = classifyChain(chain.map(c), sets, now);
    expect(result.verdict).toBe(verdict);
    expect(result.anchor?.fingerprint).toBe(anchor ? c(anchor).fingerprint : undefined);
    expect(result.path[0]!.fingerprint).toBe(c(chain[0]!).fingerprint);
  });

  test('unknown names the top of the chain: its issuer subject and SHA-256', () => {
    const sent = classifyChain([c(foreignLeaf), c(foreignCa)], trust(PUBLIC), now);
    expect(sent.top).toEqual({
      subject: 'CN=Foreign Appliance CA, O=Nobody We Know',
      issuer: 'CN=Foreign Appliance CA, O=Nobody We Know',
      fingerprint: c(foreignCa).fingerprint,
    });
    expect(describeClassification(sent)).toMatch(
      /^unknown: .*'CN=Foreign Appliance CA, O=Nobody We Know' \(SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\)$/,
    );
    expect(describeClassification(classifyChain([c(foreignLeaf)], trust(PUBLIC), now))).toContain(
      "issued by 'CN=Foreign Appliance CA, O=Nobody We Know', not sent",
    );
    // leaf only: the top is the leaf, and its issuer is the appliance
    const leafOnly = classifyChain([c(foreignLeaf)], trust(PUBLIC), now);
    expect(leafOnly.top.issuer).toBe('CN=Foreign Appliance CA, O=Nobody We Know');
    expect(leafOnly.top.fingerprint).toBe(c(foreignLeaf).fingerprint);
  });

  test('the path follows signatures through the intermediate to the anchor', () => {
    const result = classifyChain([c(orgLeaf), c(orgRoot), c(orgIntermediate)], trust({ org: [orgRoot] }), now);
    expect(result.path.map((x) => x.subject)).toEqual([
      'CN=github.test',
      'CN=Example Org Issuing CA 1, O=Example Org',
      'CN=Example Org Root CA, O=Example Org',
    ]);
    expect(result.leafIssuer).toBe('CN=Example Org Issuing CA 1, O=Example Org');
  });

  test('cross-signed: the shortest path wins; through the cross certificate only when the old root is the anchor', () => {
    const fp = (certs: readonly Certificate[]): string[] => certs.map((x) => x.fingerprint);
    const viaNew = classifyChain(
      [c(crossLeaf), c(newIntermediate), c(newRootCross)],
      trust({ public: [newRoot] }),
      now,
    );
    expect(fp(viaNew.path)).toEqual(fp([c(crossLeaf), c(newIntermediate), c(newRoot)]));
    const viaOld = classifyChain(
      [c(crossLeaf), c(newIntermediate), c(newRootCross)],
      trust({ public: [oldRoot] }),
      now,
    );
    expect(fp(viaOld.path)).toEqual(fp([c(crossLeaf), c(newIntermediate), c(newRootCross), c(oldRoot)]));
    // the presented cross certificate is the same anchor as the trusted new root (same name, same key)
    const crossAsAnchor = classifyChain([c(newRootCross)], trust({ public: [newRoot] }), now);
    expect(fp(crossAsAnchor.path)).toEqual(fp([c(newRootCross)]));
    expect(crossAsAnchor.anchor!.fingerprint).toBe(c(newRoot).fingerprint);
  });

  test('validity is noted apart from the verdict', () => {
    const result = classifyChain([c(expiredLeaf)], trust({ org: [orgCa] }), now);
    expect(result.verdict).toBe('org-ca');
    expect(result.notes).toEqual([expect.stringMatching(/^The server certificate 'CN=old.test' expired on \d{4}-/)]);
    expect(classifyChain([c(orgCaLeaf)], trust({ org: [orgCa] }), now).notes).toEqual([]);
  });

  test('an empty chain is a programming error', () => {
    expect(() => classifyChain([], trust(PUBLIC), now)).toThrow(/presented no certificate/);
  });
});
