/**
 * Attack: the job's own secrets echoed by org-ca. A proxy password in JAVA_TOOL_OPTIONS (as Maven and Gradle users
 * set it) and in HTTPS_PROXY: the real bundled action and CLI must never print it. Guards: REDACT (src/output/redact.ts
 * for every value org-ca prints), MASK (core.setSecret on the job's secret values before anything runs).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEntry, runCli } from '../../support/cli.js';
import { runAction } from '../../support/inspection/action-runner.js';
import { mintRoot } from '../../support/pki.js';

const SECRET = 's3cretPassw0rd';
const BASE64_SECRET = Buffer.from(`u:${SECRET}`).toString('base64');

/** Everything a reader of the job log, summary or outputs would see: a mask command itself is the runner's, never shown. */
function visible(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
}

let work: string;
let caFile: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-secrets-'));
  caFile = join(work, 'ca.pem');
  writeFileSync(caFile, mintRoot({ cn: 'Secrets Org Root', org: 'Secrets Org' }).certPem);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const jobEnv = (): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  HOME: work,
  JAVA_TOOL_OPTIONS: `-Dhttps.proxyHost=proxy.test -Dhttps.proxyPassword=${SECRET}`,
  MAVEN_OPTS: `"-Dhttp.proxyPassword=${SECRET}"`,
  HTTPS_PROXY: `http://u:${SECRET}@127.0.0.1:9`,
  NO_PROXY: '*',
});

test('the action: the secret is masked first, and appears nowhere in the log, the summary or the outputs', async () => {
  const run = await runAction('main', { inputs: { 'ca-file': caFile, when: 'always' }, env: jobEnv(), workRoot: work });
  expect(run.exitCode).toBe(0);
  // masked with the runner before anything else could print it
  expect(run.stdout.split('\n')).toContain(`::add-mask::${SECRET}`);
  for (const [where, text] of Object.entries({
    stdout: visible(run.stdout),
    stderr: run.stderr,
    summary: run.summary,
    outputs: run.files.output,
    state: run.files.state,
  })) {
    expect({ where, leaked: text.includes(SECRET) || text.includes(BASE64_SECRET) }).toEqual({ where, leaked: false });
  }
  // The exported value still carries it: Java needs the job's own proxy settings to go on working.
  expect(run.env.JAVA_TOOL_OPTIONS).toContain(`-Dhttps.proxyPassword=${SECRET}`);
  // …and the log shows the variable, redacted.
  expect(run.stdout).toContain('-Dhttps.proxyPassword=***');
  await runAction('post', { state: run.state, env: jobEnv(), runnerTemp: run.runnerTemp, workRoot: work });
});

test.each([
  ['env', ['env', '--ca', 'CA', '--format', 'sh', '--dir', 'DIR']],
  ['detect --json', ['detect', 'https://upstream.test/', '--json', '--timeout', '2s']],
  ['detect', ['detect', 'https://upstream.test/', '--timeout', '2s']],
])('`org-ca %s`: nothing on stderr, and no report, holds the secret', async (_name, args) => {
  const env = { ...jobEnv(), NO_PROXY: '' };
  const r = await runCli(
    await cliEntry(),
    args.map((a) => (a === 'CA' ? caFile : a === 'DIR' ? join(work, 'env-dir') : a)),
    { env },
  );
  expect(r.stderr).not.toContain(SECRET);
  // `env` prints the variables for eval (that is its output, and must carry the value); reports never do.
  if (args[0] !== 'env') expect(r.stdout).not.toContain(SECRET);
});
