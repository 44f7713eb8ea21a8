/**
 * Issue 11, point 1, end to end: the bundled action keeps what the job already trusted and covers wget2.
 * - A job trusts an "internal" CA (NODE_EXTRA_CA_CERTS; its own Java trustStore, JKS or PKCS#12 with a password) for a
 *   loopback service reached directly, and goes through mitmproxy (re-signing with the org CA) for everything else:
 *   before the step the proxied call fails; after it both pass, with real Node and real Java.
 * - wget2 (which cannot tunnel through the lab's proxies) fails against a server the org CA signs before the step and
 *   passes after it, through WGET2RC alone.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pemCertificates } from '../../../src/ca/bundle.js';
import { writeJks } from '../../../src/ca/jks.js';
import {
  buildDist,
  CLIENTS,
  runAction,
  useInspectionLab,
  wget2Client,
  type ActionRun,
  type ClientResult,
  type Lab,
} from '../../support/inspection/index.js';

const lab = useInspectionLab({ mitmproxy: true, servers: true });
// The bundle under test is built once, outside any one test's time.
beforeAll(() => buildDist(), 600000);

function describeResult(r: ClientResult): string {
  return `${r.client} exit ${r.exitCode}: ${r.output.trim().split('\n').slice(0, 4).join(' | ')}`;
}

async function main(l: Lab, env: Record<string, string>): Promise<ActionRun> {
  return runAction('main', { inputs: { when: 'self-hosted', 'ca-file': l.pki.paths.orgCa }, env, workRoot: l.dir });
}

async function post(l: Lab, run: ActionRun): Promise<void> {
  await runAction('post', { state: run.state, env: l.jobEnv(), runnerTemp: run.runnerTemp, workRoot: l.dir });
}

/** The internal service directly, and the upstream through the inspecting proxy, with one client. */
async function both(
  l: Lab,
  client: 'node' | 'java',
  env: Record<string, string>,
): Promise<{ internal: ClientResult; proxied: ClientResult }> {
  const [internal, proxied] = await Promise.all([
    CLIENTS[client]({ env, upstream: l.internal!.url, workDir: l.scratch(`${client}-internal`) }),
    CLIENTS[client]({
      env,
      proxy: l.mitmproxy!.url,
      upstream: l.upstream.url,
      workDir: l.scratch(`${client}-proxied`),
    }),
  ]);
  return { internal, proxied };
}

const okOf = (r: { internal: ClientResult; proxied: ClientResult }) => ({
  internal: r.internal.ok ? 'ok' : describeResult(r.internal),
  proxied: r.proxied.ok ? 'ok' : describeResult(r.proxied),
});

test('Node: a preset NODE_EXTRA_CA_CERTS is kept, and the org CA added to it', async () => {
  const l = lab();
  const job = l.jobEnv({ NODE_EXTRA_CA_CERTS: l.pki.paths.internalCa });
  const before = await both(l, 'node', job);
  expect(okOf(before)).toEqual({
    internal: 'ok',
    proxied: expect.stringMatching(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/),
  });

  const run = await main(l, job);
  expect(run.exitCode).toBe(0);
  expect(run.env.NODE_EXTRA_CA_CERTS).not.toBe(l.pki.paths.internalCa);
  expect(pemCertificates(readFileSync(run.env.NODE_EXTRA_CA_CERTS!, 'utf8'))).toEqual([
    l.pki.internalCa.der,
    l.pki.orgCa.der,
  ]);
  expect(run.stdout).toContain(
    `NODE_EXTRA_CA_CERTS already named '${l.pki.paths.internalCa}': its certificates are kept`,
  );

  const after = await both(l, 'node', { ...job, ...run.env });
  expect(okOf(after)).toEqual({ internal: 'ok', proxied: 'ok' });
  expect(l.mitmproxy!.saw(after.proxied.marker)).toBe(true);
  await post(l, run);
}, 120000);

