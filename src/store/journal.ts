import { existsSync, readFileSync, rmSync } from 'node:fs';
import { prepareStateFile, replaceJsonFile, stateFilePath } from '../fs/state-file.js';

/**
 * The journal is written BEFORE each change to a trust store and names exactly what that change adds, so that
 * whoever comes next (the post step, the job-completed hook, the next `org-ca store add|remove`) can take out
 * exactly that, even after a crash or a cancelled job, and never anything IT installed.
 */
export type JournalEntry =
  | {
      readonly kind: 'os';
      readonly store: string;
      /** The anchor file org-ca created (never one that existed before). */
      readonly file: string;
      /** SHA-256 of the bytes written: a file that no longer has them was replaced by someone else and is left alone. */
      readonly sha256: string;
      readonly updateAfterRemove: readonly string[];
      /** Set when org-ca created the anchor directory itself (removed again when empty). */
      readonly createdDir?: string;
    }
  | {
      readonly kind: 'nss';
      /** The NSS database directory (used as `sql:<db>`). */
      readonly db: string;
      readonly nickname: string;
      /** Set when org-ca created the database files themselves: they are removed again. */
      readonly createdDb: boolean;
      /** Directories org-ca created for a database that did not exist: removed again, deepest first. */
      readonly createdDirs: readonly string[];
    };

export interface Journal {
  readonly version: 1;
  readonly entries: readonly JournalEntry[];
}

/** ORG_CA_STORE_JOURNAL when set; else under /var/lib/org-ca (root) or XDG state (src/fs/state-file.ts). */
export function defaultJournalPath(env: NodeJS.ProcessEnv = process.env, uid = process.getuid?.() ?? -1): string {
  return stateFilePath('store-journal.json', 'ORG_CA_STORE_JOURNAL', env, uid);
}

export class JournalError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JournalError';
  }
}

function isEntry(value: unknown): value is JournalEntry {
  if (!value || typeof value !== 'object') return false;
  const e = value as Record<string, unknown>;
  if (e.kind === 'os') return typeof e.file === 'string' && typeof e.sha256 === 'string' && Array.isArray(e.updateAfterRemove) && e.updateAfterRemove.every((a) => typeof a === 'string');
  if (e.kind === 'nss') return typeof e.db === 'string' && typeof e.nickname === 'string' && typeof e.createdDb === 'boolean' && Array.isArray(e.createdDirs) && e.createdDirs.every((d) => typeof d === 'string');
  return false;
}

/** The journal at `path`, or an empty one. A journal that cannot be understood is an error, never ignored. */
export function readJournal(path: string): Journal {
  if (!existsSync(path)) return { version: 1, entries: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new JournalError(`the trust-store journal '${path}' is not valid JSON (${error instanceof Error ? error.message : String(error)}): inspect it, revert by hand, then delete it.`);
  }
  const entries = (doc as { entries?: unknown }).entries;
  if ((doc as { version?: unknown }).version !== 1 || !Array.isArray(entries) || !entries.every(isEntry)) {
    throw new JournalError(`the trust-store journal '${path}' is not an org-ca journal (version 1 with an entries list): inspect it, revert by hand, then delete it.`);
  }
  return { version: 1, entries };
}

/** Replaces the journal atomically (write, then rename), so a crash leaves the old or the new one, never half. */
export function writeJournal(path: string, journal: Journal): void {
  if (journal.entries.length === 0) {
    rmSync(path, { force: true });
    return;
  }
  // The directory is made beforehand through the guarded ensureDirectory (prepareJournal): a path from the
  // environment never reaches a recursive mkdir.
  replaceJsonFile(path, journal);
}

/** Makes the journal's directory (0700), guarded (src/fs/state-file.ts). */
export async function prepareJournal(path: string): Promise<void> {
  await prepareStateFile(path, 'the trust-store journal');
}
