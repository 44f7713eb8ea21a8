/* eslint-disable no-control-regex -- hostile control characters are what these tests are about */
/**
 * Attack: a hostile proxy, certificate or path writes into what org-ca prints. The real bundled action and CLI, a
 * real socket posing as the proxy. Guards: LOG_LINE (src/output/log-line.ts, through src/action/log.ts and the CLI),
 * MARKDOWN (src/output/markdown.ts for every summary), FILE_COMMANDS (src/output/file-commands.ts: a random delimiter
 * per value for the github format and the runner hook's GITHUB_ENV).
 */
import { createServer, type Server } from 'node:net';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { marked } from 'marked';
import { cliEntry, runCli } from '../../support/cli.js';
import { parseFileCommands, runAction } from '../../support/inspection/action-runner.js';
import { mintRoot } from '../../support/pki.js';

/** The lines of a step's stdout the runner would take as workflow commands. */
function commandLines(stdout: string): string[] {
  return stdout.split('\n').filter((line) => /^\s*(::|##vso\[|##\[)/.test(line));
}

const ORG_CA_COMMANDS = /^::(error|warning|notice|debug|group|endgroup|add-mask)::/;

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-sinks-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('a proxy whose CONNECT answer carries workflow commands on lines of their own', () => {
  let proxy: Server;
  let port: number;
  beforeAll(async () => {
    proxy = createServer((socket) => {
      socket.once('data', () => {
        socket.end(
          'HTTP/1.1 403 Forbidden\n::set-output name=reason::pwned\n::add-mask::org-ca\n::save-state name=files-dir::/etc\n##vso[task.setvariable variable=X]y\n\u001b[2J::error::fake\r\n\r\n',
        );
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    port = (proxy.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

  test('the action’s main step prints the answer as one line, and no command of the proxy’s reaches the runner', async () => {
    const proxyUrl = `http://127.0.0.1:${port}`;
    const run = await runAction('main', {
      inputs: { 'probe-urls': 'https://upstream.test/', 'probe-timeout': '4s' },
      env: { PATH: process.env.PATH, HOME: work, HTTPS_PROXY: proxyUrl, https_proxy: proxyUrl },
      workRoot: work,
    });
    // The answer was seen and reported (its status line; what follows a line end is not the status)…
    expect(run.stdout).toContain('403 Forbidden');
    // …but only org-ca's own commands start a line.
    for (const line of commandLines(run.stdout)) expect(line).toMatch(ORG_CA_COMMANDS);
    expect(commandLines(run.stdout)).not.toContain('::add-mask::org-ca');
    expect(run.stdout).not.toMatch(/\u001b/);
    expect(run.outputs.reason).not.toBe('pwned');
    expect(JSON.stringify(run.state)).not.toContain('/etc');
    expect(run.files.output).not.toContain('pwned');
  });

  test('`org-ca detect` prints it as one line too', async () => {
    const r = await runCli(await cliEntry(), ['detect', 'https://upstream.test/', '--timeout', '4s'], {
      env: { PATH: process.env.PATH, HOME: work, HTTPS_PROXY: `http://127.0.0.1:${port}` },
    });
    expect(r.stdout + r.stderr).toContain('403 Forbidden');
    for (const line of commandLines(r.stdout + r.stderr)) expect(line).toMatch(ORG_CA_COMMANDS);
    expect(r.stdout + r.stderr).not.toMatch(/\u001b/);
  });
});

test('a CA whose subject holds table pipes, a Markdown link, an image and HTML: the summary renders none of them', async () => {
  const ca = mintRoot({
    cn: 'Evil | [click](http://evil.test) ![x](http://evil.test/i.png) <img src=x onerror=alert(1)> `tick`',
    org: 'Org',
  });
  const caFile = join(work, 'evil-ca.pem');
  writeFileSync(caFile, ca.certPem);
  const run = await runAction('main', {
    inputs: { 'ca-file': caFile, when: 'always' },
    env: { PATH: process.env.PATH, HOME: work },
    workRoot: work,
  });
  expect(run.exitCode).toBe(0);
  expect(run.summary).toContain('Evil');
  const html = marked.parse(run.summary, { gfm: true, async: false });
  expect(html).not.toMatch(/<a |<img /);
  // The CA row is one row of five cells.
  const row = html.split('<tr>').find((r) => r.includes('Evil'))!;
  expect(row.match(/<td>/g)).toHaveLength(5);
  for (const line of commandLines(run.stdout)) expect(line).toMatch(ORG_CA_COMMANDS);
  await runAction('post', {
    state: run.state,
    env: { PATH: process.env.PATH, HOME: work },
    runnerTemp: run.runnerTemp,
    workRoot: work,
  });
});

test('`org-ca env --format github` with a --dir that holds a line break and a delimiter adds no variable of its own', async () => {
  const ca = mintRoot({ cn: 'Sink Org Root', org: 'Sink Org' });
  const caFile = join(work, 'ca.pem');
  writeFileSync(caFile, ca.certPem);
  // The delimiter earlier versions used, and the one @actions/core uses, both inside the path.
  const dir = join(work, 'x\nORG_CA_EOF\nNODE_OPTIONS=--require=/tmp/evil.js\nghadelimiter_x\ny');
  mkdirSync(dir, { recursive: true });
  const r = await runCli(
    await cliEntry(),
    ['env', '--ca', caFile, '--format', 'github', '--dir', dir, '--tools', 'node,openssl'],
    { env: { PATH: process.env.PATH, HOME: work } },
  );
  expect(r.status).toBe(0);
  const vars = parseFileCommands(r.stdout);
  expect(Object.keys(vars)).not.toContain('NODE_OPTIONS');
  expect(Object.keys(vars)).toContain('NODE_EXTRA_CA_CERTS');
  expect(vars.NODE_EXTRA_CA_CERTS!.startsWith(dir)).toBe(true);
  expect(vars.NODE_OPTIONS).toBeUndefined();
});
