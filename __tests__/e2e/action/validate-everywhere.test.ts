/**
 * Issue 11, point 2: the CA input is parsed and judged on every runner kind and with every `when`. A private key or
 * garbage pasted into the secret fails the step even where the step decides not to act (GitHub-hosted runner,
 * `when: never`), so the mistake is found on the first run, not on the one runner where it matters. And `when: never`
 * writes no files at all.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildDist, runAction } from '../../support/inspection/index.js';
import { mintLeaf, mintRoot, type Issued } from '../../support/pki.js';

let work: string;
let ca: Issued;
let server: Issued;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-validate-'));
  ca = mintRoot({ cn: 'Validate Everywhere Root', org: 'Example Org' });
  server = mintLeaf(ca, { cn: 'server.example', dnsNames: ['server.example'] });
});
// The first run builds the bundle under test: not part of any one test's time.
beforeAll(() => buildDist(), 300000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

function listTree(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir, { recursive: true }).map(String) : [];
}

/** Every `when` that ends without acting, with the runner kind that makes it so; `always` acts. */
const NO_ACT: ReadonlyArray<[string, string]> = [
  ['never', 'self-hosted'],
  ['never', 'github-hosted'],
  ['self-hosted', 'github-hosted'],
  ['auto', 'github-hosted'],
];

const BAD: ReadonlyArray<[string, () => string, RegExp]> = [
  ['a private key alone', () => ca.keyPem, /private key/i],
  ['a certificate with its private key', () => ca.certPem + ca.keyPem, /private key/i],
  ['garbage', () => 'this is not a certificate at all', /no certificate|not a certificate|could not|expected/i],
  ['a server certificate', () => server.certPem, /not a CA/],
];

describe.each(NO_ACT)('when: %s on a %s runner', (when, runnerEnvironment) => {
  test.each(BAD)('%s as `ca` fails the step with one line, echoing nothing of it', async (_label, input, message) => {
    const run = await runAction('main', {
      inputs: { when, ca: input() },
      env: { PATH: process.env.PATH },
      runnerEnvironment,
      workRoot: work,
    });
    const errors = run.stdout.split('\n').filter((line) => line.startsWith('::error::'));
    expect({ exitCode: run.exitCode, errors: errors.length }).toEqual({ exitCode: 1, errors: 1 });
    expect(errors[0]).toMatch(message);
    expect(errors[0]).not.toMatch(/%0A|%0D/);
    const body = input()
      .split('\n')
      .filter((line) => line && !line.startsWith('-----'))
      .join('');
    for (const piece of body.match(/.{16}/g) ?? []) {
      for (const [channel, text] of Object.entries({ stdout: run.stdout, stderr: run.stderr, ...run.files })) {
        expect({ channel, leaked: text.replace(/\s/g, '').includes(piece) }).toEqual({ channel, leaked: false });
      }
    }
    expect(run.env).toEqual({});
    expect(listTree(run.runnerTemp)).toEqual([]);
  });

  test('a good CA passes and nothing is exported', async () => {
    const run = await runAction('main', {
      inputs: { when, ca: ca.certPem },
      env: { PATH: process.env.PATH },
      runnerEnvironment,
      workRoot: work,
    });
    expect({ exitCode: run.exitCode, injected: run.outputs.injected }).toEqual({ exitCode: 0, injected: 'false' });
    expect(run.env).toEqual({});
  });

  test('a ca-file that is missing fails too', async () => {
    const run = await runAction('main', {
      inputs: { when, 'ca-file': join(work, 'no-such-ca.pem') },
      env: { PATH: process.env.PATH },
      runnerEnvironment,
      workRoot: work,
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/^::error::ca-file '.*no-such-ca\.pem' could not be read/m);
  });
});

test.each([['self-hosted'], ['github-hosted']])(
  'when: never on a %s runner writes no files and saves no state',
  async (runnerEnvironment) => {
    const run = await runAction('main', {
      inputs: { when: 'never', ca: ca.certPem },
      env: { PATH: process.env.PATH },
      runnerEnvironment,
      workRoot: work,
    });
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({ injected: 'false', reason: 'when-never' });
    expect(listTree(run.runnerTemp)).toEqual([]);
    expect(run.state).toEqual({});
  },
);

test('no CA at all is still fine where the step does not act (nothing to judge)', async () => {
  const run = await runAction('main', {
    inputs: { when: 'self-hosted' },
    env: { PATH: process.env.PATH },
    runnerEnvironment: 'github-hosted',
    workRoot: work,
  });
  expect(run.exitCode).toBe(0);
  expect(run.outputs).toMatchObject({ injected: 'false', reason: 'github-hosted-runner' });
});
