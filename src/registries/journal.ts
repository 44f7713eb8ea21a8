/**
 * The record of what pull-side trust created, in creation order, so the post step removes exactly that: paths and
 * content hashes only (the state file is plain text on the runner; a CA is public, but nothing else is kept).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
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
