/**
 * `npm run demo`: org-ca working, end to end, on this machine. A real TLS-inspection proxy (mitmdump) on loopback
 * re-signs an HTTPS upstream with a test org CA; real clients fail through it, the bundled action runs exactly as the
 * Actions runner runs it, the same clients pass, and the post step leaves nothing behind. Run by jest for its
 * process handling; it narrates on stdout.
 */
import { existsSync, readdirSync } from 'node:fs';
import { runAction, runClients, useInspectionLab, type ClientName } from '../support/inspection/index.js';

const lab = useInspectionLab({ mitmproxy: true });
const say = (text = ''): void => {
  process.stdout.write(`${text}\n`);
};
const CLIENTS: ClientName[] = ['node', 'python', 'curl', 'git', 'wget', 'java', 'npm'];

test('walkthrough', async () => {
  const { upstream, mitmproxy, pki } = lab();
  const request = { proxy: mitmproxy!.url, upstream: upstream.url, workDir: lab().scratch('demo') };
  say(
    `\n== org-ca demo ==\nupstream ${upstream.url} (signed by a test public root); inspection proxy ${mitmproxy!.url} (mitmdump,`,
  );
  say(`re-signing every certificate with "${pki.orgCa.cert.subject.getField('CN').value}").\n`);

  say('1. Real clients through the proxy, as a self-hosted job would run them today:');
  const before = await runClients(CLIENTS, { ...request, env: lab().jobEnv() });
  for (const name of CLIENTS) {
    const line =
      before[name].output.split('\n').find((l) => /certif|SSL|PKIX|self.signed|issuer|TLS/i.test(l)) ??
      `exit ${before[name].exitCode}`;
    say(`   ${name.padEnd(7)} ${before[name].ok ? 'ok (!)' : 'FAILS'}  ${line.trim().slice(0, 110)}`);
  }

  say('\n2. The action (dist/main/index.js), run as the runner runs it: `when: auto` probes the upstream through the');
  say("   job's HTTPS_PROXY, sees the org CA sign it, and injects the org CA given as `ca-file`:");
  const main = await runAction('main', {
    inputs: { 'ca-file': pki.paths.orgCa, 'probe-urls': upstream.url },
    env: lab().jobEnv({ HTTPS_PROXY: mitmproxy!.url }),
    runnerEnvironment: 'self-hosted',
    workRoot: lab().dir,
  });
  say(
    `   exit ${main.exitCode}; outputs: injected=${main.outputs.injected} reason=${main.outputs.reason} inspected=${main.outputs.inspected}`,
  );
  say(`   issuer=${main.outputs.issuer}; fingerprint=${main.outputs.fingerprint?.slice(0, 16)}…`);
  for (const [name, value] of Object.entries(main.env)) say(`   ${name}=${value}`);

  say('\n3. The same clients, in a later step of the job (GITHUB_ENV applied):');
  const after = await runClients(CLIENTS, { ...request, env: lab().jobEnv(main.env) });
  for (const name of CLIENTS)
    say(`   ${name.padEnd(7)} ${after[name].ok ? 'ok' : `STILL FAILS: ${after[name].output.slice(0, 200)}`}`);

  say('\n4. The post step:');
  const post = await runAction('post', {
    state: main.state,
    env: lab().jobEnv(),
    runnerTemp: main.runnerTemp,
    workRoot: lab().dir,
  });
  const left = readdirSync(main.runnerTemp);
  say(
    `   exit ${post.exitCode}; ${main.outputs['ca-path'] && !existsSync(main.outputs['ca-path']) ? 'CA file removed' : 'CA file STILL THERE'}; RUNNER_TEMP holds ${left.length ? left.join(', ') : 'nothing'}.\n`,
  );

  expect(CLIENTS.filter((n) => before[n].ok)).toEqual([]);
  expect(CLIENTS.filter((n) => !after[n].ok)).toEqual([]);
  expect(left).toEqual([]);
}, 180_000);
