import { join, posix, relative, isAbsolute } from 'node:path';
import { readJournalText, writeJournalJson } from '../fs/journal-file.js';
import { prepareStateFile, stateFilePath } from '../fs/state-file.js';
import { LINUX_STORES, type LinuxStore } from './platforms.js';

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
      /**
       * Written by versions before 0.2 and ignored since: the rebuild command comes from LINUX_STORES by `store`, never
       * from a file that someone could have edited.
       */
      readonly updateAfterRemove?: readonly string[];
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
  override readonly name = 'JournalError';
}

const FINGERPRINT_PART = '[0-9a-f]{16}';

/** The store an `os` entry names, when it is one org-ca knows. */
export function storeOf(entry: Extract<JournalEntry, { kind: 'os' }>): LinuxStore | undefined {
  return LINUX_STORES.find((s) => s.id === entry.store);
}

function inside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** The NSS databases org-ca may create or change for a user (src/store/store.ts nssDatabases): their home's only. */
function isUserNssDb(db: string, home: string): boolean {
  if (db === join(home, '.pki', 'nssdb') || db === join(home, '.local', 'share', 'pki', 'nssdb')) return true;
  return [join(home, '.mozilla', 'firefox'), join(home, 'snap', 'firefox', 'common', '.mozilla', 'firefox')].some(
    (base) => posix.dirname(db) === base && !posix.basename(db).startsWith('.'),
  );
}

/**
 * Whether an entry is one org-ca could have written: an anchor file named org-ca-<fingerprint> in the anchor directory
 * of a store it knows (and only that directory as one it created), or an NSS database of the user's own with org-ca's
 * nickname. Anything else (a path elsewhere, a command) is what an attacker would write.
 */
export function isEntry(value: unknown, home: string): value is JournalEntry {
  if (!value || typeof value !== 'object') return false;
  const e = value as Record<string, unknown>;
  if (e.kind === 'os') {
    const store = LINUX_STORES.find((s) => s.id === e.store);
    if (!store || typeof e.file !== 'string' || typeof e.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.sha256))
      return false;
    const name = new RegExp(`^org-ca-${FINGERPRINT_PART}\\${store.extension}$`);
    if (posix.dirname(e.file) !== store.anchorDir || !name.test(posix.basename(e.file))) return false;
    if (e.createdDir !== undefined && e.createdDir !== store.anchorDir) return false;
    return (
      e.updateAfterRemove === undefined ||
      (Array.isArray(e.updateAfterRemove) && e.updateAfterRemove.every((a) => typeof a === 'string'))
    );
  }
  if (e.kind === 'nss') {
    if (
      typeof e.db !== 'string' ||
      typeof e.nickname !== 'string' ||
      typeof e.createdDb !== 'boolean' ||
      !Array.isArray(e.createdDirs)
    )
      return false;
    if (!isUserNssDb(e.db, home) || !new RegExp(`^org-ca ${FINGERPRINT_PART}$`).test(e.nickname)) return false;
    return e.createdDirs.every(
      (d) => typeof d === 'string' && inside(home, d) && (d === e.db || inside(d, e.db as string)),
    );
  }
  return false;
}

/**
 * The journal at `path`, or an empty one. A journal that cannot be understood, holds an entry org-ca could not have
 * written, or could have been written by someone else (src/fs/journal-file.ts) is an error, never acted on.
 */
export function readJournal(path: string, home: string): Journal {
  const text = readJournalText(path, 'the trust-store journal');
  if (text === undefined) return { version: 1, entries: [] };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new JournalError(
      `the trust-store journal '${path}' is not valid JSON (${error instanceof Error ? error.message : String(error)}): inspect it, revert by hand, then delete it.`,
    );
  }
  const entries = (doc as { entries?: unknown }).entries;
  if ((doc as { version?: unknown }).version !== 1 || !Array.isArray(entries)) {
    throw new JournalError(
      `the trust-store journal '${path}' is not an org-ca journal (version 1 with an entries list): inspect it, revert by hand, then delete it.`,
    );
  }
  const foreign = entries.findIndex((entry) => !isEntry(entry, home));
  if (foreign !== -1) {
    throw new JournalError(
      `the trust-store journal '${path}' holds an entry org-ca could not have written (entry ${foreign + 1}: only org-ca-<fingerprint> anchors in a known store's directory and NSS databases in ${home}): nothing was reverted; inspect it, revert by hand, then delete it.`,
    );
  }
  return { version: 1, entries: entries as JournalEntry[] };
}

/** Replaces the journal atomically (write, then rename), so a crash leaves the old or the new one, never half. */
export function writeJournal(path: string, journal: Journal): void {
  // The directory is made beforehand through the guarded ensureDirectory (prepareJournal): a path from the
  // environment never reaches a recursive mkdir.
  writeJournalJson(path, journal.entries.length === 0 ? undefined : journal, 'the trust-store journal');
}

/** Makes the journal's directory (0700), guarded (src/fs/state-file.ts). */
export async function prepareJournal(path: string): Promise<void> {
  await prepareStateFile(path, 'the trust-store journal');
}
