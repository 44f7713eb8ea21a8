import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Replaces `path` with `value` as JSON, atomically (written beside it, then renamed over it), readable by the owner
 * only: a crash leaves the old file or the new one, never half of one. The temporary name is random and created
 * exclusively, so a link planted beside the file is never written through. The journals of what org-ca changed use it.
 */
export function replaceJsonFile(path: string, value: unknown): void {
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}
