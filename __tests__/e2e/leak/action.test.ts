/**
 * The leak-check sub-action as the Actions runner runs it: `node dist/leak-check/index.js` (built from the current
 * sources by scripts/build.mjs, or ORG_CA_TEST_DIST's), inputs as INPUT_<NAME>, fresh GITHUB_OUTPUT and
 * GITHUB_STEP_SUMMARY files, RUNNER_TEMP. Images are real buildah builds exported as OCI archives.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256Hex } from '../../../src/ca/certificate.js';
import type { Report } from '../../../src/leak/types.js';
import { runAction, type ActionRun } from '../../support/inspection/action-runner.js';
import { mintRoot } from '../../support/pki.js';
import { build, ensureBase, push, removeBuilt } from './support.js';
import { escapeMarkdown } from '../../../src/output/markdown.js';

const org = mintRoot({ cn: 'Org Inspection Root', org: 'Org' });
const orgFp = sha256Hex(org.der);
/** Every line of the CA's PEM body, and its DER as one base64 line: none may appear in anything the step writes. */
const caBodyLines = org.certPem.split('\n').filter((l) => l && !l.startsWith('-----'));
const caOneLine = org.der.toString('base64');
let work: string;
let caFile: string;
let leaky: string;
let clean: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-leak-action-'));
  caFile = join(work, 'org-ca.pem');
  writeFileSync(caFile, org.certPem);
  ensureBase();
  leaky = join(work, 'leaky.tar');
  push(
    build('leak-e2e-action-leaky', {
      containerfile: 'FROM BASE\nCOPY org.pem /etc/org.pem\nENV NODE_EXTRA_CA_CERTS=/etc/org.pem',
      files: { 'org.pem': org.certPem },
    }),
    `oci-archive:${leaky}`,
  );
  clean = join(work, 'clean.tar');
  push(
    build('leak-e2e-action-clean', { containerfile: 'FROM BASE\nRUN echo hello > /hello.txt' }),
    `oci-archive:${clean}`,
  );
}, 600_000);

afterAll(() => {
  removeBuilt();
  if (work) rmSync(work, { recursive: true, force: true });
});

const runs: ActionRun[] = [];
afterEach(() => {
  for (const r of runs.splice(0)) rmSync(r.runnerTemp, { recursive: true, force: true });
});

async function leakCheck(inputs: Record<string, string>): Promise<ActionRun> {
  const run = await runAction('leak-check', {
    inputs,
    env: { PATH: process.env.PATH },
    timeoutMs: 240_000,
    workRoot: work,
  });
  runs.push(run);
  return run;
}

const errorLines = (run: ActionRun): string[] => run.stdout.split('\n').filter((l) => l.startsWith('::error'));

/** Everything the step wrote: logs, file commands, and the report files its outputs name. */
function everything(run: ActionRun): string {
  const files = ['report-file', 'sarif-file']
    .map((o) => run.outputs[o])
    .filter((p): p is string => Boolean(p) && existsSync(p!));
  return [
    run.stdout,
    run.stderr,
    run.files.output,
    run.files.env,
    run.files.summary,
    ...files.map((f) => readFileSync(f, 'utf8')),
  ].join('\n');
}

function expectNoCaBody(run: ActionRun): void {
  const all = everything(run);
  for (const line of caBodyLines) expect(all).not.toContain(line);
  expect(all).not.toContain(caOneLine);
}

/**
 * The outputs of a run that could not check the image: leaks, a JSON report with `error`, a SARIF 2.1.0 run with
 * executionSuccessful false and the reason as a tool execution notification, and a summary that says why.
 */
