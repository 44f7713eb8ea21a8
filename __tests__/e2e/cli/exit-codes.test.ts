/**
 * One table of exit codes for every command, through the bundled CLI as a separate Node 24 process:
 * 0 fine, 1 found or failed, 2 usage or input error, and for `exec` 127 not found, 126 cannot run, else the
 * command's own status. Every error is one line that names the CLI's flags, never the action's inputs, and
 * never carries Node's raw error text.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliEntry, runCli } from '../../support/cli.js';
import { mintLeaf, mintRoot } from '../../support/pki.js';

const PACKAGE = JSON.parse(readFileSync(fileURLToPath(new URL('../../../package.json', import.meta.url)), 'utf8')) as {
  version: string;
};

let entry: string;
let dir: string;
let server: Server;
let serverUrl: string;
const files: Record<string, string> = {};

beforeAll(async () => {
  entry = await cliEntry();
  dir = mkdtempSync(join(tmpdir(), 'org-ca-exit-'));
  mkdirSync(join(dir, 'tmp'));
  const root = mintRoot({ cn: 'Exit Code Org Root', org: 'Exit Org' });
  const leaf = mintLeaf(root, { cn: '127.0.0.1', ipAddresses: ['127.0.0.1'] });
  const write = (name: string, content: string, mode?: number): string => {
    const path = join(dir, name);
    writeFileSync(path, content);
    if (mode !== undefined) chmodSync(path, mode);
    return (files[name] = path);
  };
  write('ca.pem', root.certPem);
  write('ca.key', root.keyPem);
  write('leaf.pem', leaf.certPem);
  write('not-executable.sh', '#!/bin/sh\necho hi\n', 0o644);
  write(
    'Dockerfile.clean',
    'FROM debian:trixie AS build\nRUN --mount=type=secret,id=org_ca true\nFROM debian:trixie\nCOPY --from=build /out /out\n',
  );
  write(
    'Dockerfile.leaky',
    'FROM debian:trixie\nCOPY org-ca.crt /usr/local/share/ca-certificates/org-ca.crt\nRUN update-ca-certificates\n',
  );
  write('Dockerfile.nofrom', '# nothing here\n');
  // Root file systems for the leak check: one holding the CA, one clean.
  mkdirSync(join(dir, 'rootfs-leaky/etc/ssl'), { recursive: true });
  writeFileSync(join(dir, 'rootfs-leaky/etc/ssl/org.pem'), root.certPem);
  mkdirSync(join(dir, 'rootfs-clean/etc'), { recursive: true });
  writeFileSync(join(dir, 'rootfs-clean/etc/hostname'), 'clean\n');
  // A directory is read as a root file system only when said so (rootfs:), never as a fallback.
  files.rootfsLeaky = `rootfs:${join(dir, 'rootfs-leaky')}`;
  files.rootfsClean = `rootfs:${join(dir, 'rootfs-clean')}`;
  // A loopback TLS server whose certificate chains to the org CA: `detect --ca` says org-ca, exit 0.
  server = createServer({ key: leaf.keyPem, cert: leaf.certPem }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  serverUrl = `https://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** A refused loopback port: nothing listens on the discard port here. */
const REFUSED = 'https://127.0.0.1:9/';
const FP = 'ab'.repeat(32);

