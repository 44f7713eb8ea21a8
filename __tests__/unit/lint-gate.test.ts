import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

test('the lint gate: `npm run lint` lints the whole tree with no warning allowed, and CI runs it before the tests', () => {
  const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
  // `.`, not an unquoted glob: sh has no globstar, so `src/**/*.ts` would lint one directory level only
  expect(pkg.scripts.lint).toBe('eslint --max-warnings=0 .');
  expect(Object.keys(pkg.devDependencies)).toEqual(
    expect.arrayContaining(['eslint', 'typescript-eslint', '@eslint/js']),
  );
  const ci = readFileSync(`${root}/.ci/run`, 'utf8');
  const lint = ci.indexOf('npm run --silent lint');
  expect(lint).toBeGreaterThan(0);
  expect(lint).toBeLessThan(ci.lastIndexOf('npm test'));
  const config = readFileSync(`${root}/eslint.config.js`, 'utf8');
  expect(config).toMatch(/recommendedTypeChecked/);
});