function expectFailureReported(run: ActionRun, reason: string): void {
  expect(run.outputs.leaks).toBe('0');
  for (const o of ['report-file', 'sarif-file']) {
    expect(run.outputs[o]).toBeTruthy();
    expect(run.outputs[o]!.startsWith(run.runnerTemp)).toBe(true);
  }
  const report = JSON.parse(readFileSync(run.outputs['report-file']!, 'utf8')) as Report;
  // The annotation escapes % and newlines (workflow commands); the reason itself is one line.
  expect(report.error).toBe(reason.replace(/%25/g, '%'));
  expect(report.error).not.toContain('\n');
  expect(report.findings).toEqual([]);
  const sarif = JSON.parse(readFileSync(run.outputs['sarif-file']!, 'utf8'));
  expect(sarif.version).toBe('2.1.0');
  expect(sarif.runs[0].results).toEqual([]);
  expect(sarif.runs[0].invocations).toEqual([
    {
      executionSuccessful: false,
      toolExecutionNotifications: [
        { level: 'error', message: { text: report.error }, descriptor: { id: 'input-error' } },
      ],
    },
  ]);
  expect(sarif.runs[0].tool.driver.notifications.map((n: { id: string }) => n.id)).toContain('input-error');
  expect(run.summary).toContain('## org-ca leak check');
  expect(run.summary).toContain('**Could not check**');
  expect(run.summary).toContain('nothing is counted clean');
  // The reason, Markdown-escaped, is in the summary.
  expect(run.summary).toContain(escapeMarkdown(report.error!.slice(0, 40)));
}

describe('a leaking image', () => {
  test.each([
    ['ca-file', () => ({ 'ca-file': caFile })],
    ['ca (the PEM text, as from a secret)', () => ({ ca: org.certPem })],
    ['fingerprint only (colon form)', () => ({ fingerprint: orgFp.toUpperCase().replace(/(..)(?!$)/g, '$1:') })],
  ])(
    'with %s: exit 1, one annotation per finding, leaks, JSON report, SARIF 2.1.0, summary table',
    async (_name, ca) => {
      const run = await leakCheck({ image: `oci-archive:${leaky}`, ...ca() });
      expect(run.exitCode).toBe(1);

      const report = JSON.parse(readFileSync(run.outputs['report-file']!, 'utf8')) as Report;
      expect(report.unscanned).toEqual([]);
      expect(report.findings.map((f) => `${f.kind}@${f.path}`).sort()).toEqual([
        'pem@/etc/org.pem',
        'pointer-to-ca@config.Env[1]',
      ]);
      expect(run.outputs.leaks).toBe('2');

      // One error annotation per finding, titled with its kind and path, plus the step's one failure line.
      const errors = errorLines(run);
      const annotations = errors.filter((l) => l.startsWith('::error title=CA leak'));
      expect(annotations).toHaveLength(2);
      expect(annotations.some((l) => l.includes('(pem) at /etc/org.pem'))).toBe(true);
      expect(annotations.some((l) => l.includes('(pointer-to-ca) at config.Env[1]'))).toBe(true);
      expect(errors.filter((l) => !annotations.includes(l))).toEqual(['::error::org-ca leak check failed: 2 leak(s).']);

      // Report files live in RUNNER_TEMP (the runner cleans it), outputs name them.
      expect(run.outputs['report-file']!.startsWith(run.runnerTemp)).toBe(true);
      const sarif = JSON.parse(readFileSync(run.outputs['sarif-file']!, 'utf8'));
      expect(sarif.version).toBe('2.1.0');
      expect(sarif.$schema).toMatch(/sarif-2\.1\.0/);
      expect(sarif.runs).toHaveLength(1);
      expect(sarif.runs[0].tool.driver.name).toBe('org-ca leak-check');
      expect(sarif.runs[0].results).toHaveLength(2);
      const ruleIds = new Set(sarif.runs[0].tool.driver.rules.map((r: { id: string }) => r.id));
      for (const r of sarif.runs[0].results) {
        expect(ruleIds.has(r.ruleId)).toBe(true);
        expect(r.level).toBe('error');
        expect(r.message.text).toBeTruthy();
        expect(r.locations[0].physicalLocation.artifactLocation.uri).toBeTruthy();
      }
      expect(sarif.runs[0].results.map((r: { ruleId: string }) => r.ruleId).sort()).toEqual(['pem', 'pointer-to-ca']);
      expect(sarif.runs[0].invocations).toEqual([{ executionSuccessful: true, toolExecutionNotifications: [] }]);

      // The job summary: a table with one row per finding.
      expect(run.summary).toContain('## org-ca leak check');
      expect(run.summary).toContain('**Failed**: 2 leak(s), 0 part(s) not scanned');
      expect(run.summary).toContain('| Kind | Image | Layer | Instruction | Path | Visible | Certificate |');
      const rows = run.summary.split('\n').filter((l) => /^\| (pem|pointer-to-ca) \|/.test(l));
      expect(rows).toHaveLength(2);
      expect(rows.find((r) => r.startsWith('| pem |'))).toContain('/etc/org.pem');
      // …and it ends with the fix
      expect(run.summary.trim().split('\n').at(-1)).toMatch(
        /^\*\*Fix\*\*: use the CA only in a builder stage, through a BuildKit secret mount/,
      );

      expectNoCaBody(run);
    },
    300_000,
  );
});

