import * as core from '@actions/core';

/**
 * The one owner of post-step state. Only paths are saved, never certificate content: state is stored by the runner
 * in plain files for the job's duration.
 */
const FILES_DIR = 'files-dir';
const BUILD_CONTEXT_DIR = 'build-context-dir';
const STORE_JOURNAL = 'store-journal';
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

/** The trust-store journal, saved before the first store change so the post step reverts even a half-done add. */
export function saveStoreJournal(path: string): void {
  core.saveState(STORE_JOURNAL, path);
}

export function storeJournal(): string | undefined {
  return core.getState(STORE_JOURNAL) || undefined;
}

/** Where registry trust journals what it creates under certs.d directories (src/registry-trust/trust-journal.ts). */
export function saveRegistryJournal(path: string): void {
  core.saveState(REGISTRY_JOURNAL, path);
}

export function registryJournal(): string | undefined {
  return core.getState(REGISTRY_JOURNAL) || undefined;
}
