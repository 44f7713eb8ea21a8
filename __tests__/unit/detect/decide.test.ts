import { certificateFromDer, type Certificate } from '../../../src/ca/certificate.js';
import {
  decideBeforeProbe,
  decideByProbes,
  decideByRunner,
  probesSettled,
  type ProbeOutcome,
} from '../../../src/decision/decide.js';
import { parseInputs, parseProbeUrls } from '../../../src/action/inputs.js';
import { OptionError, parseDuration } from '../../../src/options/parse.js';
import { REASON_CODES } from '../../../src/decision/reasons.js';
import { classifyChain, type Verdict } from '../../../src/detect/classify.js';
import { mintLeaf, mintRoot } from '../../support/pki.js';

const c = (x: { der: Buffer }): Certificate => certificateFromDer(x.der);
const publicRoot = mintRoot({ cn: 'Public Root' });
const orgCa = mintRoot({ cn: 'Org CA', org: 'Example Org' });
const osRoot = mintRoot({ cn: 'IT Appliance Root', org: 'Example Org IT' });
const foreign = mintRoot({ cn: 'Foreign Appliance CA' });
const trust = { org: [c(orgCa)], public: [c(publicRoot)], system: [c(osRoot)] };
const now = new Date();

function outcome(url: string, issuer: typeof publicRoot | undefined, org = true): ProbeOutcome {
  if (!issuer) return { url, verdict: 'unreachable' };
  const classification = classifyChain(
    [c(mintLeaf(issuer, { cn: url }))],
    { ...trust, org: org ? trust.org : [] },
    now,
  );
  return { url, verdict: classification.verdict, classification };
}

const GIVEN = { subject: 'CN=Org CA, O=Example Org', fingerprint: c(orgCa).fingerprint };
const base = { onUnknown: 'fail', onUnreachable: 'inject' } as const;

// [name, outcomes (issuer per probe; undefined = unreachable), CA given?, policy, act, reason, fails?]
type Row = readonly [
  string,
  ReadonlyArray<typeof publicRoot | undefined>,
  boolean,
  Partial<typeof base> | { onUnknown?: 'warn'; onUnreachable?: 'skip' | 'fail' },
  boolean,
  string,
  boolean,
];
const ROWS: readonly Row[] = [
  ['all public → nothing to do', [publicRoot, publicRoot], true, {}, false, 'not-inspected', false],
  [
    'public + unreachable → nothing to do, with a warning',
    [publicRoot, undefined],
    true,
    {},
    false,
    'not-inspected',
    false,
  ],
  ['org CA on one probe → inject', [orgCa, publicRoot], true, {}, true, 'inspected-org-ca', false],
  ['org CA on every probe → inject', [orgCa, orgCa], true, {}, true, 'inspected-org-ca', false],
  ['OS-store root, no CA given → inject that root', [osRoot, osRoot], false, {}, true, 'inspected-os-trusted', false],
  ['OS-store root while a CA was given → fail (mismatch)', [osRoot], true, {}, false, 'ca-mismatch', true],
  [
    'OS-store root while a CA was given, on-unknown warn → nothing',
    [osRoot],
    true,
    { onUnknown: 'warn' },
    false,
    'ca-mismatch',
    false,
  ],
  ['foreign issuer → fail', [foreign], false, {}, false, 'unknown-issuer', true],
  [
    'foreign issuer while the org CA works elsewhere → fail (mismatch: a CA was given)',
    [orgCa, foreign],
    true,
    {},
    false,
    'ca-mismatch',
    true,
  ],
  ['foreign issuer while a CA was given → fail (mismatch)', [foreign], true, {}, false, 'ca-mismatch', true],
  [
    'foreign issuer, on-unknown warn, org CA elsewhere → inject',
    [orgCa, foreign],
    true,
    { onUnknown: 'warn' },
    true,
    'inspected-org-ca',
    false,
  ],
  [
    'foreign issuer, CA given, on-unknown warn, alone → nothing',
    [foreign],
    true,
    { onUnknown: 'warn' },
    false,
    'ca-mismatch',
    false,
  ],
  [
    'foreign issuer, no CA, on-unknown warn → nothing',
    [foreign],
    false,
    { onUnknown: 'warn' },
    false,
    'unknown-issuer',
    false,
  ],
  [
    'all unreachable, CA given, inject → inject with warning',
    [undefined, undefined],
    true,
    {},
    true,
    'unreachable-inject',
    false,
  ],
  ['all unreachable, no CA, inject → nothing, with warning', [undefined], false, {}, false, 'unreachable-no-ca', false],
  ['all unreachable, skip', [undefined], true, { onUnreachable: 'skip' }, false, 'unreachable-skip', false],
  ['all unreachable, fail', [undefined], true, { onUnreachable: 'fail' }, false, 'unreachable', true],
  ['no probe URL at all behaves as unreachable', [], true, {}, true, 'unreachable-inject', false],
];