describe('a clean image', () => {
  test.each([
    ['ca-file', () => ({ 'ca-file': caFile })],
    ['ca', () => ({ ca: org.certPem })],
    ['fingerprint', () => ({ fingerprint: orgFp })],
  ])(
    'with %s: exit 0, leaks=0, no error annotation, clean summary',
    async (_name, ca) => {
      const run = await leakCheck({ image: clean, ...ca() });
      expect(errorLines(run)).toEqual([]);
      expect(run.exitCode).toBe(0);
      expect(run.outputs.leaks).toBe('0');
      const report = JSON.parse(readFileSync(run.outputs['report-file']!, 'utf8')) as Report;
      expect(report.findings).toEqual([]);
      expect(report.unscanned).toEqual([]);
      const sarif = JSON.parse(readFileSync(run.outputs['sarif-file']!, 'utf8'));
      expect(sarif.runs[0].results).toEqual([]);
      expect(sarif.runs[0].invocations).toEqual([{ executionSuccessful: true, toolExecutionNotifications: [] }]);
      expect(run.summary).toContain('**Clean**');
      expectNoCaBody(run);
    },
    300_000,
  );
});

describe('Dockerfile lint', () => {
  // The release stage is clean; a debug stage built on it installs the CA.
  const DOCKERFILE = [
    'FROM busybox:1.36 AS release',
    'COPY app /app',
    'FROM release AS debug',
    'COPY org.pem /usr/local/share/ca-certificates/org.crt',
    'RUN update-ca-certificates',
    '',
  ].join('\n');
  let dockerfile: string;
  beforeAll(() => {
    dockerfile = join(work, 'Dockerfile');
    writeFileSync(dockerfile, DOCKERFILE);
  });

  test('a lint finding counts in leaks and fails the step even when the image is clean', async () => {
    const run = await leakCheck({ image: clean, 'ca-file': caFile, dockerfile });
    expect(run.exitCode).toBe(1);
    const lint = errorLines(run).filter((l) => l.startsWith('::error title=CA would leak'));
    // COPY of a CA file and the trust-store update, each annotated at its line of the Dockerfile.
    expect(lint).toHaveLength(2);
    expect(lint.some((l) => l.includes(`file=${dockerfile},line=4`) && l.includes('copy-ca-file'))).toBe(true);
    expect(lint.some((l) => l.includes(`file=${dockerfile},line=5`) && l.includes('trust-store-update'))).toBe(true);
    expect(run.outputs.leaks).toBe('2');
    // The image itself was clean.
    expect((JSON.parse(readFileSync(run.outputs['report-file']!, 'utf8')) as Report).findings).toEqual([]);
    expect(errorLines(run)).toContain('::error::org-ca leak check failed: 2 leak(s).');
    expect(run.summary).toContain("Dockerfile lint: 2 finding(s) in the stages of target 'debug'");
    expect(run.summary.trim().split('\n').at(-1)).toMatch(/^\*\*Fix\*\*: use the CA only in a builder stage/);
  }, 300_000);

  test('target: the release stage does not reach the debug stage, so it passes', async () => {
    const run = await leakCheck({ image: clean, 'ca-file': caFile, dockerfile, target: 'release' });
    expect(errorLines(run)).toEqual([]);
    expect(run.exitCode).toBe(0);
    expect(run.outputs.leaks).toBe('0');
  }, 300_000);

  test('a Dockerfile alone (no image, no CA needed): the SARIF file carries the lint findings at their lines', async () => {
    const run = await leakCheck({ dockerfile });
    expect(run.exitCode).toBe(1);
    expect(run.outputs.leaks).toBe('2');
    const sarif = JSON.parse(readFileSync(run.outputs['sarif-file']!, 'utf8'));
    const results = sarif.runs[0].results as {
      ruleId: string;
      locations: { physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } } }[];
    }[];
    expect(results.map((r) => `${r.ruleId}@${r.locations[0]!.physicalLocation.region.startLine}`).sort()).toEqual([
      'OCA101@4',
      'OCA103@5',
    ]);
    // Outside GITHUB_WORKSPACE (as here) an absolute file: URI; inside it, relative to the checkout (unit-tested).
    expect(results[0]!.locations[0]!.physicalLocation.artifactLocation.uri).toBe(pathToFileURL(dockerfile).href);
    const ruleIds = new Set(sarif.runs[0].tool.driver.rules.map((r: { id: string }) => r.id));
    for (const r of results) expect(ruleIds.has(r.ruleId)).toBe(true);
    const report = JSON.parse(readFileSync(run.outputs['report-file']!, 'utf8'));
    expect(report.dockerfile.findings).toHaveLength(2);
    expect(report.error).toBeUndefined();
  }, 300_000);
});

