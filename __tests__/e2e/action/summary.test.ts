/**
 * The job summary and the outputs as a user sees them: the bundled main step, run as the runner runs it, probing a
 * loopback TLS server whose certificate chains to the org CA. The summary is rendered with a GFM renderer and read
 * in order; a failing step still writes one. ORG_CA_SUMMARY_HTML=<dir> keeps the rendered pages for a look.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { marked } from 'marked';
import { REPO_ROOT, runAction, type ActionRun } from '../../support/inspection/action-runner.js';
import { mintIntermediate, mintLeaf, mintRoot, type Issued } from '../../support/pki.js';

let dir: string;
let server: Server;
let url: string;
let root: Issued;
const paths: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'org-ca-summary-'));
  root = mintRoot({ cn: 'Summary Org Root CA', org: 'Summary Org' });
  const issuing = mintIntermediate(root, { cn: 'Summary Org Issuing CA 1', org: 'Summary Org' });
  const leaf = mintLeaf(issuing, { cn: '127.0.0.1', ipAddresses: ['127.0.0.1'] });
  for (const [name, content] of Object.entries({ 'ca.pem': root.certPem, 'ca.key': root.keyPem })) {
    paths[name] = join(dir, name);
    writeFileSync(paths[name], content);
  }
  // An inspecting proxy's view, in small: the leaf and the issuing CA, signed under the org root.
  server = createServer({ key: leaf.keyPem, cert: leaf.certPem + issuing.certPem }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

function main(inputs: Record<string, string>, env: Record<string, string> = {}): Promise<ActionRun> {
  return runAction('main', {
    inputs,
    env: { PATH: process.env.PATH, HOME: dir, ...env },
    workRoot: dir,
    timeoutMs: 60_000,
  });
}

function html(run: ActionRun, name: string): string {
  const page = marked.parse(run.summary, { gfm: true, async: false });
  const keep = process.env.ORG_CA_SUMMARY_HTML;
  if (keep) {
    mkdirSync(keep, { recursive: true });
    writeFileSync(
      join(keep, `${name}.html`),
      `<!doctype html><meta charset="utf-8"><body style="font-family:sans-serif;max-width:1000px">${page}</body>`,
    );
  }
  return page;
}

test('injected: the summary leads with the decision, the CA and the probes; the variables are collapsed; every output is set', async () => {
  const run = await main({ 'ca-file': paths['ca.pem']!, 'probe-urls': url, 'probe-timeout': '5s' });
  expect(run.exitCode).toBe(0);
  const page = html(run, 'injected');
  const order = [
    page.indexOf('<strong>Injected</strong>'),
    page.indexOf('<th>CA subject</th>'),
    page.indexOf('CN=Summary Org Root CA, O=Summary Org'),
    page.indexOf('TLS inspection probes</h3>'),
    page.indexOf('variables exported for the rest of the job</summary>'),
    page.indexOf('<th>Variable</th>'),
    page.lastIndexOf('</details>'),
  ];
  expect(order.every((i) => i >= 0)).toBe(true);
  expect(order).toEqual([...order].sort((a, b) => a - b));
  expect(page).toMatch(
    /<td>CN=Summary Org Root CA, O=Summary Org<\/td>\s*<td><code>([0-9A-F]{2}:){31}[0-9A-F]{2}<\/code><\/td>\s*<td>\d{4}-\d\d-\d\d<\/td>/,
  );
  expect(page).toMatch(/variables exported for the rest of the job<\/summary>/);

  // main.ts sets every output action.yml declares
  const declared = Object.keys(
    (parse(readFileSync(join(REPO_ROOT, 'action.yml'), 'utf8')) as { outputs: object }).outputs,
  );
  expect(Object.keys(run.outputs).sort()).toEqual(declared.sort());
  expect(run.outputs).toMatchObject({
    injected: 'true',
    reason: 'inspected-org-ca',
    inspected: 'true',
    issuer: 'CN=Summary Org Issuing CA 1, O=Summary Org',
  });
}, 300_000);

test('a CA given while another CA signs: ca-mismatch, naming both, and the summary says Failed', async () => {
  const other = mintRoot({ cn: 'Some Other Root' });
  writeFileSync(join(dir, 'other.pem'), other.certPem);
  const run = await main({ 'ca-file': join(dir, 'other.pem'), 'probe-urls': url, 'probe-timeout': '5s' });
  expect(run.exitCode).toBe(1);
  expect(run.outputs).toMatchObject({ injected: 'false', reason: 'ca-mismatch', inspected: 'true' });
  expect(run.stdout).toMatch(
    /^::error::TLS inspection by a CA other than the one given: .*'CN=Summary Org Root CA, O=Summary Org'.*the CA given is 'CN=Some Other Root'/m,
  );
  const page = html(run, 'ca-mismatch');
  expect(page).toMatch(/<p><strong>Failed<\/strong> — TLS inspection by a CA other than the one given/);
  // the CA given is described too, after the reason and before the probes
  const ca = page.indexOf('<td>CN=Some Other Root</td>');
  expect(ca).toBeGreaterThan(page.indexOf('<strong>Failed</strong>'));
  expect(ca).toBeLessThan(page.indexOf('TLS inspection probes</h3>'));
}, 300_000);

test.each<[string, Record<string, string>, Record<string, string>, RegExp]>([
  ['a private key as the CA', { ca: '@ca.key', when: 'always' }, {}, /private key/],
  [
    'TLS verification switched off',
    { 'ca-file': '@ca.pem', when: 'always' },
    { NODE_TLS_REJECT_UNAUTHORIZED: '0' },
    /TLS verification is switched off \(NODE_TLS_REJECT_UNAUTHORIZED=0/,
  ],
  ['a bad input', { when: 'sometimes' }, {}, /Invalid when &#39;sometimes&#39;/],
])(
  'a failing step (%s) writes a short summary saying why',
  async (_name, inputs, env, why) => {
    const resolved = Object.fromEntries(
      Object.entries(inputs).map(([k, v]) => [
        k,
        v === '@ca.key' ? readFileSync(paths['ca.key']!, 'utf8') : v === '@ca.pem' ? paths['ca.pem']! : v,
      ]),
    );
    const run = await main(resolved, env);
    expect(run.exitCode).toBe(1);
    const lines = run.summary.trim().split('\n').filter(Boolean);
    expect(lines[0]).toBe('## org-ca');
    expect(lines[1]).toMatch(/^\*\*Failed\*\* — /);
    expect(lines[1]).toMatch(why);
    expect(lines).toHaveLength(2);
    expect(run.summary).not.toMatch(/PRIVATE KEY-----|BEGIN CERTIFICATE/);
    html(run, `failed-${_name.replace(/\W+/g, '-')}`);
  },
  300_000,
);
