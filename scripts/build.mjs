// Bundles each entry with ncc into dist/<name>/index.js. dist/ is committed; CI rebuilds and diffs it.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
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
for (const [name, entry] of Object.entries(entries)) {
  if (only.length && !only.includes(name)) continue;
  const out = `dist/${name}`;
  rmSync(`${root}/${out}`, { recursive: true, force: true });
  execFileSync(
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
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
}
// ncc emits ESM for an ESM package; the runner loads dist/*/index.js directly, so it must know the type.
writeFileSync(`${root}/dist/package.json`, JSON.stringify({ type: 'module' }, null, 2) + '\n');
// The in-build helper ships as a plain file: the action copies it into the `org-ca` build context (issue 4).
mkdirSync(`${root}/dist/build-context`, { recursive: true });
cpSync(`${root}/src/in-build/with-org-ca.sh`, `${root}/dist/build-context/with-org-ca`);
chmodSync(`${root}/dist/build-context/with-org-ca`, 0o755);
