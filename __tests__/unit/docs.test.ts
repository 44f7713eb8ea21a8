import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('the generated sections of docs/ (action tables, tools, reasons, troubleshooting) match their sources', () => {
  const r = spawnSync(process.execPath, ['scripts/gen-docs.mjs', '--check'], { cwd: root, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});

test('leak-check/action.yml is a node24 sub-action on its own bundle', () => {
  const action = parse(readFileSync(`${root}/leak-check/action.yml`, 'utf8'));
  expect(action.runs).toEqual({ using: 'node24', main: '../dist/leak-check/index.js' });
  for (const id of [...Object.keys(action.inputs), ...Object.keys(action.outputs)])
    expect(id).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
  expect(readFileSync(`${root}/leak-check/action.yml`, 'utf8')).not.toMatch(/\$\{\{/);
});

test('action.yml declares node24 with a post step that always runs, and kebab-case ids', () => {
  const action = parse(readFileSync(`${root}/action.yml`, 'utf8'));
  expect(action.runs).toMatchObject({
    using: 'node24',
    main: 'dist/main/index.js',
    post: 'dist/post/index.js',
    'post-if': 'always()',
  });
  for (const id of [...Object.keys(action.inputs), ...Object.keys(action.outputs)])
    expect(id).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
  // descriptions are documentation, not templates: keep runner expressions out of them
  expect(readFileSync(`${root}/action.yml`, 'utf8')).not.toMatch(/\$\{\{/);
});

describe('README for someone in a hurry, docs/ for the rest', () => {
  const readme = readFileSync(`${root}/README.md`, 'utf8');
  const lines = readme.split('\n');
  const doc = (name: string): string => readFileSync(`${root}/docs/${name}`, 'utf8');
  const section = (text: string, name: string): string =>
    text.slice(text.indexOf(`<!-- generated:${name} -->`), text.indexOf(`<!-- /generated:${name} -->`));
  const headings = lines.filter((l) => /^## /.test(l)).map((l) => l.slice(3));

  test('at most 350 lines; the first screen holds the Quick start workflow, the CLI install and the two contributor commands', () => {
    expect(lines.length).toBeLessThanOrEqual(350);
    const firstScreen = lines.slice(0, 60).join('\n');
    expect(headings.slice(0, 3)).toEqual(['Quick start', 'Install the CLI', 'Develop']);
    expect(firstScreen).toMatch(/^ {6}- uses: org-ca\/org-ca@v\d+$/m);
    expect(firstScreen).toContain('bash scripts/setup.sh && npm run demo');
    expect(firstScreen).toMatch(/^npm test\b/m);
    // what the step may change outside the job, and how to turn it off, in the Quick start itself
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## Install the CLI'));
    expect(quickStart).toMatch(/Outside the job, the step may add the org CA to the builders' registry trust/);
    expect(quickStart).toContain('`registries: none` turns that off');
  });

  test('every link of the contents points at a heading', () => {
    const contents = readme.slice(readme.indexOf('## Contents'), readme.indexOf('## Why'));
    const anchors = new Set(
      lines
        .filter((l) => /^#{2,3} /.test(l))
        .map((l) =>
          l
            .replace(/^#+ /, '')
            .toLowerCase()
            .replace(/[^\w\s-]/g, '')
            .replace(/\s/g, '-'),
        ),
    );
    const links = [...contents.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(5);
    for (const anchor of links) expect({ anchor, found: anchors.has(anchor) }).toEqual({ anchor, found: true });
  });

  test("the Install section gives npx with the package's version and a global install", () => {
    const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
    const install = readme.slice(readme.indexOf('## Install the CLI'), readme.indexOf('## Develop'));
    expect(install).toContain(`npx org-ca@${pkg.version} `);
    expect(install).toContain(`npm install --global org-ca@${pkg.version}`);
  });

  test('user docs hold no issue numbers, session history, dated logs or "verified here" evidence', () => {
    const files = ['README.md', ...readdirSync(`${root}/docs`).map((n) => `docs/${n}`)];
    const found = files.flatMap((file) =>
      readFileSync(`${root}/${file}`, 'utf8')
        .split('\n')
        .map((line, i) => `${file}:${i + 1}: ${line}`)
        .filter((line) =>
          /\bissues? \d+|verified here|measured here|not run here|this session|\b20\d\d-\d\d-\d\d\b/i.test(line),
        ),
    );
    expect(found).toEqual([]);
  });

  test('the reason table lists exactly the reasons the code can emit', async () => {
    const { REASON_CODES } = await import('../../src/decision/reasons.js');
    const listed = [...section(doc('how-it-decides.md'), 'reasons').matchAll(/^\| `([a-z-]+)` \| (?:yes|no) \|/gm)].map(
      (m) => m[1],
    );
    expect(listed.sort()).toEqual([...REASON_CODES].sort());
  });

  test("the tool table lists exactly the registry's tool ids", async () => {
    const { TOOL_IDS } = await import('../../src/tools/registry.js');
    const listed = [...section(doc('tools.md'), 'tools').matchAll(/^\| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]);
    expect(listed).toEqual([...TOOL_IDS]);
  });

  test('Troubleshooting quotes each real error text of the catalogue with its fix, and sends people to org-ca doctor', async () => {
    const { ERROR_CATALOGUE } = await import('../../src/detect/catalogue.js');
    const trouble = doc('troubleshooting.md');
    expect(trouble).toContain('org-ca doctor https://');
    for (const e of ERROR_CATALOGUE) expect(trouble).toContain(`**\`${e.example}\`**`);
    expect(trouble.match(/\*Fix\*: `[A-Z_]+=/g)).toHaveLength(ERROR_CATALOGUE.length);
  });
});
