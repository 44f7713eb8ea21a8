import { parseCertificates } from '../../../src/ca/parse.js';
import { validateCa } from '../../../src/ca/validate.js';
import { renderSummary } from '../../../src/action/summary.js';
import { planInjection } from '../../../src/tools/plan.js';
import type { Injection } from '../../../src/tools/inject.js';
import { mintRoot, type Issued } from '../../support/pki.js';

let root: Issued;
beforeAll(() => {
  root = mintRoot({ cn: 'Summary <b>Org</b> | "Root"', org: 'Org' });
});

function injection(): Injection {
  const plan = planInjection({
    platform: 'linux',
    env: {},
    dir: '/t/org-ca-1',
    caOverrides: [{ where: '/usr/etc/npmrc', setting: 'cafile', tool: 'npm/yarn 1/pnpm', variable: 'npm_config_cafile' }],
  });
  return {
    plan,
    bundle: { pem: '', count: 147, added: [{ label: "Node's default roots", count: 146 }, { label: 'org CA', count: 1 }] },
    scan: { caOverrides: [], insecure: [] },
    warnings: [],
    truststoreBase: '/usr/lib/jvm/java-17/lib/security/cacerts',
  };
}

test('says what was decided, describes the CA, and lists every variable with its tool and semantics', () => {
  const ca = validateCa(parseCertificates(root.certPem), { now: new Date() });
  const inj = injection();
  const md = renderSummary({ decision: { act: true, reason: 'self-hosted-runner', message: 'Self-hosted runner: injected.' }, ca, injection: inj });
  expect(md).toContain('**Injected** — Self-hosted runner: injected.');
  const subjectRow = md.split('\n').find((l) => l.startsWith('| Subject |'))!;
  expect(subjectRow).toMatch(/&lt;b\\?&gt;Org.*&lt;\/b\\?&gt; &#124; \\?&quot;Root/);
  expect(subjectRow).not.toMatch(/<b>|"Root"/);
  expect(subjectRow.split(' | ')).toHaveLength(2);
  expect(md).toMatch(/\| SHA-256 \| `([0-9A-F]{2}:){31}[0-9A-F]{2}` \|/);
  expect(md).toMatch(/\| Expires \| \d{4}-\d\d-\d\dT/);
  for (const v of inj.plan.variables) expect(md).toContain(`| \`${v.name}\` |`);
  expect(md).toContain('| `NODE_EXTRA_CA_CERTS` | Node.js, npm, yarn, pnpm, Bun, Deno ≥2.8 | appends → org CA alone | `/t/org-ca-1/org-ca.pem` |');
  expect(md).toMatch(/\| `SSL_CERT_FILE` \| .* \| replaces default roots → combined bundle \|/);
  expect(md).toMatch(/\| `JAVA_TOOL_OPTIONS` \| .* \| replaces cacerts → the JDK's roots \+ org CA \(JKS\) \|/);
  expect(md).toMatch(/\/usr\/etc\/npmrc sets cafile .* overridden by npm_config_cafile/);
  expect(md).toMatch(/NODE_EXTRA_CA_CERTS is read once when a Node process starts/);
  expect(md).toContain('Combined bundle: 147 certificates');
  // metadata only: no certificate content
  const body = root.certPem.split('\n')[2]!;
  expect(md).not.toContain(body);
  expect(md).not.toContain('BEGIN CERTIFICATE');
});

test('a skipped step says why and nothing else', () => {
  const md = renderSummary({ decision: { act: false, reason: 'github-hosted-runner', message: 'GitHub-hosted runner: nothing was changed.' } });
  expect(md).toContain('**Not injected** — GitHub-hosted runner: nothing was changed.');
  expect(md).not.toContain('| Variable |');
});
