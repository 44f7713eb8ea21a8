/**
 * The record of what pull-side trust created, in creation order, so the post step removes exactly that: paths and
 * content hashes only (a plain file on the runner; a CA is public, but nothing else is kept). It is a file rather
 * than step state so that a job cancelled before its post step is reverted too: by the runner's job-completed hook,
 * or by the next run's main step (as the trust-store journal, src/store/store-journal.ts).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isJobOwner, mayRevert, type Claimant, type JobOwner } from '../fs/job-owner.js';
import { readJournalText, writeJournalJson } from '../fs/journal-file.js';
import { prepareStateFile, stateDirectory, stateFilePath } from '../fs/state-file.js';
import type { FileOps, Mode } from './privileges.js';
import { kindOf } from './privileges.js';
import { isOrgCaCertName, RUN_ID } from './locations.js';
import { present } from '../lang/present.js';

export type JournalEntry =
  | { readonly type: 'dir'; readonly path: string; readonly privileged: boolean }
  | { readonly type: 'file'; readonly path: string; readonly privileged: boolean; readonly sha256: string };

export interface Journal {
  readonly mode: Mode;
  /** The job that wrote it: another job's journal is left alone while that job runs (src/fs/job-owner.ts). */
  readonly owner?: JobOwner;
  readonly entries: readonly JournalEntry[];
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** A registry directory's name: HOST or HOST:PORT (a bracketed IPv6 address too), never a path. */
const HOST_DIR = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;
/** The directories a privileged entry may name by their last component: a certs.d root and the parents org-ca makes for it. */
const ROOT_DIR_NAMES = new Set(['certs.d', 'docker', 'containers', 'etc']);

/**
 * A path org-ca writes: absolute and without '..'; a file is always the CA file of a certs.d/HOST directory. A
 * privileged entry is replayed with root's rights, so it may only name what org-ca itself creates: a certs.d root
 * (/etc/docker/certs.d, /etc/containers/certs.d) or a parent it made for one, a HOST directory below a certs.d, and
 * org-ca's CA file in such a directory; a directory is only ever rmdir'ed, which removes nothing but an empty one.
 * That the journal itself was written by root or the user alone is checked before (src/fs/journal-file.ts). An
 * unprivileged entry is undone with the user's own rights, as the user could anyway.
 */
function isOurPath(path: unknown, type: 'dir' | 'file', privileged: boolean): boolean {
  if (typeof path !== 'string' || !path.startsWith('/')) return false;
  const parts = path.split('/');
  if (parts.includes('..') || parts.includes('.') || parts.slice(1).includes('')) return false;
  if (type === 'file')
    return (
      parts.length >= 4 && parts.at(-3) === 'certs.d' && HOST_DIR.test(parts.at(-2)!) && isOrgCaCertName(parts.at(-1)!)
    );
  if (parts.length < 3) return false;
  if (!privileged) return true;
  return ROOT_DIR_NAMES.has(parts.at(-1)!) || (parts.at(-2) === 'certs.d' && HOST_DIR.test(parts.at(-1)!));
}

function isEntry(value: unknown): value is JournalEntry {
  if (!value || typeof value !== 'object') return false;
  const e = value as Record<string, unknown>;
  if (typeof e.privileged !== 'boolean') return false;
  if (e.type === 'dir') return isOurPath(e.path, 'dir', e.privileged);
  return (
    e.type === 'file' &&
    isOurPath(e.path, 'file', e.privileged) &&
    typeof e.sha256 === 'string' &&
    /^[0-9a-f]{64}$/.test(e.sha256)
  );
}

export function parseJournal(text: string): Journal | undefined {
  if (!text) return undefined;
  const value = JSON.parse(text) as Partial<Journal> | null;
  if (
    !value ||
    typeof value !== 'object' ||
    !['root', 'sudo', 'user'].includes(value.mode as string) ||
    ('owner' in value && !isJobOwner(value.owner)) ||
    !Array.isArray(value.entries) ||
    !value.entries.every(isEntry)
  ) {
    throw new Error(
      'not a registry-trust journal (a mode, an owner, and entries of certs.d directories and their org-ca CA files)',
    );
  }
  return { mode: value.mode!, ...present({ owner: value.owner }), entries: value.entries };
}

/** A journal's file name: one per run, and the single file earlier versions wrote. */
const JOURNAL_NAME = new RegExp(`^registry-journal(-${RUN_ID})?\\.json$`);

