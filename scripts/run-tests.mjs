// Runs jest on Node 24 (ESM needs --experimental-vm-modules) and ends with a plain
// "N passed, N failed" line, which CI reads as the run's closing count.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { node24Path } from './node24.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'org-ca-jest-'));
const resultFile = join(out, 'results.json');
const args = [
  '--experimental-vm-modules',
  '--no-warnings=ExperimentalWarning',
  join(root, 'node_modules/jest/bin/jest.js'),
  '--json',
  `--outputFile=${resultFile}`,
  ...process.argv.slice(2),
];
const trustBefore = hostTrustLeftovers();
const run = spawnSync(node24Path(), args, { cwd: root, stdio: 'inherit' });
// The suites share this machine's /etc/docker/certs.d and /etc/containers/certs.d: a test that runs the action's main
// step with registry trust and no post step leaves the org CA there, and the registry suites running beside it then
// see trust they did not add. That fails the run here, naming the files, instead of as a riddle in another suite.
const leftBehind = hostTrustLeftovers().filter((path) => !trustBefore.includes(path));
let summary = 'tests: 0 passed, 0 failed';
try {
  const r = JSON.parse(readFileSync(resultFile, 'utf8'));
  const skipped = r.numPendingTests + r.numTodoTests;
  // A suite that fails to run (a syntax or module error) has no failed tests of its own: count it as failed.
  const brokenSuites = r.testResults.filter(
    (s) => s.status === 'failed' && s.assertionResults.every((a) => a.status !== 'failed'),
  ).length;
  summary = `tests: ${r.numPassedTests} passed, ${r.numFailedTests + brokenSuites} failed${skipped ? `, ${skipped} skipped` : ''}${brokenSuites ? ` (${brokenSuites} suite(s) failed to run)` : ''}`;
  if (r.numTotalTests === 0) summary = 'tests: 0 passed, 0 failed';
} catch {
  // no results file: jest itself failed to start; its own output above says why
}
rmSync(out, { recursive: true, force: true });
console.log(summary);
if (leftBehind.length) {
  console.log(
    `tests left org-ca's registry trust on this machine (a main step without its post step?): ${leftBehind.join(', ')}`,
  );
  process.exit(1);
}
process.exit(run.status ?? 1);

/** org-ca's CA files under the builders' certs.d directories, and the registry journals that record them. */
function hostTrustLeftovers() {
  const found = [];
  const list = (dir) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  const certsDirs = [
    '/etc/docker/certs.d',
    '/etc/containers/certs.d',
    join(homedir(), '.config', 'containers', 'certs.d'),
  ];
  for (const certs of certsDirs)
    for (const host of list(certs))
      for (const name of list(join(certs, host))) if (/^org-ca.*\.crt$/.test(name)) found.push(join(certs, host, name));
  for (const name of list('/var/lib/org-ca'))
    if (name.startsWith('registry-journal')) found.push(join('/var/lib/org-ca', name));
  return found;
}
