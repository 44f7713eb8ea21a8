import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('README input/output tables match the action.yml files', () => {
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
