/**
 * The lint against real Dockerfiles from public repositories (see __tests__/fixtures/dockerfiles/README.md, which
 * holds each file's repository, path, commit, verdict and why). The table is the test's input: every file in the
 * folder must have a row, and the lint must give each the verdict in it, with exactly the failing rules the row cites.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { lintDockerfile } from '../../../src/lint/lint.js';

const DIR = fileURLToPath(new URL('../../fixtures/dockerfiles/', import.meta.url));

interface Row {
  readonly file: string;
  readonly repository: string;
  readonly commit: string;
  readonly verdict: 'pass' | 'fail';
  readonly kind: string;
  readonly why: string;
}

function table(): Row[] {
  const rows: Row[] = [];
  for (const line of readFileSync(join(DIR, 'README.md'), 'utf8').split('\n')) {
    const cells = line.split(/(?<!\\)\|/).map((c) => c.trim());
    if (cells.length < 9 || !cells[1]!.startsWith('`')) continue;
    rows.push({
      file: cells[1]!.replace(/`/g, ''),
      repository: cells[2]!,
      commit: cells[4]!.replace(/`/g, ''),
      verdict: cells[5] as 'pass' | 'fail',
      kind: cells[6]!,
      why: cells[7]!,
    });
  }
  return rows;
}

const rows = table();

describe('the corpus of real Dockerfiles', () => {
  test('every file has a row with its repository and commit, and the corpus is big enough', () => {
    const files = readdirSync(DIR)
      .filter((f) => f !== 'README.md')
      .sort();
    expect(rows.map((r) => r.file).sort()).toEqual(files);
    for (const r of rows) {
      expect(r.repository).toMatch(/^[\w.-]+\/[\w.-]+$/);
      expect(r.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(['pass', 'fail']).toContain(r.verdict);
    }
    expect(rows.length).toBeGreaterThanOrEqual(40);
    expect(
      rows.filter((r) => r.verdict === 'fail' && /corporate CA|inspection CA/.test(r.kind)).length,
    ).toBeGreaterThanOrEqual(15);
    expect(rows.filter((r) => r.verdict === 'pass').length).toBeGreaterThanOrEqual(20);
  });

  test.each(rows.map((r) => [r.file, r] as const))('%s', (_file, row) => {
    const result = lintDockerfile(readFileSync(join(DIR, row.file), 'utf8'));
    const failing = [
      ...new Set(result.findings.filter((f) => f.severity === 'error' && !f.ignored).map((f) => f.rule)),
    ].sort();
    expect({ verdict: result.failed ? 'fail' : 'pass', rules: failing }).toEqual({
      verdict: row.verdict,
      rules: [...new Set(row.why.match(/OCA\d{3}/g) ?? [])].sort(),
    });
  });
});