/**
 * This run's journal: ORG_CA_REGISTRY_JOURNAL when set (one file, for one runner); else its own file in org-ca's state
 * directory beside the trust-store journal (src/fs/state-file.ts), so that jobs running at once never share one.
 */
export function registryJournalPath(
  runId: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  uid = process.getuid?.() ?? -1,
): string {
  return stateFilePath(`registry-journal-${runId}.json`, 'ORG_CA_REGISTRY_JOURNAL', env, uid);
}

/** The directory whose journals one lock guards: ORG_CA_REGISTRY_JOURNAL's, or the state directory. */
function registryJournalDir(env: Readonly<Record<string, string | undefined>>, uid: number): string {
  return env.ORG_CA_REGISTRY_JOURNAL ? dirname(env.ORG_CA_REGISTRY_JOURNAL) : stateDirectory(env, uid);
}

/** The journals on this host that may be leftovers: the ORG_CA_REGISTRY_JOURNAL file, or every journal in the state directory. */
export function registryJournalFiles(
  env: Readonly<Record<string, string | undefined>> = process.env,
  uid = process.getuid?.() ?? -1,
): string[] {
  const chosen = env.ORG_CA_REGISTRY_JOURNAL;
  if (chosen) return existsSync(chosen) ? [chosen] : [];
  return journalsIn(registryJournalDir(env, uid));
}

/** Every journal in `dir`, by name. */
export function journalsIn(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((name) => JOURNAL_NAME.test(name))
    .sort()
    .map((name) => join(dir, name));
}

/**
 * The lock a step holds while it reads the journals beside it and changes what they record (src/fs/host-lock.ts): one
 * per directory of journals. `journalPath`: that journal's directory; else the one for this environment.
 */
export function registryLockPath(
  journalPath: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
  uid = process.getuid?.() ?? -1,
): string {
  return join(journalPath ? dirname(journalPath) : registryJournalDir(env, uid), 'registry-trust.lock');
}

/** The CA files the journals in `paths` other than `except` list: another run's, which that run (or its hook) removes. */
export function filesListedElsewhere(paths: readonly string[], except: string): Set<string> {
  const files = new Set<string>();
  for (const path of paths) {
    if (path === except) continue;
    try {
      for (const entry of readJournalFile(path)?.entries ?? []) if (entry.type === 'file') files.add(entry.path);
    } catch {
      // not a journal: reported where it is reverted
    }
  }
  return files;
}

/** Makes the journal's directory (0700), guarded (src/fs/state-file.ts). */
export async function prepareJournalFile(path: string): Promise<void> {
  await prepareStateFile(path, 'the registry-trust journal');
}

/** The journal in `path`, or undefined when there is none. Throws with the path when it is not a journal, or not one to believe. */
export function readJournalFile(path: string): Journal | undefined {
  const text = readJournalText(path, 'the registry-trust journal');
  if (text === undefined) return undefined;
  try {
    return parseJournal(text);
  } catch (error) {
    throw new Error(
      `'${path}' is not an org-ca registry-trust journal (${error instanceof Error ? error.message : String(error)}): inspect it, revert by hand, then delete it`,
      { cause: error },
    );
  }
}

/** Replaces the journal atomically (write, then rename); an empty one removes the file. */
export function writeJournalFile(path: string, journal: Journal): void {
  // Its directory was made by prepareJournalFile, through the guarded ensureDirectory.
  writeJournalJson(path, journal.entries.length === 0 ? undefined : journal, 'the registry-trust journal');
}

/**
 * Reverts the journal in `path`, if any. The file then keeps only what may still be removed later (no rights now,
 * a removal that failed), for the next hook or run; what changed since or was filled by someone else is reported and
 * dropped: it is no longer org-ca's.
 */
export function revertJournalFile(
  path: string,
  opsFor: (mode: Mode, privileged: boolean) => FileOps | undefined,
  othersFiles: ReadonlySet<string> = new Set(),
): UndoResult | undefined {
  const journal = readJournalFile(path);
  return journal ? revertJournal(path, journal, opsFor, othersFiles) : undefined;
}

function revertJournal(
  path: string,
  journal: Journal,
  opsFor: (mode: Mode, privileged: boolean) => FileOps | undefined,
  othersFiles: ReadonlySet<string>,
): UndoResult {
  const result = undoJournal(journal, (privileged) => opsFor(journal.mode, privileged), othersFiles);
  writeJournalFile(path, { ...journal, entries: result.retry });
  return result;
}

/** What became of one journal that may have been left behind. */
export type LeftoverOutcome =
  | { readonly path: string; readonly reverted: UndoResult }
  /** Its job still runs (another runner on this host, or an earlier step of this job): left for that job. */
  | { readonly path: string; readonly running: JobOwner; readonly journal: Journal }
  | { readonly path: string; readonly error: string };