describe('an unreadable image: every output and the summary, then the step fails', () => {
  test.each<[string, () => string, RegExp]>([
    [
      'a directory that is not an image (never read as a root file system unless rootfs:)',
      () => dirWith('plain', { 'etc/hostname': 'box\n' }),
      /holds no image .*write rootfs:/,
    ],
    [
      'an empty directory (a failed --output type=oci,tar=false export)',
      () => dirWith('empty', {}),
      /is an empty directory: .*rerun the export/,
    ],
    [
      'oci: on an OCI archive',
      () => `oci:${leaky}`,
      /oci: expects an OCI image layout directory .* write oci-archive:/,
    ],
    ['a truncated archive', () => truncated(), /is not a readable tar archive: .*truncated/],
  ])(
    '%s',
    async (_name, image, message) => {
      const run = await leakCheck({ image: image(), 'ca-file': caFile });
      expect(run.exitCode).toBe(1);
      const errors = errorLines(run);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(message);
      expect(run.stderr.trim()).toBe('');
      expectFailureReported(run, errors[0]!.replace(/^::error::/, ''));
      expectNoCaBody(run);
    },
    120_000,
  );

  test('an image with a part that cannot be read: reported as not scanned, SARIF run not successful, step fails', async () => {
    const cut = truncatedLayer();
    const run = await leakCheck({ image: cut, 'ca-file': caFile });
    expect(run.exitCode).toBe(1);
    const report = JSON.parse(readFileSync(run.outputs['report-file']!, 'utf8')) as Report;
    expect(report.error).toBeUndefined();
    expect(report.unscanned.length).toBeGreaterThan(0);
    const sarif = JSON.parse(readFileSync(run.outputs['sarif-file']!, 'utf8'));
    expect(sarif.runs[0].invocations[0].executionSuccessful).toBe(false);
    expect(
      sarif.runs[0].invocations[0].toolExecutionNotifications.map(
        (n: { descriptor: { id: string } }) => n.descriptor.id,
      ),
    ).toContain('not-scanned');
    expect(sarif.runs[0].results.map((r: { ruleId: string }) => r.ruleId)).toContain('not-scanned');
    expect(run.outputs.leaks).toBe('0');
    expect(run.summary).toMatch(/\*\*Failed\*\*: 0 leak\(s\), [1-9]\d* part\(s\) not scanned/);
    expect(errorLines(run).at(-1)).toMatch(
      /^::error::org-ca leak check failed: 0 leak\(s\), [1-9]\d* part\(s\) of the image not scanned\.$/,
    );
  }, 120_000);
});

