/**
 * Pure: which directories and files pull-side trust needs, given what already exists. Nothing that exists is ever
 * written to, and nothing that exists is planned for removal except a directory another org-ca run made (listed in
 * its journal), which this run then also removes once it is empty: whichever run ends last takes it out.
 */
import { posix } from 'node:path';
import type { TrustLocation } from './locations.js';

export type PathKind = 'file' | 'dir' | 'other';

export interface PlannedFile {
  readonly path: string;
  readonly location: TrustLocation['id'];
  readonly registry: string;
}

export interface TrustPlan {
  /** Existing directories another org-ca run made, parents first: journaled, so the last run out removes them. */
  readonly adopt: readonly { readonly path: string; readonly location: TrustLocation['id'] }[];
  /** Directories to create, parents first. */
  readonly mkdirs: readonly { readonly path: string; readonly location: TrustLocation['id'] }[];
  readonly files: readonly PlannedFile[];
  /** What was left alone, and why (for the log). */
  readonly skipped: readonly string[];
}

export function planTrust(
  locations: readonly TrustLocation[],
  registries: readonly string[],
  kindOf: (path: string) => PathKind | undefined,
  certName: string,
  madeByOrgCa: ReadonlySet<string> = new Set(),
): TrustPlan {
  const adopt: { path: string; location: TrustLocation['id'] }[] = [];
  const adopted = new Set<string>();
  const mkdirs: { path: string; location: TrustLocation['id'] }[] = [];
  const files: PlannedFile[] = [];
  const skipped: string[] = [];
  const planned = new Set<string>();
  const kind = (path: string): PathKind | undefined => (planned.has(path) ? 'dir' : kindOf(path));
  for (const location of locations) {
    for (const registry of registries) {
      const dir = posix.join(location.root, registry);
      const file = posix.join(dir, certName);
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
      // The run of existing directories right above the missing ones that other org-ca runs made.
      const shared: string[] = [];
      for (
        let up = at;
        madeByOrgCa.has(up) && !planned.has(up) && !adopted.has(up) && !shared.includes(up);
        up = posix.dirname(up)
      )
        shared.unshift(up);
      for (const path of shared) {
        adopted.add(path);
        adopt.push({ path, location: location.id });
      }
      for (const path of missing) {
        planned.add(path);
        mkdirs.push({ path, location: location.id });
      }
      files.push({ path: file, location: location.id, registry });
    }
  }
  return { adopt, mkdirs, files, skipped };
}
