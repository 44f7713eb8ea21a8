/**
 * `org-ca env --format gitlab|azure|buildkite|circleci|jenkins` from the bundled CLI, with the files in a directory
 * whose name holds spaces, quotes, %, ;, ], a backslash and (in the second case) $: each output, read the way its CI
 * system reads it, must give exactly the variables the sh form gives when a real shell evaluates it.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mintRoot } from '../../support/pki.js';
import {
  azureAgent,
  buildkiteEnvironmentHook,
  circleciBashEnv,
  gitlabDotenvReport,
  jenkinsReadProperties,
  type Parsed,
} from '../../support/ci-consumers/index.js';

const BIN = fileURLToPath(new URL('../../../bin/org-ca.js', import.meta.url));
let dir: string;
let caFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'org-ca-ci-formats-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, mintRoot({ cn: 'CI Formats Org Root', org: 'CI Org' }).certPem);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function env(args: string[], extra: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [BIN, 'env', '--ca', caFile, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: dir, XDG_CACHE_HOME: join(dir, 'cache'), ...extra },
    timeout: 60_000,
  });
}

/** The reference: the sh form, evaluated by a real POSIX shell, every variable read back as JSON. */
function shReference(filesDir: string, extra: NodeJS.ProcessEnv): Parsed {
  const r = env(['--dir', filesDir], extra);
  expect(r.status).toBe(0);
  const names = [...r.stdout.matchAll(/^export (\w+)=/gm)].map((m) => m[1]!);
  const dump = spawnSync(
    'sh',
    [
      '-c',
      `${r.stdout}\n"$0" -e 'console.log(JSON.stringify(Object.fromEntries(process.argv.slice(1).map((n) => [n, process.env[n]]))))' "$@"`,
      process.execPath,
      ...names,
    ],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return JSON.parse(dump.stdout) as Parsed;
}

const CONSUMERS: ReadonlyArray<[string, (text: string, names: readonly string[]) => Parsed]> = [
  ['gitlab', (text) => gitlabDotenvReport(text)],
  ['azure', (text) => azureAgent(text)],
  ['buildkite', (text, names) => buildkiteEnvironmentHook(text, names)],
  ['circleci', (text, names) => circleciBashEnv(text, names)],
  ['jenkins', (text) => jenkinsReadProperties(text)],
];

describe('each format gives the same variables as the sh form', () => {
  let filesDir: string;
  let reference: Parsed;
  // A JAVA_TOOL_OPTIONS already set by the job is kept in front of org-ca's options, quotes and all.
  const extra = { JAVA_TOOL_OPTIONS: `-Dfile.encoding=UTF-8 -Dx="a b" -Dy=100%` };

  beforeAll(() => {
    filesDir = join(dir, `org "ca" files; it's 100% ]here[ \\ too`);
    mkdirSync(filesDir, { recursive: true });
    reference = shReference(filesDir, extra);
  });

  test('the reference holds every file variable, pointing into the odd directory', () => {
    expect(Object.keys(reference).length).toBeGreaterThanOrEqual(15);
    expect(reference.NODE_EXTRA_CA_CERTS).toBe(join(filesDir, 'org-ca.pem'));
    expect(reference.JAVA_TOOL_OPTIONS).toContain(`"-Djavax.net.ssl.trustStore=${join(filesDir, 'truststore.jks')}"`);
  });

  test.each(CONSUMERS)('--format %s', (format, consume) => {
    const r = env(['--dir', filesDir, '--format', format], extra);
    // Notes about the machine's own npmrc may appear; no refusal or warning about the format may.
    expect(r.stderr).not.toMatch(/cannot|limit|rejects/);
    expect(r.status).toBe(0);
    expect(consume(r.stdout, Object.keys(reference))).toEqual(reference);
  });
});

describe('a value the format cannot carry', () => {
  test("gitlab refuses a '$' in the directory with one line and prints nothing; the bash forms carry it", () => {
    const filesDir = join(dir, 'cache $HOME');
    mkdirSync(filesDir, { recursive: true });
    const gitlab = env(['--dir', filesDir, '--format', 'gitlab']);
    expect(gitlab.status).toBe(1);
    expect(gitlab.stdout).toBe('');
    // The refusal is the last line (notes about the machine's npmrc may come before it), and the only refusal.
    const lines = gitlab.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(
      /^org-ca env: \w+='.*cache \$HOME.*' cannot go into a GitLab dotenv report: it holds '\$'/,
    );
    expect(lines.filter((l) => l.includes('cannot'))).toHaveLength(1);
    const circle = env(['--dir', filesDir, '--format', 'circleci']);
    expect(circle.status).toBe(0);
    expect(circleciBashEnv(circle.stdout, ['SSL_CERT_FILE']).SSL_CERT_FILE).toBe(join(filesDir, 'ca-bundle.pem'));
  });
});
