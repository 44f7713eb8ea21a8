import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('README generated sections (action tables, tools, reasons, troubleshooting) match their sources', () => {
  const r = spawnSync(process.execPath, ['scripts/gen-docs.mjs', '--check'], { cwd: root, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});

test('leak-check/action.yml is a node24 sub-action on its own bundle', () => {
  const action = parse(readFileSync(`${root}/leak-check/action.yml`, 'utf8'));
  expect(action.runs).toEqual({ using: 'node24', main: '../dist/leak-check/index.js' });
  for (const id of [...Object.keys(action.inputs), ...Object.keys(action.outputs)]) expect(id).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
  expect(readFileSync(`${root}/leak-check/action.yml`, 'utf8')).not.toMatch(/\$\{\{/);
});

test('action.yml declares node24 with a post step that always runs, and kebab-case ids', () => {
  const action = parse(readFileSync(`${root}/action.yml`, 'utf8'));
  expect(action.runs).toMatchObject({ using: 'node24', main: 'dist/main/index.js', post: 'dist/post/index.js', 'post-if': 'always()' });
  for (const id of [...Object.keys(action.inputs), ...Object.keys(action.outputs)]) expect(id).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
  // descriptions are documentation, not templates: keep runner expressions out of them
  expect(readFileSync(`${root}/action.yml`, 'utf8')).not.toMatch(/\$\{\{/);
});

describe('README for someone in a hurry', () => {
  const readme = readFileSync(`${root}/README.md`, 'utf8');
  const lines = readme.split('\n');
  const section = (name: string): string => readme.slice(readme.indexOf(`<!-- generated:${name} -->`), readme.indexOf(`<!-- /generated:${name} -->`));
  const headings = lines.filter((l) => /^## /.test(l)).map((l) => l.slice(3));

  test('the first screen: what it is, then the set-up and test commands, then the contents', () => {
    const firstScreen = lines.slice(0, 24).join('\n');
    expect(firstScreen).toContain('bash scripts/setup.sh && npm run demo');
    expect(firstScreen).toMatch(/^npm test\b/m);
    expect(firstScreen).toContain('## Contents');
    expect(headings.slice(0, 3)).toEqual(['Contents', 'Quick start (self-hosted runner behind inspection)', 'Install the CLI']);
    expect(headings).toContain('Troubleshooting');
  });

  test('every link of the contents points at a heading', () => {
    const contents = readme.slice(readme.indexOf('## Contents'), readme.indexOf('## Quick start'));
    const anchors = new Set(
      lines
        .filter((l) => /^#{2,3} /.test(l))
        .map((l) => l.replace(/^#+ /, '').toLowerCase().replace(/[^\w\s-]/g, '').replace(/\s/g, '-')),
    );
    for (const [, anchor] of contents.matchAll(/\]\(#([^)]+)\)/g)) expect({ anchor, found: anchors.has(anchor!) }).toEqual({ anchor, found: true });
  });

  test("the Install section gives npx with the package's version and a global install", () => {
    const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
    const install = readme.slice(readme.indexOf('## Install the CLI'), readme.indexOf('## Why'));
    expect(install).toContain(`npx org-ca@${pkg.version} `);
    expect(install).toContain(`npm install --global org-ca@${pkg.version}`);
  });

  test("the README's reason table lists exactly the reasons the code can emit", async () => {
    const { REASON_CODES } = await import('../../src/decision/reasons.js');
    const listed = [...section('reasons').matchAll(/^\| `([a-z-]+)` \| (?:yes|no) \|/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual([...REASON_CODES].sort());
  });

  test("the README's tool table lists exactly the registry's tool ids", async () => {
    const { TOOL_IDS } = await import('../../src/tools/registry.js');
    const listed = [...section('tools').matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]);
    expect(listed).toEqual([...TOOL_IDS]);
  });

  test('Troubleshooting quotes each real error text of the catalogue with its fix, and sends people to org-ca doctor', async () => {
    const { ERROR_CATALOGUE } = await import('../../src/detect/catalogue.js');
    const trouble = readme.slice(readme.indexOf('## Troubleshooting'), readme.indexOf('## Action reference'));
    expect(trouble).toContain('org-ca doctor https://');
    for (const e of ERROR_CATALOGUE) expect(trouble).toContain(`**\`${e.example}\`**`);
    expect(trouble.match(/\*Fix\*: `[A-Z_]+=/g)).toHaveLength(ERROR_CATALOGUE.length);
  });
});