function dirWith(name: string, files: Record<string, string>): string {
  const dir = join(work, `unreadable-${name}`);
  mkdirSync(dir, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

function truncated(): string {
  const file = join(work, 'truncated.tar');
  writeFileSync(file, readFileSync(clean).subarray(0, 5000));
  return file;
}

/** The clean image as an OCI layout whose biggest layer lost its second half. */
function truncatedLayer(): string {
  const dir = join(work, 'cut-layer');
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-C', dir, '-xf', clean]);
  const blobs = join(dir, 'blobs/sha256');
  const biggest = readdirSync(blobs).sort((a, b) => statSync(join(blobs, b)).size - statSync(join(blobs, a)).size)[0]!;
  const bytes = readFileSync(join(blobs, biggest));
  writeFileSync(join(blobs, biggest), bytes.subarray(0, bytes.length >> 1));
  return `oci:${dir}`;
}

describe('bad inputs fail with one clear line', () => {
  const key = org.keyPem;
  const keyBody = key.split('\n').filter((l) => l && !l.startsWith('-----'));

  test.each([
    [
      'no CA and no fingerprint',
      () => ({ image: clean }),
      /^::error::Nothing to look for: set ca or ca-file \(the CA\), or fingerprint/,
    ],
    [
      'a private key as ca',
      () => ({ image: clean, ca: key }),
      /^::error::The ca input contains a private key; it was not used and is not shown\./,
    ],
    [
      'a private key pasted after the CA',
      () => ({ image: clean, ca: `${org.certPem}${key}` }),
      /private key; it was not used and is not shown/,
    ],
    ['a malformed fingerprint', () => ({ image: clean, fingerprint: 'abc123' }), /^::error::.*fingerprint.*'abc123'/],
    [
      'a nonexistent ca-file',
      () => ({ image: clean, 'ca-file': '/nonexistent/org.pem' }),
      /^::error::ca-file '\/nonexistent\/org\.pem' could not be read \(ENOENT\)/,
    ],
    [
      'a nonexistent OCI archive',
      () => ({ image: 'oci-archive:/nonexistent/image.tar', 'ca-file': caFile }),
      /^::error::.*'\/nonexistent\/image\.tar'/,
    ],
    [
      'a nonexistent path (not sent to docker save: a reference never starts with /)',
      () => ({ image: '/nonexistent/image.tar', 'ca-file': caFile }),
      /^::error::'\/nonexistent\/image\.tar' does not exist: expected a docker save or OCI archive/,
    ],
    [
      'a nonexistent relative path',
      () => ({ image: './build/image.tar', 'ca-file': caFile }),
      /^::error::'\.\/build\/image\.tar' does not exist/,
    ],
    ['neither image nor dockerfile', () => ({ 'ca-file': caFile }), /^::error::Nothing to check: set 'image'/],
  ])(
    '%s',
    async (_name, inputs, message) => {
      const run = await leakCheck(inputs());
      expect(run.exitCode).toBe(1);
      const errors = errorLines(run);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(message);
      // One line: no stack trace, nothing on stderr.
      expect(run.stderr.trim()).toBe('');
      expect(run.stdout).not.toMatch(/^\s+at /m);
      // And still every output, file and the summary, saying why (README: upload-sarif with if: always()).
      expectFailureReported(run, errors[0]!.replace(/^::error::/, ''));
      const all = everything(run);
      for (const line of keyBody) expect(all).not.toContain(line);
      expect(all).not.toContain('PRIVATE KEY-----');
      expectNoCaBody(run);
    },
    120_000,
  );
});