/**
 * Reverts the journals in `paths` whose job has ended (or, for the job-completed hook, is the one completing). One
 * journal that cannot be read does not stop the others. Call it holding the lock (registryLockPath).
 */
export function revertLeftoverJournals(
  paths: readonly string[],
  claimant: Claimant,
  facts: Parameters<typeof mayRevert>[2],
  opsFor: (mode: Mode, privileged: boolean) => FileOps | undefined,
): LeftoverOutcome[] {
  const outcomes: LeftoverOutcome[] = [];
  for (const path of paths) {
    try {
      const journal = readJournalFile(path);
      if (!journal) continue;
      if (journal.owner && !mayRevert(journal.owner, claimant, facts))
        outcomes.push({ path, running: journal.owner, journal });
      else outcomes.push({ path, reverted: revertJournal(path, journal, opsFor, filesListedElsewhere(paths, path)) });
    } catch (error) {
      outcomes.push({ path, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return outcomes;
}

/**
 * What an undo did, in the words every caller logs: the removals and the directories left to other runs (if any), and
 * one line per path left in place.
 */
export function undoReport(result: UndoResult): { removed?: string; shared?: string; left: string[] } {
  return {
    ...present({
      removed: result.removed.length ? `registry trust removed: ${result.removed.join(', ')}.` : undefined,
      shared: result.shared.length
        ? `registry trust: ${result.shared.join(', ')} still hold${result.shared.length === 1 ? 's' : ''} the CA file of another org-ca run on this host, which removes its own file.`
        : undefined,
    }),
    left: result.left.map((left) => `registry trust: ${left}. Remove it by hand if it holds the org CA.`),
  };
}

export interface UndoResult {
  readonly removed: string[];
  /** Directories org-ca made that hold only CA files other runs' journals list: those runs remove them. */
  readonly shared: string[];
  /** One sentence per path left in place. */
  readonly left: string[];
  /** Entries that may still be removed later (no rights now, or removing failed); the others left are no longer ours. */
  readonly retry: JournalEntry[];
}

/**
 * Undoes a journal backwards: a file is removed only while it still holds what was written, a directory only while
 * it is empty. Anything else is left and reported, never forced.
 */
export function undoJournal(
  journal: Journal,
  opsFor: (privileged: boolean) => FileOps | undefined,
  othersFiles: ReadonlySet<string> = new Set(),
  /** Files to remove whatever they hold: the rollback of a run, for its own file names. */
  anyContent: (path: string) => boolean = () => false,
): UndoResult {
  const removed: string[] = [];
  const shared: string[] = [];
  const left: string[] = [];
  const retry: JournalEntry[] = [];
  for (const entry of [...journal.entries].reverse()) {
    const ops = opsFor(entry.privileged);
    const kind = kindOf(entry.path);
    if (kind === undefined) continue;
    if (!ops) {
      left.push(`${entry.path}: no rights to remove it any more`);
      retry.unshift(entry);
      continue;
    }
    try {
      if (entry.type === 'file') {
        if (kind !== 'file' || (!anyContent(entry.path) && sha256File(entry.path) !== entry.sha256)) {
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
      if (entry.type === 'dir' && holdsOnlyFilesOf(entry.path, othersFiles)) {
        shared.push(entry.path);
        continue;
      }
      const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
      left.push(
        `${entry.path}: ${entry.type === 'dir' ? 'not empty or not removable' : 'could not be removed'} (${why})`,
      );
      // A directory someone else filled is theirs now; a file that could not be removed is still ours to retry.
      if (entry.type === 'file') retry.unshift(entry);
    }
  }
  return { removed, shared, left, retry };
}

/**
 * Whether `dir` holds nothing but CA files other org-ca runs' journals list, directly or in directories that do: then
 * it is theirs to remove (they made it, or share it). Anything else in it (an orphaned or older org-ca file, someone's
 * own) and it is reported as left.
 */
function holdsOnlyFilesOf(dir: string, othersFiles: ReadonlySet<string>): boolean {
  try {
    const entries = readdirSync(dir, { withFileTypes: true });
    return (
      entries.length > 0 &&
      entries.every(
        (e) =>
          (e.isFile() && othersFiles.has(join(dir, e.name))) ||
          (e.isDirectory() && holdsOnlyFilesOf(join(dir, e.name), othersFiles)),
      )
    );
  } catch {
    return false;
  }
}
