import { parseCertificates } from '../../../src/ca/parse.js';
import { validateCa } from '../../../src/ca/validate.js';
import { marked } from 'marked';
import { renderFailureSummary, renderSummary } from '../../../src/action/summary.js';
import { planInjection } from '../../../src/tools/injection-plan.js';
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
    caOverrides: [
      { where: '/usr/etc/npmrc', setting: 'cafile', tool: 'npm/yarn 1/pnpm', variable: 'npm_config_cafile' },
    ],
  });
  return {
    plan,
    bundle: {
      pem: '',
      count: 147,
      added: [
        { label: "Node's default roots", count: 146 },
        { label: 'org CA', count: 1 },
      ],
    },
    scan: { caOverrides: [], insecure: [] },
    warnings: [],
    truststoreBase: '/usr/lib/jvm/java-17/lib/security/cacerts',
  };
}

const PROBES =
  '### TLS inspection probes\n\n| URL | Path | Verdict | Leaf issuer | Anchor / reason |\n|---|---|---|---|---|\n| https://h.test/ | direct | 🟠 org-ca | CN=x | CN=y |\n';

test('says what was decided, describes the CA, and lists every variable with its tool and semantics', () => {
  const ca = validateCa(parseCertificates(root.certPem), { now: new Date() });
  const inj = injection();
  const md = renderSummary({
    decision: { act: true, reason: 'self-hosted-runner', message: 'Self-hosted runner: injected.' },
    ca,
    injection: inj,
  });
  expect(md).toContain('**Injected** — Self-hosted runner: injected.');
  const caRow = md.split('\n').find((l) => l.startsWith('| CN=Summary '))!;
  expect(caRow).toMatch(/&lt;b(&#92;)?&gt;Org.*&lt;\/b(&#92;)?&gt; &#124; (&#92;)?&quot;Root/);
  expect(caRow).not.toMatch(/<b>|"Root"/);
  expect(caRow).toMatch(/\| <code>([0-9A-F]{2}:){31}[0-9A-F]{2}<\/code> \| \d{4}-\d\d-\d\d \|/);
  for (const v of inj.plan.variables) expect(md).toContain(`| <code>${v.name}</code> |`);
  expect(md).toContain(
    '| <code>NODE_EXTRA_CA_CERTS</code> | Node.js, npm, yarn, pnpm, Bun, Deno ≥2.8 | appends → org CA alone | <code>/t/org-ca-1/org-ca.pem</code> |',
  );
  expect(md).toMatch(/\| <code>SSL_CERT_FILE<\/code> \| .* \| replaces default roots → combined bundle \|/);
  expect(md).toMatch(
    /\| <code>JAVA_TOOL_OPTIONS<\/code> \| .* \| replaces cacerts → the JDK's roots \+ org CA \(JKS\) \|/,
  );
  expect(md).toMatch(/\/usr\/etc\/npmrc sets cafile .* overridden by npm_config_cafile/);
  expect(md).toMatch(/NODE_EXTRA_CA_CERTS is read once when a Node process starts/);
  expect(md).toContain('Combined bundle: 147 certificates');
  // metadata only: no certificate content
  const body = root.certPem.split('\n')[2]!;
  expect(md).not.toContain(body);
  expect(md).not.toContain('BEGIN CERTIFICATE');
});

describe('rendered as GitHub renders it (GFM)', () => {
  function rendered(): string {
    const ca = validateCa(parseCertificates(root.certPem), { now: new Date() });
    const md = renderSummary({
      decision: { act: true, reason: 'inspected-org-ca', message: 'TLS inspection seen: injected.' },
      ca,
      injection: injection(),
      sections: [PROBES],
    });
    return marked.parse(md, { gfm: true, async: false });
  }

  test('leads with the decision, then the CA, then the probes; the variables come after, collapsed', () => {
    const html = rendered();
    const at = (needle: string): number => {
      const i = html.indexOf(needle);
      expect({ needle, found: i >= 0 }).toEqual({ needle, found: true });
      return i;
    };
    const order = [
      at('<strong>Injected</strong>'),
      at('<th>CA subject</th>'),
      at('TLS inspection probes</h3>'),
      at('<details><summary>'),
      at('<th>Variable</th>'),
      at('</details>'),
      at('Combined bundle'),
    ];
    expect(order).toEqual([...order].sort((a, b) => a - b));
    // collapsed: no `open` attribute; and the table inside is rendered as a table, not as text
    expect(html).not.toMatch(/<details open/);
    const inside = html.slice(html.indexOf('<details>'), html.indexOf('</details>'));
    expect(inside.match(/<tr>/g)!.length).toBeGreaterThan(15);
  });

  test('the CA table has a real header: subject, SHA-256, expiry', () => {
    const html = rendered();
    // the first table of the summary is the CA's
    const header = /<thead>([\s\S]*?)<\/thead>/.exec(html)![1]!;
    const cells = [...header.matchAll(/<th>(.*?)<\/th>/g)].map((m) => m[1]);
    expect(cells).toEqual(['CA subject', 'SHA-256', 'Expires', 'Issuer', 'Certificates given']);
  });
});

test('a skipped step says why and nothing else', () => {
  const md = renderSummary({
    decision: { act: false, reason: 'github-hosted-runner', message: 'GitHub-hosted runner: nothing was changed.' },
  });
  expect(md).toContain('**Not injected** — GitHub-hosted runner: nothing was changed.');
  expect(md).not.toContain('| Variable |');
});

test('a step failing on its decision leads with Failed and the reason', () => {
  const failure = "TLS inspection by a CA other than the one given: https://h.test/ is re-signed by 'CN=<x>'.";
  const md = renderSummary({
    decision: { act: false, reason: 'ca-mismatch', message: failure },
    failure,
    sections: [PROBES],
  });
  expect(md.split('\n')[2]).toBe(
    '**Failed** — TLS inspection by a CA other than the one given: https&#58;//h.test/ is re-signed by &#39;CN=&lt;x&gt;&#39;.',
  );
});

test('a step failing before any decision writes a short summary saying why, escaped', () => {
  expect(renderFailureSummary("--ca 'x' <contains a private key>")).toBe(
    '## org-ca\n\n**Failed** — --ca &#39;x&#39; &lt;contains a private key&gt;\n',
  );
});
