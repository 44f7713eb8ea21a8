/**
 * The action's contract, kept in one place each: the outputs main.ts sets are action.yml's, the reason codes are the
 * typed list, and the CLI stays free of the runner's modules.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { OUTPUT_NAMES } from '../../../src/action/outputs.js';
import { REASON_CODES } from '../../../src/decision/reasons.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const action = parse(readFileSync(join(root, 'action.yml'), 'utf8')) as {
  outputs: Record<string, { description: string }>;
};

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sources(path) : path.endsWith('.ts') ? [path] : [];
  });
}

test('main.ts sets exactly the outputs action.yml declares', () => {
  expect([...OUTPUT_NAMES].sort()).toEqual(Object.keys(action.outputs).sort());
});

test("one owner of each action's outputs: src/action/outputs.ts for the main action, leak-check.ts for the sub-action", () => {
  const callers = sources(join(root, 'src'))
    .filter((file) => /\bcore\.setOutput\(/.test(readFileSync(file, 'utf8')))
    .map((file) => relative(root, file))
    .sort();
  expect(callers).toEqual(['src/action/leak-check.ts', 'src/action/outputs.ts']);
});

test("action.yml's reason description lists every reason code, and only those", () => {
  const listed = [...action.outputs.reason!.description.matchAll(/`([a-z-]+)`/g)].map((m) => m[1]);
  expect([...new Set(listed)].sort()).toEqual([...REASON_CODES].sort());
});

test('the CLI imports no module of src/action/ and not @actions/core, however indirectly', () => {
  const seen = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)) {
      if (spec!.startsWith('.')) visit(resolve(dirname(file), spec!.replace(/\.js$/, '.ts')));
      else packages.add(spec!);
    }
  };
  visit(join(root, 'src/cli/index.ts'));
  const reached = [...seen].map((f) => relative(root, f));
  expect(reached.length).toBeGreaterThan(20);
  expect(reached.filter((f) => f.startsWith('src/action/'))).toEqual([]);
  expect([...packages].filter((p) => p.startsWith('@actions/core'))).toEqual([]);
});
