/**
 * The record of what pull-side trust created, in creation order, so the post step removes exactly that: paths and
 * content hashes only (a plain file on the runner; a CA is public, but nothing else is kept). It is a file rather
 * than step state so that a job cancelled before its post step is reverted too: by the runner's job-completed hook,
 * or by the next run's main step (as the trust-store journal, src/store/journal.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ensureDirectory } from '../fs/ensure-directory.js';
import { replaceJsonFile } from '../fs/replace-file.js';
import type { FileOps, Mode } from './privileges.js';
import { kindOf } from './privileges.js';

export type JournalEntry =
  | { readonly type: 'dir'; readonly path: string; readonly privileged: boolean }
  | { readonly type: 'file'; readonly path: string; readonly privileged: boolean; readonly sha256: string };

export interface Journal {
  readonly mode: Mode;
  readonly entries: readonly JournalEntry[];
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function parseJournal(text: string): Journal | undefined {
  if (!text) return undefined;
  const value = JSON.parse(text) as Journal;
  if (!value || !Array.isArray(value.entries)) throw new Error('the saved registry-trust journal is not valid');
  return value;
}

/**
 * ORG_CA_REGISTRY_JOURNAL when set; else root keeps it under /var/lib (it outlives RUNNER_TEMP, which the runner
 * empties per job), users under XDG state: where the trust-store journal lives.
 */
export function defaultRegistryJournalPath(env: Readonly<Record<string, string | undefined>> = process.env, uid = process.getuid?.() ?? -1): string {
  if (env.ORG_CA_REGISTRY_JOURNAL) return env.ORG_CA_REGISTRY_JOURNAL;
  if (uid === 0) return '/var/lib/org-ca/registry-journal.json';
  const state = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(state, 'org-ca', 'registry-journal.json');
}

/** Makes the journal's directory (0700) through the guarded helper: procfs, dangling links or a hung mount fail fast. */
export async function prepareJournalFile(path: string): Promise<void> {
  await ensureDirectory(dirname(path), { purpose: 'the registry-trust journal', mode: 0o700 });
}

/** The journal in `path`, or undefined when there is none. Throws with the path when it is not a journal. */
export function readJournalFile(path: string): Journal | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return parseJournal(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`'${path}' is not an org-ca registry-trust journal (${error instanceof Error ? error.message : String(error)}): inspect it, revert by hand, then delete it`, { cause: error });
  }
}

/** Replaces the journal atomically (write, then rename); an empty one removes the file. */
export function writeJournalFile(path: string, journal: Journal): void {
  if (journal.entries.length === 0) {
    rmSync(path, { force: true });
    return;
  }
  // Its directory was made by prepareJournalFile, through the guarded ensureDirectory.
  replaceJsonFile(path, journal);
}

/**
 * Reverts the journal in `path`, if any, and removes the file: what could not be removed is reported, and left to the
 * person the report goes to (the file would only make the next run report it again).
 */
export function revertJournalFile(path: string, opsFor: (mode: Mode, privileged: boolean) => FileOps | undefined): UndoResult | undefined {
  const journal = readJournalFile(path);
  if (!journal) return undefined;
  const result = undoJournal(journal, (privileged) => opsFor(journal.mode, privileged));
  rmSync(path, { force: true });
  return result;
}

export interface UndoResult {
  readonly removed: string[];
  /** One sentence per path left in place. */
  readonly left: string[];
}

/**
 * Undoes a journal backwards: a file is removed only while it still holds what was written, a directory only while
 * it is empty. Anything else is left and reported, never forced.
 */
export function undoJournal(journal: Journal, opsFor: (privileged: boolean) => FileOps | undefined): UndoResult {
  const removed: string[] = [];
  const left: string[] = [];
  for (const entry of [...journal.entries].reverse()) {
    const ops = opsFor(entry.privileged);
    const kind = kindOf(entry.path);
    if (kind === undefined) continue;
    if (!ops) {
      left.push(`${entry.path}: no rights to remove it any more`);
      continue;
    }
    try {
      if (entry.type === 'file') {
        if (kind !== 'file' || sha256File(entry.path) !== entry.sha256) {
          left.push(`${entry.path}: changed since org-ca wrote it, so it was left in place`);
          continue;
        }
        ops.unlink(entry.path);
      } else {
        if (kind !== 'dir') {
          left.push(`${entry.path}: no longer a directory, left in place`);
          continue;
        }
        ops.rmdir(entry.path);
      }
      removed.push(entry.path);
    } catch (error) {
      const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
      left.push(`${entry.path}: ${entry.type === 'dir' ? 'not empty or not removable' : 'could not be removed'} (${why})`);
    }
  }
  return { removed, left };
}
