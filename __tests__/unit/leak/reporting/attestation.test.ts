/**
 * The leak check's in-toto statement against the Statement v1 rules (in-toto/attestation spec/v1: statement.md and
 * resource_descriptor.md, written as a JSON Schema here, since the spec publishes protobuf and prose) and against
 * the predicate's own schema in docs/attestation.md.
 */
import { Ajv } from 'ajv';
import { createHash } from 'node:crypto';
import { mintRoot } from '../../../support/pki.js';
import {
  leakCheckStatement,
  LEAK_CHECK_PREDICATE_TYPE,
  AttestationError,
} from '../../../../src/leak/reporting/attestation.js';
import { DEFAULT_LIMITS, type Report } from '../../../../src/leak/types.js';

/** Statement v1: `_type` fixed, a non-empty subject list of ResourceDescriptors with a digest, a predicate type URI. */
const STATEMENT_V1 = {
  type: 'object',
  required: ['_type', 'subject', 'predicateType', 'predicate'],
  properties: {
    _type: { const: 'https://in-toto.io/Statement/v1' },
    subject: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['digest'],
        properties: {
          name: { type: 'string' },
          uri: { type: 'string' },
          // DigestSet: algorithm → lower-case hex (sha256, sha512, …).
          digest: {
            type: 'object',
            minProperties: 1,
            propertyNames: { pattern: '^[a-z0-9_-]+$' },
            additionalProperties: { type: 'string', pattern: '^[0-9a-f]+$' },
          },
        },
      },
    },
    predicateType: { type: 'string', pattern: '^[a-z][a-z0-9+.-]*://\\S+$' },
    predicate: { type: 'object' },
  },
  additionalProperties: false,
};

/** The predicate, as docs/attestation.md documents it (leak-check v1). */
const PREDICATE = {
  type: 'object',
  required: [
    'scanner',
    'verdict',
    'strict',
    'searchedFor',
    'counts',
    'findings',
    'notScanned',
    'notLookedInside',
    'limits',
    'checkedOn',
  ],
  properties: {
    scanner: { type: 'object', required: ['name', 'version'], properties: { name: { const: 'org-ca' } } },
    verdict: { enum: ['clean', 'leak', 'unreadable'] },
    searchedFor: { type: 'array', items: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
    checkedOn: { type: 'string', pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ$' },
  },
};

const ajv = new Ajv({ strict: false, allErrors: true });
const validStatement = ajv.compile(STATEMENT_V1);
const validPredicate = ajv.compile(PREDICATE);

const org = mintRoot({ cn: 'Attestation Org Root', org: 'Org' });
const spec = { certs: [org], fingerprints: ['AB:'.repeat(31) + 'AB'] };
const base: Report = {
  input: 'registry:r.example/app:1',
  subjects: [{ name: 'r.example/app', digest: `sha256:${'1'.repeat(64)}` }],
  findings: [],
  unscanned: [],
  notLookedInside: [],
  stats: { images: 2, layers: 3, files: 40, nestedFiles: 5, bytes: 1000, ms: 12 },
};
const context = {
  spec,
  limits: DEFAULT_LIMITS,
  strict: false,
  version: '1.0.0',
  now: new Date('2026-12-05T10:00:00.123Z'),
};

const withFinding: Report = {
  ...base,
  findings: [
    {
      kind: 'pem',
      fingerprint: 'f'.repeat(64),
      image: 'r.example/app linux/amd64',
      path: '/etc/ssl/org.pem',
      visibility: 'final',
      message: 'x',
    },
  ],
};

test.each<[string, Report]>([
  ['clean', base],
  ['leak', withFinding],
  ['unreadable', { ...base, unscanned: [{ what: 'layer 1', reason: 'truncated' }] }],
])('%s: a valid Statement v1 with a valid predicate', (verdict, report) => {
  const statement = leakCheckStatement(report, context);
  expect(validStatement(statement)).toBe(true);
  expect(validStatement.errors ?? []).toEqual([]);
  expect(validPredicate(statement.predicate)).toBe(true);
  expect(statement.predicateType).toBe(LEAK_CHECK_PREDICATE_TYPE);
  expect(statement.predicate.verdict).toBe(verdict);
  expect(statement.subject).toEqual([{ name: 'r.example/app', digest: { sha256: '1'.repeat(64) } }]);
  expect(statement.predicate.checkedOn).toBe('2026-12-05T10:00:00Z');
});

test('what was searched for is fingerprints, never the CA itself', () => {
  const statement = leakCheckStatement(base, context);
  expect(statement.predicate.searchedFor).toEqual([
    createHash('sha256').update(org.der).digest('hex'),
    'ab'.repeat(32),
  ]);
  expect(JSON.stringify(statement)).not.toContain(Buffer.from(org.der).toString('base64').slice(0, 40));
});

test('a sha512 subject keeps its algorithm', () => {
  const statement = leakCheckStatement(
    { ...base, subjects: [{ name: 'x', digest: `sha512:${'2'.repeat(128)}` }] },
    context,
  );
  expect(statement.subject[0]!.digest).toEqual({ sha512: '2'.repeat(128) });
  expect(validStatement(statement)).toBe(true);
});

test.each([
  ['a root file system (no digest)', { ...base, subjects: [] }, /root file system is not an image/],
  ['an image that could not be checked', { ...base, error: 'no such image' }, /could not be checked/],
])('no statement for %s', (_, report, message) => {
  expect(() => leakCheckStatement(report, context)).toThrow(AttestationError);
  expect(() => leakCheckStatement(report, context)).toThrow(message);
});

test('the schema is not a rubber stamp: a statement without subjects or with upper-case hex fails it', () => {
  const statement = leakCheckStatement(base, context);
  expect(validStatement({ ...statement, subject: [] })).toBe(false);
  expect(validStatement({ ...statement, subject: [{ name: 'x', digest: { sha256: 'ABC' } }] })).toBe(false);
  expect(validStatement({ ...statement, _type: 'https://in-toto.io/Statement/v0.1' })).toBe(false);
});
