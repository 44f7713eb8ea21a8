import { chmodSync, copyFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDirectory } from '../fs/ensure-directory.js';
import { HELPER_NAME } from './outputs.js';

/**
 * Where the shipped helper is: `dist/build-context/with-org-ca` next to the bundle that runs (dist/main/index.js),
 * or `src/in-build/with-org-ca.sh` when running from source (tests).
 */
export function helperSource(moduleUrl: string = import.meta.url): string {
  const here = dirname(fileURLToPath(moduleUrl));
  const candidates = [
    join(here, '..', 'build-context', HELPER_NAME),
    join(here, '..', 'in-build', `${HELPER_NAME}.sh`),
    join(here, `${HELPER_NAME}.sh`),
  ];
  const found = candidates.find((path) => existsSync(path));
  if (!found)
    throw new Error(
      `the in-build helper is missing: looked for ${candidates.map((c) => `'${c}'`).join(', ')}; expected it shipped in dist/build-context/`,
    );
  return found;
}

/**
 * Writes the build context: a directory under the runner's temp holding the helper alone, never the CA, so that it
 * can be passed to every build whether or not the CA was injected. The runner empties RUNNER_TEMP after each job.
 */
export async function prepareBuildContext(temp: string, source: string = helperSource()): Promise<string> {
  const dir = await ensureDirectory(join(temp, 'org-ca-build-context'), { purpose: 'RUNNER_TEMP' });
  const target = join(dir, HELPER_NAME);
  copyFileSync(source, target);
  chmodSync(target, 0o755);
  return dir;
}
