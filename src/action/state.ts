import * as core from '@actions/core';

/**
 * The one owner of post-step state. Only paths are saved, never certificate content: state is stored by the runner
 * in plain files for the job's duration.
 */
const FILES_DIR = 'files-dir';

export function saveFilesDir(dir: string): void {
  core.saveState(FILES_DIR, dir);
}

export function filesDir(): string {
  return core.getState(FILES_DIR);
}
