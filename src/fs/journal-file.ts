/**
 * The one way org-ca reads and writes its journals (the trust-store journal and the registry-trust journals): the
 * record of what it changed on a machine, replayed later, often as root, to take exactly that out again. A journal is
 * data, never a program, and it is only believed when nobody but its writer could have written it:
 * - JOURNAL_OWNER: read only when it is a regular file (no link) owned by the reading user or root, writable by no one
 *   else, under directories that pass the trusted-path rule (src/fs/trusted-path.ts); anything else is refused whole,
 *   with nothing reverted;
 * - written atomically (a new file, created exclusively, mode 0600, renamed over the old), into such a directory;
 * - each kind validates every entry against what org-ca itself could have written (src/store/store-journal.ts,
 *   src/registry-trust/trust-journal.ts), and the commands a revert runs come from the code's tables, never from the journal.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { readTrustedFile, removeFile } from './privileged-file.js';
import { replaceJsonFile } from './state-file.js';
import { assertTrustedPath, UntrustedPathError } from './trusted-path.js';

export class JournalFileError extends Error {
  override readonly name = 'JournalFileError';
}

/** The journal's text, or undefined when there is none; refused (JournalFileError) when someone else could have written it. */
export function readJournalText(path: string, purpose: string): string | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return readTrustedFile(path, { purpose }).toString('utf8');
  } catch (error) {
    if (error instanceof UntrustedPathError)
      throw new JournalFileError(
        `${error.message} Nothing in it was acted on: a journal is replayed with org-ca's rights, so only one nobody else could write is believed.`,
      );
    throw error;
  }
}

/** Replaces the journal with `value` (JSON, 0600), or removes it when `value` is undefined. */
export function writeJournalJson(path: string, value: unknown, purpose: string): void {
  try {
    if (value === undefined) {
      removeFile(path, { purpose });
      return;
    }
    assertTrustedPath(dirname(path), { purpose, mustExist: true });
  } catch (error) {
    if (error instanceof UntrustedPathError) throw new JournalFileError(error.message);
    throw error;
  }
  replaceJsonFile(path, value);
}
