/**
 * `org-ca lint` as engineers run it: the committed bundle through bin/org-ca.js, as a separate process, on real
 * files (a Dockerfile and a build context with a .dockerignore), checking exit codes and each output format.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mintLeaf, mintRoot, type Issued } from '../../support/pki.js';

const BIN = fileURLToPath(new URL('../../../bin/org-ca.js', import.meta.url));
let dir: string;
let org: Issued;
let other: Issued;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'org-ca-cli-lint-'));
  org = mintRoot({ cn: 'CLI Lint Org Root', org: 'CLI Org' });
  other = mintRoot({ cn: 'CLI Lint Other Root', org: 'Other' });
  mkdirSync(join(dir, 'ctx', 'certs'), { recursive: true });
  writeFileSync(join(dir, 'ctx', 'certs', 'org.pem'), org.certPem);
  writeFileSync(join(dir, 'ctx', 'certs', 'other.pem'), other.certPem);
  writeFileSync(
    join(dir, 'ctx', 'certs', 'server.crt'),
    mintLeaf(other, { cn: 'srv.example', dnsNames: ['srv.example'] }).certPem,
  );
  writeFileSync(join(dir, 'ctx', 'app.py'), 'print(1)\n');
  writeFileSync(join(dir, 'org.pem'), org.certPem);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function lint(dockerfile: string, args: string[] = []): SpawnSyncReturns<string> {
  const file = join(dir, `Dockerfile.${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, dockerfile);
  return spawnSync(process.execPath, [BIN, 'lint', file, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: dir },
    timeout: 30_000,
  });
}

describe('org-ca lint (CLI)', () => {
  test('a CA in the release image exits 1; the same CA only in a builder exits 0 with an info line and the cache note', () => {
    const leak = lint(
      'FROM alpine\nCOPY corp-root.crt /usr/local/share/ca-certificates/\nRUN update-ca-certificates\n',
    );
    expect(leak.status).toBe(1);
    expect(leak.stdout).toMatch(/:2: error OCA101 copy-ca-file/);
    expect(leak.stdout).toMatch(/:3: error OCA103 trust-store-update/);
    expect(leak.stdout).toMatch(/^ {4}fix: Use the CA only in a builder stage/m);
    const builder = lint(
      'FROM golang AS build\nCOPY corp-root.crt /usr/local/share/ca-certificates/\nRUN update-ca-certificates && go build -o /app\nFROM scratch\nCOPY --from=build /app /app\n',
    );
    expect(builder.status).toBe(0);
    expect(builder.stdout).toMatch(/:2: info OCA101/);
    expect(builder.stdout).toMatch(/note: Findings marked info .* build cache/);
  });

  test('--ignore and inline ignores keep the finding visible; SARIF carries suppressions; JSON the same findings', () => {
    const file =
      'FROM node\n# org-ca ignore=copy-ca-file intended for the dev image\nCOPY corp-root.crt /usr/local/share/ca-certificates/\nRUN update-ca-certificates\n';
    expect(lint(file).status).toBe(1);
    const text = lint(file, ['--ignore', 'OCA103']);
    expect(text.status).toBe(0);
    expect(text.stdout).toMatch(/:3: ignored \(intended for the dev image\) OCA101/);
    expect(text.stdout).toMatch(/:4: ignored \(--ignore OCA103\) OCA103/);
    const sarif = JSON.parse(lint(file, ['--ignore=trust-store-update', '--format', 'sarif']).stdout);
    expect(
      sarif.runs[0].results.map((r: { ruleId: string; suppressions: { kind: string }[] }) => [
        r.ruleId,
        r.suppressions[0]!.kind,
      ]),
    ).toEqual([
      ['OCA101', 'inSource'],
      ['OCA103', 'external'],
    ]);
    const json = JSON.parse(lint(file, ['--json']).stdout);
    expect(json.failed).toBe(true);
    expect(
      json.findings.map((f: { rule: string; ignored?: { by: string } }) => [f.rule, f.ignored?.by ?? null]),
    ).toEqual([
      ['OCA101', 'inline'],
      ['OCA103', null],
    ]);
  });

  test('--context parses what COPY brings; --ca narrows it to the org CA family', () => {
    const file = 'FROM python\nCOPY certs/ /usr/local/share/ca-certificates/\nRUN update-ca-certificates\n';
    const all = lint(file, ['--context', join(dir, 'ctx'), '--json']);
    expect(all.status).toBe(1);
    const found = (r: SpawnSyncReturns<string>): string[] =>
      JSON.parse(r.stdout)
        .findings.filter((f: { rule: string }) => f.rule === 'OCA101')
        .map((f: { message: string }) => /'(certs\/[^']+)'/.exec(f.message)![1])
        .sort();
    expect(found(all)).toEqual(['certs/org.pem', 'certs/other.pem']);
    expect(found(lint(file, ['--context', join(dir, 'ctx'), '--ca', join(dir, 'org.pem'), '--json']))).toEqual([
      'certs/org.pem',
    ]);
    writeFileSync(join(dir, 'ctx', '.dockerignore'), 'certs/org.pem\n');
    try {
      const ignored = lint(file, ['--context', join(dir, 'ctx'), '--ca', join(dir, 'org.pem')]);
      expect(ignored.status).toBe(0);
    } finally {
      rmSync(join(dir, 'ctx', '.dockerignore'));
    }
  });

  test.each<[string[], RegExp]>([
    [['--ignore', 'DL3008'], /^org-ca lint: --ignore 'DL3008' is not a rule: expected one of OCA101 \(copy-ca-file\)/],
    [['--target', 'nope'], /^org-ca lint: --target 'nope' is not a stage of this Dockerfile: expected one of 0\.$/m],
    [['--format', 'xml'], /^org-ca lint: --format 'xml' is not a format: expected text, json or sarif/],
    [
      ['--context', '/nonexistent-org-ca'],
      /^org-ca lint: --context: the build context '\/nonexistent-org-ca' could not be read \(ENOENT\)/,
    ],
    [['--ca', '/x.pem'], /^org-ca lint: --ca and --fingerprint choose which certificates of the build context count/],
  ])('bad input %j is a one-line usage error (exit 2)', (args, message) => {
    const r = lint('FROM alpine\n', args);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
  });
});