describe("Java: the user's own trustStore is the base of the org-ca store", () => {
  const stores: Array<[string, (l: Lab) => Record<string, string>]> = [
    [
      'JKS in JAVA_TOOL_OPTIONS',
      (l) => {
        const path = join(l.scratch('jks'), 'internal.jks');
        writeFileSync(path, writeJks([{ alias: 'internal', der: l.pki.internalCa.der }], 'userpass'));
        return {
          JAVA_TOOL_OPTIONS: `-Xmx256m -Djavax.net.ssl.trustStore=${path} -Djavax.net.ssl.trustStorePassword=userpass`,
        };
      },
    ],
    [
      'PKCS12 with a password in JDK_JAVA_OPTIONS',
      (l) => {
        // keytool, as Java users make them: an OpenSSL 3.0 PKCS12 lacks Java's trusted-certificate attribute, and the
        // JVM then sees no trust anchor in it at all ("the trustAnchors parameter must be non-empty").
        const path = join(l.scratch('p12'), 'internal.p12');
        execFileSync(
          'keytool',
          [
            '-importcert',
            '-noprompt',
            '-storetype',
            'PKCS12',
            '-keystore',
            path,
            '-storepass',
            'p12-secret',
            '-alias',
            'internal',
            '-file',
            l.pki.paths.internalCa,
          ],
          { stdio: 'pipe' },
        );
        return {
          JDK_JAVA_OPTIONS: `-Djavax.net.ssl.trustStore=${path} -Djavax.net.ssl.trustStoreType=PKCS12 -Djavax.net.ssl.trustStorePassword=p12-secret`,
        };
      },
    ],
  ];

  test.each(stores)(
    '%s: kept, with the org CA added',
    async (_label, options) => {
      const l = lab();
      const job = l.jobEnv(options(l));
      const before = await both(l, 'java', job);
      expect(okOf(before)).toEqual({ internal: 'ok', proxied: expect.stringMatching(/PKIX path building failed/) });

      const run = await main(l, job);
      expect({
        exitCode: run.exitCode,
        errors: run.stdout.split('\n').filter((x) => x.startsWith('::error::')),
      }).toEqual({ exitCode: 0, errors: [] });
      expect(run.stdout).toMatch(
        /the trustStore '.*' named in (JAVA_TOOL_OPTIONS|JDK_JAVA_OPTIONS) is the base of the org-ca store/,
      );
      // the user's password is not carried into what later steps see
      expect(run.files.env).not.toMatch(/userpass|p12-secret/);

      const after = await both(l, 'java', { ...job, ...run.env });
      expect(okOf(after)).toEqual({ internal: 'ok', proxied: 'ok' });
      await post(l, run);
    },
    180000,
  );

  test('a trustStore that cannot be opened fails the step in one line and exports nothing', async () => {
    const l = lab();
    const missing = join(l.dir, 'no-such-store.jks');
    const run = await main(l, l.jobEnv({ JAVA_TOOL_OPTIONS: `-Djavax.net.ssl.trustStore=${missing}` }));
    expect(run.exitCode).toBe(1);
    const errors = run.stdout.split('\n').filter((x) => x.startsWith('::error::'));
    expect(errors).toEqual([
      `::error::JAVA_TOOL_OPTIONS names the trustStore '${missing}', which could not be read (ENOENT): expected a readable JKS or PKCS12 store; fix the path or remove -Djavax.net.ssl.trustStore.`,
    ]);
    expect(run.env).toEqual({});
    await post(l, run);
  }, 60000);
});

test('wget2: fails against a server the org CA signs before the step, passes after it, through WGET2RC', async () => {
  const l = lab();
  const request = (env: Record<string, string>) => ({ env, upstream: l.orgSigned!.url, workDir: l.scratch('wget2') });
  const before = await wget2Client(request(l.jobEnv()));
  expect({ ok: before.ok, exitCode: before.exitCode }).toEqual({ ok: false, exitCode: 5 });
  expect(before.output).toMatch(/certificate|Certificate/);

  const run = await main(l, l.jobEnv());
  expect(run.exitCode).toBe(0);
  expect(run.env.WGET2RC).toMatch(/\/wget2rc$/);
  const after = await wget2Client(request({ ...l.jobEnv(), ...run.env }));
  expect(describeResult(after)).toMatch(/exit 0/);
  expect(after.ok).toBe(true);
  // WGET2RC is what does it: everything else the step exported is not enough
  const { WGET2RC: _rc, ...withoutRc } = run.env;
  const without = await wget2Client(request({ ...l.jobEnv(), ...withoutRc }));
  expect(without.ok).toBe(false);
  await post(l, run);
}, 120000);
