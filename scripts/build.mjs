// Bundles each entry with ncc into dist/<name>/index.js. dist/ is committed; CI rebuilds and diffs it.
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const entries = {
  main: 'src/action/index.ts',
  post: 'src/action/post-index.ts',
  cli: 'src/cli/index.ts',
  'leak-check': 'src/action/leak-check-index.ts',
  // The leak check's layer workers (src/leak/scanning/pool.ts), shared by the CLI and the leak-check action.
  'leak-worker': 'src/leak/worker-index.ts',
};
const only = process.argv.slice(2);
const chosen = Object.entries(entries).filter(([name]) => !only.length || only.includes(name));

/** One entry bundled by ncc into dist/<name>; each build is its own process and writes only its own directory. */
function bundle([name, entry]) {
  const out = `dist/${name}`;
  rmSync(`${root}/${out}`, { recursive: true, force: true });
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        `${root}/node_modules/@vercel/ncc/dist/ncc/cli.js`,
        'build',
        entry,
        '-o',
        out,
        '--no-source-map-register',
        '--quiet',
        '--license',
        'licenses.txt',
      ],
      { cwd: root, stdio: 'inherit' },
    );
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ncc build of ${entry} exited ${code}`))));
  });
}

// The bundles are independent: as many at once as there are cores (the build was five ncc runs one after another).
const queue = [...chosen];
await Promise.all(
  Array.from({ length: Math.min(availableParallelism(), queue.length) }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) await bundle(next);
  }),
);
// ncc emits ESM for an ESM package; the runner loads dist/*/index.js directly, so it must know the type.
writeFileSync(`${root}/dist/package.json`, JSON.stringify({ type: 'module' }, null, 2) + '\n');
// The in-build helper ships as a plain file: the action copies it into the `org-ca` build context (issue 4).
mkdirSync(`${root}/dist/build-context`, { recursive: true });
cpSync(`${root}/src/in-build/with-org-ca.sh`, `${root}/dist/build-context/with-org-ca`);
chmodSync(`${root}/dist/build-context/with-org-ca`, 0o755);
