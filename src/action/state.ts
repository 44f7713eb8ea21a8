import * as core from '@actions/core';

/**
 * The one owner of post-step state. Only paths are saved, never certificate content: state is stored by the runner
 * in plain files for the job's duration.
 */
const FILES_DIR = 'files-dir';
const BUILD_CONTEXT_DIR = 'build-context-dir';
const REGISTRY_JOURNAL = 'registry-journal';

/** The directory holding the CA, the bundle, the truststore and the wgetrc. */
export function saveFilesDir(dir: string): void {
  core.saveState(FILES_DIR, dir);
}

/** The directory holding the in-build helper (never the CA). */
export function saveBuildContextDir(dir: string): void {
  core.saveState(BUILD_CONTEXT_DIR, dir);
}

/** Everything the main step wrote, for the post step to remove. */
export function writtenDirs(): string[] {
  return [core.getState(FILES_DIR), core.getState(BUILD_CONTEXT_DIR)].filter(Boolean);
}

/** What registry trust created under certs.d directories (paths and hashes, JSON), saved after every step. */
export function saveRegistryJournal(json: string): void {
  core.saveState(REGISTRY_JOURNAL, json);
}

export function registryJournal(): string {
  return core.getState(REGISTRY_JOURNAL);
}
