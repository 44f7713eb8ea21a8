import { rmSync } from 'node:fs';
import { writtenDirs } from './state.js';
import { revertSystemStores } from './system-store.js';
import { undoRegistryTrust } from './registry-trust.js';
import { log } from './log.js';

/** Removes what the main step wrote. Never fails the job: a file already gone is fine, anything else is a warning. */
export async function post(): Promise<void> {
  // First the copies under certs.d and the trust stores, while the files they were copied from still exist.
  await undoRegistryTrust();
  await revertSystemStores();
  const dirs = writtenDirs();
  if (dirs.length === 0) {
    log.info('org-ca wrote no files in this job: nothing to clean up.');
    return;
  }
  for (const dir of dirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
      log.info(`Removed ${dir}.`);
    } catch (error) {
      log.warning(
        `Could not remove ${dir}: ${error instanceof Error ? error.message : String(error)}. Delete it by hand: it may hold the org CA.`,
      );
    }
  }
}