// [args (`@name` = a fixture path, `@url` = the loopback server), extra env, exit status, stderr pattern ('' = empty,
// null = not checked: notes about this machine's own settings may appear)]
type Row = readonly [readonly string[], Readonly<Record<string, string>>, number, RegExp | '' | null];
const ROWS: readonly Row[] = [
  // the program itself
  [[], {}, 2, /^org-ca: trust the org/],
  [
    ['frob'],
    {},
    2,
    /^org-ca: unknown command 'frob'\. Expected one of: env, exec, detect, doctor, leak-check, report, lint, store, runner, build-context, ca\.$/,
  ],
  [['help', 'frob'], {}, 2, /^org-ca: unknown command 'frob'/],
  [['evn'], {}, 2, /^org-ca: unknown command 'evn'\. Did you mean 'env'\? Expected one of: /],
  [['--version'], {}, 0, ''],
  [['help'], {}, 0, ''],
  // env
  [['env', '--ca', '@ca.pem', '--tools', 'node'], {}, 0, null],
  [['env'], {}, 2, /^org-ca env: --ca FILE is required/],
  [['env', '--bogus'], {}, 2, /^org-ca env: Unknown option '--bogus'/],
  [
    ['env', '--ca', '@ca.pem', '--fromat', 'sh'],
    {},
    2,
    /^org-ca env: Unknown option '--fromat'\. Did you mean '--format'\? \(see 'org-ca env --help'\)$/,
  ],
  // the action's `ca:` is text; on the command line the text is not a path, with or without '='
  [
    ['env', '--ca', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'],
    {},
    2,
    /^org-ca env: --ca takes a path, not the certificate text: use '--ca -' and pipe the text in/,
  ],
  [
    ['env', '--ca=-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'],
    {},
    2,
    /^org-ca env: --ca takes a path, not the certificate text: use '--ca -'/,
  ],
  [['env', '--ca', '@ca.pem', '--dir', '/proc/org-ca-x'], {}, 2, /^org-ca env: --dir '\/proc\/org-ca-x'/],
  [
    ['env', '--ca', '@ca.pem', '--format', 'xml'],
    {},
    2,
    /^org-ca env: Invalid --format 'xml'\. Expected one of: sh, powershell, dotenv, github, gitlab, azure, buildkite, circleci, jenkins\.$/,
  ],
  [
    ['env', '--ca', '@ca.pem', '--tools', 'python'],
    {},
    2,
    /^org-ca env: --tools: unknown tool 'python'\. Expected 'all' or a list of: node, openssl, /,
  ],
  [
    ['env', '--ca', '@ca.pem', '--on-verification-off', 'ignore'],
    {},
    2,
    /^org-ca env: Invalid --on-verification-off 'ignore'/,
  ],
  [
    ['env', '--ca', '@nope.pem'],
    {},
    2,
    /^org-ca env: --ca '.*nope\.pem' could not be read \(ENOENT\): expected a readable certificate file\.$/,
  ],
  [['env', '--ca', '@ca.key'], {}, 2, /contains a private key; it was not used and is not shown/],
  [['env', '--ca', '@leaf.pem'], {}, 2, /is not a CA/],
  [
    ['env', '--ca', '@ca.pem', '--fingerprint', 'zz'],
    {},
    2,
    /^org-ca env: --fingerprint 'zz' is not a SHA-256 fingerprint/,
  ],
  [['env', '--ca', '@ca.pem', '--fingerprint', FP], {}, 2, /does not match --fingerprint AB:AB:/],
  [
    ['env', '--ca', '@ca.pem'],
    { NODE_TLS_REJECT_UNAUTHORIZED: '0' },
    1,
    /^org-ca env: TLS verification is switched off .* or pass --on-verification-off warn to continue\.$/,
  ],
  [
    ['exec', '--ca', '@ca.pem', '--', 'true'],
    { NODE_TLS_REJECT_UNAUTHORIZED: '0' },
    1,
    /^org-ca exec: TLS verification is switched off .* or pass --on-verification-off warn to continue\.$/,
  ],
  // exec
  [['exec', '--ca', '@ca.pem', '--tools', 'node', '--', 'sh', '-c', 'exit 3'], {}, 3, null],
  [['exec', '--ca', '@ca.pem'], {}, 2, /^org-ca exec: no command given/],
  [
    ['exec', '--ca', '@ca.pem', 'curl', 'https://example.test'],
    {},
    2,
    /^org-ca exec: 'curl' looks like the command to run: put '--' before it \(org-ca exec --ca FILE -- curl …\)$/,
  ],
  [['exec', '--', 'true'], {}, 2, /^org-ca exec: --ca FILE is required/],
  [
    ['exec', '--ca', '@ca.pem', '--', 'no-such-command-xyz'],
    {},
    127,
    /^org-ca exec: command not found: 'no-such-command-xyz'$/,
  ],
  [
    ['exec', '--ca', '@ca.pem', '--', '@not-executable.sh'],
    {},
    126,
    /^org-ca exec: cannot run '.*not-executable\.sh': not an executable file \(EACCES\)$/,
  ],
  [['exec', '--ca', '@ca.pem', '--', '/etc'], {}, 126, /^org-ca exec: cannot run '\/etc': not an executable file/],
  [
    ['exec', '--if-present', '--ca', '@absent.pem', '--', 'no-such-command-xyz'],
    {},
    127,
    /^org-ca exec: command not found/,
  ],
  [['exec', '--if-present', '--ca', '@absent.pem', '--', 'sh', '-c', 'exit 5'], {}, 5, ''],
  // detect
  [['detect', '@url', '--ca', '@ca.pem', '--timeout', '5s'], {}, 0, ''],
  [['detect', REFUSED, '--timeout', '2'], {}, 1, ''],
  [
    ['detect', '--timeout', 'soon'],
    {},
    2,
    /^org-ca detect: Invalid --timeout 'soon'\. Expected a duration, e\.g\. 1500ms, 5s or 2m \(a bare number is seconds\)\.$/,
  ],
  [
    ['detect', '--timeout', '5000'],
    {},
    2,
    /^org-ca detect: Invalid --timeout '5000'\. Expected a duration from 100ms to 2m/,
  ],
  [['detect', 'http://plain.test'], {}, 2, /^org-ca detect: Invalid probe URL 'http:\/\/plain\.test'/],
  [
    ['detect', REFUSED, '--public-roots', '@nope.pem'],
    {},
    2,
    /^org-ca detect: --public-roots '.*nope\.pem' could not be read/,
  ],
  [['detect', REFUSED, '--ca', '@ca.key'], {}, 2, /contains a private key/],
  // doctor
  [['doctor', '--timeout', 'soon'], {}, 2, /^org-ca doctor: Invalid --timeout 'soon'/],
  [
    ['doctor', '--timeout', '0.5s'],
    {},
    2,
    /^org-ca doctor: Invalid --timeout '0\.5s'\. Expected a duration from 1s to 10m/,
  ],
  [['doctor', 'https://a.test', 'https://b.test'], {}, 2, /^org-ca doctor: one URL at most, got 2/],
  [['doctor', 'http://plain.test'], {}, 2, /^org-ca doctor: Invalid probe URL/],
  [['doctor', REFUSED, '--ca', '@nope.pem'], {}, 2, /^org-ca doctor: --ca '.*nope\.pem' could not be read/],
  // leak-check
  [['leak-check', '@rootfsClean', '--ca', '@ca.pem'], {}, 0, ''],
  [['leak-check', '@rootfsLeaky', '--ca', '@ca.pem'], {}, 1, ''],
  [['leak-check'], {}, 2, /^org-ca leak-check: expected an IMAGE \(or --images FILE/],
  [
    ['leak-check', '--images', '@nope.txt', '--ca', '@ca.pem'],
    {},
    2,
    /^org-ca leak-check: --images '.*nope\.txt' cannot be read \(ENOENT\)/,
  ],
  [
    ['leak-check', '@rootfsClean'],
    {},
    2,
    /^org-ca leak-check: nothing to look for: give --ca FILE \(the CA\) or --fingerprint SHA256/,
  ],
  [
    ['leak-check', '@rootfsClean', '--fingerprint', 'zz'],
    {},
    2,
    /^org-ca leak-check: --fingerprint 'zz' is not a SHA-256 fingerprint/,
  ],
  [
    ['leak-check', '@rootfsClean', '--ca', '@nope.pem'],
    {},
    2,
    /^org-ca leak-check: --ca '.*nope\.pem' could not be read/,
  ],
  [['leak-check', '@absent.tar', '--fingerprint', FP], {}, 2, /^org-ca leak-check: '.*absent\.tar' does not exist/],
  // a bare archive name (a typo in the current directory) is a missing file, never a question for a Docker daemon
  [
    ['leak-check', 'nope.tar', '--fingerprint', FP],
    {},
    2,
    /^org-ca leak-check: 'nope\.tar' does not exist: expected a docker save or OCI archive/,
  ],
  [
    ['leak-check', '@rootfsClean', '--fingerprint', FP, '--parallel', '0'],
    {},
    2,
    /^org-ca leak-check: --parallel '0' is not a positive integer/,
  ],
  [['leak-check', '--plan', '2'], {}, 0, ''],
  [['leak-check', '--plan', '2', '@rootfsClean'], {}, 2, /^org-ca leak-check: --plan N takes nothing else \(got /],
  [['leak-check', '--plan', '0'], {}, 2, /^org-ca leak-check: --plan '0' is below 1/],
  [
    ['leak-check', '@rootfsClean', '--fingerprint', FP, '--shard', '1/2'],
    {},
    2,
    /^org-ca leak-check: --shard needs --report FILE \(or --json\)/,
  ],
  [
    ['leak-check', '@rootfsClean', '--fingerprint', FP, '--shard', '1/2', '--json', '--sarif', 'x.sarif'],
    {},
    2,
    /^org-ca leak-check: --shard writes a shard report; --sarif, --attest and --predicate belong to/,
  ],
  [
    ['leak-check', '@rootfsClean', '--fingerprint', FP, '--shard', '3/2', '--json'],
    {},
    2,
    /^org-ca leak-check: --shard '3\/2': shard 3 of 2 does not exist/,
  ],
  [
    ['leak-check', '@rootfsClean', '--fingerprint', FP, '--shard', 'auto', '--json'],
    { JOB_COMPLETION_INDEX: '1' },
    2,
    /^org-ca leak-check: --shard auto: JOB_COMPLETION_INDEX is set .* write --shard auto\/N/,
  ],
  [
    ['leak-check', '@rootfsClean', '--fingerprint', FP, '--shard', 'auto/2', '--json'],
    { JOB_COMPLETION_INDEX: '1' },
    0,
    null,
  ],
  // report
  [['report'], {}, 2, /^org-ca report: unknown subcommand ''\. Expected: org-ca report merge/],
  [['report', 'merg'], {}, 2, /^org-ca report: unknown subcommand 'merg'\. Did you mean 'merge'\?/],
  [['report', 'merge'], {}, 2, /^org-ca report: expected the shard reports: org-ca report merge SHARD-REPORT/],
  [['report', 'merge', '@nope.json'], {}, 2, /^org-ca report: .*nope\.json cannot be read \(ENOENT\)/],
  [['report', 'merge', '@ca.pem'], {}, 2, /^org-ca report: .*ca\.pem is not JSON/],
  // lint
  [['lint', '@Dockerfile.clean'], {}, 0, ''],
  [['lint', '@Dockerfile.leaky'], {}, 1, ''],
  [['lint'], {}, 2, /^org-ca lint: expected exactly one DOCKERFILE/],
  [['lint', '@Dockerfile.absent'], {}, 2, /^org-ca lint: '.*Dockerfile\.absent' could not be read \(ENOENT\)/],
  [['lint', '@Dockerfile.nofrom'], {}, 2, /^org-ca lint: the Dockerfile has no FROM instruction/],
  [['lint', '@Dockerfile.clean', '--target', 'nosuch'], {}, 2, /^org-ca lint: --target 'nosuch' is not a stage/],
];

function resolveArgs(args: readonly string[]): string[] {
  return args.map((a) =>
    a === '@url' ? serverUrl : a.startsWith('@') ? (files[a.slice(1)] ?? join(dir, a.slice(1))) : a,
  );
}

/** Node's own error text: `spawn /x EACCES`, `EACCES: permission denied, open '/x'`, or a stack frame. */
const RAW_NODE_ERROR = /\b(spawn|open|mkdir|stat|scandir|read)\b \S+ E[A-Z]+\b|^E[A-Z]+: |^\s+at \S+ \(/m;

describe('exit codes', () => {
  test.each(ROWS)('org-ca %j %j → %i', async (args, env, status, stderr) => {
    const r = await runCli(entry, resolveArgs(args), {
      env: { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: join(dir, 'cache'), TMPDIR: join(dir, 'tmp'), ...env },
    });
    const expectedStderr = stderr === null ? expect.any(String) : stderr === '' ? '' : expect.stringMatching(stderr);
    expect({ status: r.status, stderr: r.stderr.trim() }).toEqual({ status, stderr: expectedStderr });
    if (status !== 0 && args[0] !== undefined) expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(RAW_NODE_ERROR);
    // the CLI's errors speak its flags: never the action's input names
    expect(r.stderr).not.toMatch(
      /\b(ca-file|ca-fingerprint|probe-timeout|public-roots)\b(?<!--public-roots)|(?<!-)on-verification-off:/,
    );
  });
});

test('the CLI bundle does not carry @actions/core: the CLI imports no module of the runner shell', () => {
  const bundle = readFileSync(entry, 'utf8');
  expect(bundle.length).toBeGreaterThan(100_000);
  expect(bundle).not.toContain('@actions/core');
  expect(bundle).not.toMatch(/GITHUB_STEP_SUMMARY|::set-output|getInput\(/);
});

describe('help', () => {
  test('org-ca --version prints the package version', async () => {
    expect((await runCli(entry, ['--version'])).stdout).toBe(`${PACKAGE.version}\n`);
  });

  test.each(['env', 'exec', 'detect', 'doctor', 'leak-check', 'lint'])(
    'org-ca help %s = its --help, and it states the exit codes',
    async (command) => {
      const viaHelp = await runCli(entry, ['help', command]);
      const viaFlag = await runCli(entry, [command, '--help']);
      expect(viaHelp.status).toBe(0);
      expect(viaHelp.stdout).toBe(viaFlag.stdout);
      expect(viaHelp.stdout).toMatch(new RegExp(`^Usage: org-ca ${command}`));
      expect(viaHelp.stdout).toMatch(/\nExit status: /);
      expect(viaHelp.stdout).toMatch(/\b2 usage or\s+input error/);
    },
  );

  test.each(['env', 'exec'])('%s --help lists every tool id of the registry', async (command) => {
    const { TOOL_IDS } = await import('../../../src/tools/registry.js');
    const help = (await runCli(entry, [command, '--help'])).stdout;
    const listed = /the ids are:\n([\s\S]*?)\n {2}--/
      .exec(help)![1]!
      .split(/[\s,]+/)
      .filter(Boolean);
    expect(listed).toEqual([...TOOL_IDS]);
  });
});

describe('--json on every command that reports', () => {
  test('doctor --json: the probe, every client with its error and explanation, and ok', async () => {
    const r = await runCli(entry, ['doctor', REFUSED, '--json', '--timeout', '20s'], {
      env: { PATH: process.env.PATH, HOME: dir },
    });
    expect(r.status).toBe(1);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ url: REFUSED, ok: false, probe: { url: REFUSED, verdict: 'unreachable' } });
    const installed = report.clients.filter((c: { installed: boolean }) => c.installed);
    expect(installed.length).toBeGreaterThan(0);
    for (const client of installed) {
      expect(client).toMatchObject({ ok: false, error: expect.any(String) });
      // a refused connection is not a trust error: no catalogue explanation
      expect(client.explanation).toBeUndefined();
    }
  });

  test.each<[string, readonly string[]]>([
    ['detect', ['detect', '@url', '--ca', '@ca.pem', '--json']],
    ['leak-check', ['leak-check', '@rootfsClean', '--ca', '@ca.pem', '--json']],
    ['lint', ['lint', '@Dockerfile.leaky', '--json']],
  ])('%s --json prints JSON', async (_name, args) => {
    const r = await runCli(entry, resolveArgs(args));
    expect(() => JSON.parse(r.stdout)).not.toThrow();
  });
});
