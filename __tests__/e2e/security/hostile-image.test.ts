/**
 * Attack: an image of big archives that fills the runner's disk while the check opens them (a zip must be complete
 * before it is opened, so archives over 2 MiB wait in TMPDIR). Guard: SPILL_BOUND (src/leak/scanning/nested/budget.ts,
 * spool.ts): past the bound an archive is listed as not looked inside, never opened from a half-written file, never
 * counted clean, and TMPDIR holds nothing afterwards. Real zip archives, the real CLI.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEntry, runCli } from '../../support/cli.js';
import { mintRoot } from '../../support/pki.js';

let work: string;
let rootfs: string;
let temp: string;
const ca = mintRoot({ cn: 'Spill Test Root' });

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-spill-'));
  rootfs = join(work, 'rootfs');
  temp = join(work, 'tmp');
  mkdirSync(temp);
  // Three archives of 3 MiB of noise each (stored, not compressed): each must wait in TMPDIR to be opened; the CA is
  // inside every one of them.
  for (const n of [1, 2, 3]) {
    const dir = join(work, `content-${n}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'noise.bin'), randomBytes(3 * 1024 * 1024));
    writeFileSync(join(dir, 'org.pem'), ca.certPem);
    mkdirSync(join(rootfs, 'app'), { recursive: true });
    execFileSync('zip', ['-q', '-0', '-r', join(rootfs, 'app', `bundle-${n}.zip`), '.'], { cwd: dir });
  }
  writeFileSync(join(work, 'ca.pem'), ca.certPem);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

test('past --max-spill-bytes the archives are not opened, listed as not looked inside, and strict fails', async () => {
  const env = { PATH: process.env.PATH, HOME: work, TMPDIR: temp };
  const r = await runCli(
    await cliEntry(),
    [
      'leak-check',
      `rootfs:${rootfs}`,
      '--ca',
      join(work, 'ca.pem'),
      '--max-spill-bytes',
      '4M',
      '--parallel',
      '1',
      '--json',
    ],
    { env },
  );
  const report = JSON.parse(r.stdout) as {
    findings: { path: string }[];
    notLookedInside: { path: string; reason: string }[];
  };
  // The first archive fits the bound and its CA is found; the others are refused, each named with the bound.
  expect(report.findings.some((f) => /bundle-\d\.zip!\/org\.pem$/.test(f.path))).toBe(true);
  const refused = report.notLookedInside.filter((n) =>
    /budget for archives written to TMPDIR to be opened is spent \(--max-spill-bytes\)/.test(n.reason),
  );
  expect(refused.length).toBeGreaterThanOrEqual(1);
  expect(readdirSync(temp)).toEqual([]);
  const strict = await runCli(
    await cliEntry(),
    [
      'leak-check',
      `rootfs:${rootfs}`,
      '--fingerprint',
      '00'.repeat(32),
      '--max-spill-bytes',
      '4M',
      '--parallel',
      '1',
      '--strict',
    ],
    { env },
  );
  expect(strict.status).toBe(1);
  expect(strict.stdout).toMatch(
    /NOT LOOKED INSIDE .*bundle-\d\.zip: zip not opened: the 4 MiB budget for archives written to TMPDIR/,
  );
});

test('with the default bound (four times the image) the same archives are all opened', async () => {
  const r = await runCli(await cliEntry(), ['leak-check', `rootfs:${rootfs}`, '--ca', join(work, 'ca.pem'), '--json'], {
    env: { PATH: process.env.PATH, HOME: work, TMPDIR: temp },
  });
  const report = JSON.parse(r.stdout) as { findings: { path: string }[]; notLookedInside: unknown[] };
  expect(report.findings.filter((f) => /bundle-\d\.zip!\/org\.pem$/.test(f.path))).toHaveLength(3);
  expect(report.notLookedInside).toEqual([]);
});
