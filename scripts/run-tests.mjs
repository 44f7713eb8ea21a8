// Runs jest on Node 24 (ESM needs --experimental-vm-modules) and ends with a plain
// "N passed, N failed" line, which CI reads as the run's closing count.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
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
const run = spawnSync(node24Path(), args, { cwd: root, stdio: 'inherit' });
let summary = 'tests: 0 passed, 0 failed';
try {
  const r = JSON.parse(readFileSync(resultFile, 'utf8'));
  const skipped = r.numPendingTests + r.numTodoTests;
  // A suite that fails to run (a syntax or module error) has no failed tests of its own: count it as failed.
  const brokenSuites = r.testResults.filter((s) => s.status === 'failed' && s.assertionResults.every((a) => a.status !== 'failed')).length;
  summary = `tests: ${r.numPassedTests} passed, ${r.numFailedTests + brokenSuites} failed${skipped ? `, ${skipped} skipped` : ''}${brokenSuites ? ` (${brokenSuites} suite(s) failed to run)` : ''}`;
  if (r.numTotalTests === 0) summary = 'tests: 0 passed, 0 failed';
} catch {
  // no results file: jest itself failed to start; its own output above says why
}
rmSync(out, { recursive: true, force: true });
console.log(summary);
process.exit(run.status ?? 1);
