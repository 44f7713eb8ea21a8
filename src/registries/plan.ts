/**
 * Pure: which directories and files pull-side trust needs, given what already exists. Nothing that exists is ever
 * written to or planned for removal: the plan only ever adds.
 */
import { posix } from 'node:path';
import { CERT_FILE_NAME, type TrustLocation } from './locations.js';

export type PathKind = 'file' | 'dir' | 'other';

export interface PlannedFile {
  readonly path: string;
  readonly location: TrustLocation['id'];
  readonly registry: string;
}

export interface TrustPlan {
  /** Directories to create, parents first. */
  readonly mkdirs: readonly { readonly path: string; readonly location: TrustLocation['id'] }[];
  readonly files: readonly PlannedFile[];
  /** What was left alone, and why (for the log). */
  readonly skipped: readonly string[];
}

export function planTrust(locations: readonly TrustLocation[], registries: readonly string[], kindOf: (path: string) => PathKind | undefined): TrustPlan {
  const mkdirs: { path: string; location: TrustLocation['id'] }[] = [];
  const files: PlannedFile[] = [];
  const skipped: string[] = [];
  const planned = new Set<string>();
  const kind = (path: string): PathKind | undefined => (planned.has(path) ? 'dir' : kindOf(path));
  for (const location of locations) {
    for (const registry of registries) {
      const dir = posix.join(location.root, registry);
      const file = posix.join(dir, CERT_FILE_NAME);
      // The missing ancestors of dir, top-down; any that exists must be a directory (never follow into a file).
      const missing: string[] = [];
      let at = dir;
      let blocked: string | undefined;
      for (;;) {
        const k = kind(at);
        if (k === 'dir') break;
        if (k !== undefined) {
          blocked = at;
          break;
        }
        missing.unshift(at);
        const up = posix.dirname(at);
        if (up === at) break;
        at = up;
      }
      if (blocked) {
        skipped.push(`${file}: '${blocked}' exists and is not a directory`);
        continue;
      }
      if (kind(file) !== undefined) {
        skipped.push(`${file}: already exists, left as it is`);
        continue;
      }
      for (const path of missing) {
        planned.add(path);
        mkdirs.push({ path, location: location.id });
      }
      files.push({ path: file, location: location.id, registry });
    }
  }
  return { mkdirs, files, skipped };
}