/** Every reason the decision functions returned in this file's tables: must be exactly the documented list. */
const emitted = new Set<string>();

describe('decideByProbes', () => {
  test.each(ROWS)('%s', (_name, issuers, caGiven, policy, act, reason, fails) => {
    const outcomes = issuers.map((issuer, i) => outcome(`https://h${i}.test/`, issuer, caGiven));
    const d = decideByProbes({ outcomes, ...(caGiven ? { ca: GIVEN } : {}), ...base, ...policy });
    emitted.add(d.reason);
    expect({ act: d.act, reason: d.reason, fails: Boolean(d.failure) }).toEqual({ act, reason, fails });
    expect(d.inspected).toBe(
      outcomes.some((o) => (['org-ca', 'os-trusted', 'unknown'] as Verdict[]).includes(o.verdict)),
    );
  });

  test('a foreign issuer with no CA given fails as unknown-issuer, naming it with its fingerprint', () => {
    const d = decideByProbes({ outcomes: [outcome('https://github.com/', foreign, false)], ...base });
    expect(d.reason).toBe('unknown-issuer');
    expect(d.failure).toMatch(
      /^TLS inspection by an issuer nobody provided: https:\/\/github.com\/ is re-signed by an unknown issuer 'CN=Foreign Appliance CA' \(not sent; /,
    );
    expect(d.failure).not.toContain('the CA given');
    // An empty `ca:` is most often a misspelt secret name: the failure says the inputs were empty.
    expect(d.failure).toContain(
      'No CA was given: ca and ca-file are both empty (a secret that does not exist reads as empty: check its name).',
    );
  });

  test('a foreign issuer while a CA was given fails as ca-mismatch, naming both with their fingerprints', () => {
    const d = decideByProbes({ outcomes: [outcome('https://github.com/', foreign)], ca: GIVEN, ...base });
    expect(d.reason).toBe('ca-mismatch');
    expect(d.failure).toMatch(
      /^TLS inspection by a CA other than the one given: https:\/\/github.com\/ is re-signed by an unknown issuer 'CN=Foreign Appliance CA' \(not sent; the chain as sent tops out at 'CN=https:\/\/github.com\/' \(SHA-256 /,
    );
    expect(d.failure).toContain(`the CA given is 'CN=Org CA, O=Example Org'`);
    expect(d.failure).toMatch(/SHA-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\)/);
    expect(d.failure).toMatch(/set on-unknown: 'warn' to continue\.$/);
    expect(d.failure).not.toContain('both empty');
  });

  test('a mismatch shows both CAs', () => {
    const d = decideByProbes({ outcomes: [outcome('https://x.test/', osRoot, true)], ca: GIVEN, ...base });
    expect(d.failure).toContain(`re-signed by 'CN=IT Appliance Root, O=Example Org IT'`);
    expect(d.failure).toContain(`the CA given is 'CN=Org CA, O=Example Org'`);
  });

  test('OS-trusted: the roots to export, de-duplicated; issuer is the leaf issuer seen', () => {
    const d = decideByProbes({
      outcomes: [outcome('https://a.test/', osRoot, false), outcome('https://b.test/', osRoot, false)],
      ...base,
    });
    expect(d.osAnchors.map((a) => a.fingerprint)).toEqual([c(osRoot).fingerprint]);
    expect(d.issuer).toBe('CN=IT Appliance Root, O=Example Org IT');
  });

  test('not inspected: issuer empty, warning for the unreachable one', () => {
    const d = decideByProbes({
      outcomes: [outcome('https://a.test/', publicRoot), outcome('https://b.test/', undefined)],
      ca: GIVEN,
      ...base,
    });
    expect(d.issuer).toBe('');
    expect(d.warnings).toEqual(['1 probe(s) got no answer (https://b.test/); the others saw no inspection.']);
  });
});

describe('probesSettled', () => {
  test('a failure is final at once; anything else waits for every answer', () => {
    const policy = { ca: GIVEN, ...base };
    expect(probesSettled([outcome('https://a.test/', foreign), undefined], policy)).toBe(true);
    expect(probesSettled([outcome('https://a.test/', osRoot), undefined], policy)).toBe(true);
    expect(probesSettled([outcome('https://a.test/', orgCa), undefined], policy)).toBe(false);
    expect(probesSettled([outcome('https://a.test/', foreign), undefined], { ...policy, onUnknown: 'warn' })).toBe(
      false,
    );
  });
});

describe('decideBeforeProbe', () => {
  test.each([
    ['auto', 'github-hosted', false, 'github-hosted-runner'],
    ['auto', 'self-hosted', undefined, undefined],
    ['auto', undefined, undefined, undefined],
    ['self-hosted', 'self-hosted', true, 'self-hosted-runner'],
    ['self-hosted', 'github-hosted', false, 'github-hosted-runner'],
    ['always', 'github-hosted', true, 'when-always'],
    ['never', 'self-hosted', false, 'when-never'],
  ] as const)('when %s on %s', (when, env, act, reason) => {
    const d = decideBeforeProbe(when, env);
    if (d) emitted.add(d.reason);
    expect(d?.act).toBe(act);
    expect(d?.reason).toBe(reason);
    if (when !== 'auto') expect(d).toEqual(decideByRunner(when, env));
  });
});

describe('detection inputs', () => {
  const raw = (values: Record<string, string>) => (name: string) => values[name] ?? '';
  test('defaults', () => {
    expect(parseInputs(raw({}))).toMatchObject({
      when: 'auto',
      probeUrls: ['https://github.com/', 'https://registry.npmjs.org/'],
      probeTimeoutMs: 5000,
      publicRoots: '',
      onUnknown: 'fail',
      onUnreachable: 'inject',
    });
  });
  test.each([
    ['5s', 5000],
    ['2500ms', 2500],
    ['1.5s', 1500],
    ['2m', 120000],
    ['5', 5000],
    ['0.5', 500],
  ])('probe-timeout %s → %d ms', (value, ms) => {
    expect(parseDuration('probe-timeout', value, 1)).toBe(ms);
  });
  test.each([
    [
      'probe-timeout',
      'soon',
      "Invalid probe-timeout 'soon'. Expected a duration, e.g. 1500ms, 5s or 2m (a bare number is seconds).",
    ],
    [
      'probe-timeout',
      '10m',
      "Invalid probe-timeout '10m'. Expected a duration from 100ms to 2m, e.g. 1500ms, 5s or 2m (a bare number is seconds).",
    ],
    [
      'probe-timeout',
      '5000',
      "Invalid probe-timeout '5000'. Expected a duration from 100ms to 2m, e.g. 1500ms, 5s or 2m (a bare number is seconds).",
    ],
    [
      'probe-timeout',
      '5 s',
      "Invalid probe-timeout '5 s'. Expected a duration, e.g. 1500ms, 5s or 2m (a bare number is seconds).",
    ],
    [
      'probe-timeout',
      '-1s',
      "Invalid probe-timeout '-1s'. Expected a duration, e.g. 1500ms, 5s or 2m (a bare number is seconds).",
    ],
    [
      'probe-timeout',
      '1e3',
      "Invalid probe-timeout '1e3'. Expected a duration, e.g. 1500ms, 5s or 2m (a bare number is seconds).",
    ],
    ['on-unknown', 'ignore', "Invalid on-unknown 'ignore'. Expected one of: fail, warn."],
    ['on-unreachable', 'maybe', "Invalid on-unreachable 'maybe'. Expected one of: inject, skip, fail."],
    ['when', 'sometimes', "Invalid when 'sometimes'. Expected one of: auto, self-hosted, always, never."],
    [
      'probe-urls',
      'https://ok.test http://plain.test',
      "probe-urls: Invalid probe URL 'http://plain.test': expected https:// (a TLS certificate chain is what is probed), got http://.",
    ],
  ])('%s %j is refused with a one-line message', (name, value, message) => {
    expect(() => parseInputs(raw({ [name]: value }))).toThrow(OptionError);
    expect(() => parseInputs(raw({ [name]: value }))).toThrow(message);
  });
  test("the pin has two spellings: ca-fingerprint and fingerprint (the CLI's and leak-check's); both set must agree", () => {
    const pin = 'AB:'.repeat(31) + 'AB';
    expect(parseInputs(raw({ 'ca-fingerprint': pin })).caFingerprint).toBe(pin);
    expect(parseInputs(raw({ fingerprint: ` ${pin} ` })).caFingerprint).toBe(pin);
    expect(parseInputs(raw({ fingerprint: pin, 'ca-fingerprint': pin })).caFingerprint).toBe(pin);
    expect(() => parseInputs(raw({ fingerprint: pin, 'ca-fingerprint': 'cd'.repeat(32) }))).toThrow(
      new OptionError(
        `Inputs 'ca-fingerprint' and 'fingerprint' are two spellings of one input and disagree ('${'cd'.repeat(32)}' and '${pin}'). Expected only one of them set.`,
      ),
    );
  });
  test('probe-urls: commas, spaces, new lines; bare hosts get https://', () => {
    expect(parseProbeUrls('github.com,\n https://pypi.org/simple  ')).toEqual([
      'https://github.com/',
      'https://pypi.org/simple',
    ]);
  });
});

test('the decision emits exactly the documented reason codes, no more and no fewer', () => {
  expect([...emitted].sort()).toEqual([...REASON_CODES].sort());
});
