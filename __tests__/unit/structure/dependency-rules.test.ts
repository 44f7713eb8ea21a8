/**
 * The import direction of src/ (.dependency-cruiser.cjs) holds for the code, and the rules really bite: a scratch
 * tree with src/'s folder names and one wrong-way import, a circle, or an unknown folder fails with the rule's name.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const depcruise = join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruiser.mjs');
const cruise = (cwd: string) =>
  spawnSync(
    process.execPath,
    [depcruise, 'src', '--config', join(root, '.dependency-cruiser.cjs'), '--output-type', 'err'],
    { cwd, encoding: 'utf8', timeout: 120_000 },
  );

test('src/ follows the levels: no wrong-way import, no circle', () => {
  const r = cruise(root);
  expect(`${r.status} ${r.stdout}${r.stderr}`).toMatch(/^0 .*no dependency violations found/s);
});

describe('the rules catch', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'org-ca-deps-'));
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', allowJs: false } }),
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const write = (files: Record<string, string>): void => {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
  };

  test.each([
    [
      'a foundation folder importing a shell',
      {
        'src/fs/a.ts': "import { b } from '../cli/b.js';\nexport const a = b;\n",
        'src/cli/b.ts': 'export const b = 1;\n',
      },
      /error level-fs: src\/fs\/a\.ts → src\/cli\/b\.ts/,
    ],
    [
      'the lint importing the leak check (peers)',
      {
        'src/lint/a.ts': "import { b } from '../leak/b.js';\nexport const a = b;\n",
        'src/leak/b.ts': 'export const b = 1;\n',
      },
      /error peers-lint: src\/lint\/a\.ts → src\/leak\/b\.ts/,
    ],
    [
      'a circle inside one folder',
      {
        'src/tools/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
        'src/tools/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      },
      /error no-circular: src\/tools\/a\.ts/,
    ],
    [
      'a folder with no level, importing',
      {
        'src/misc/a.ts': "import { b } from '../fs/b.js';\nexport const a = b;\n",
        'src/fs/b.ts': 'export const b = 1;\n',
      },
      /error no-unknown-folder: src\/misc\/a\.ts → src\/fs\/b\.ts/,
    ],
    [
      'a folder with no level, imported',
      {
        'src/cli/a.ts': "import { b } from '../misc/b.js';\nexport const a = b;\n",
        'src/misc/b.ts': 'export const b = 1;\n',
      },
      /error no-unknown-folder: src\/cli\/a\.ts → src\/misc\/b\.ts/,
    ],
  ])('%s', (_name, files, message) => {
    write(files);
    const r = cruise(dir);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(message);
  });
});
