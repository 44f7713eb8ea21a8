import { renameSync, writeFileSync } from 'node:fs';

/**
 * Replaces `path` with `value` as JSON, atomically (written beside it, then renamed over it), readable by the owner
 * only: a crash leaves the old file or the new one, never half of one. The journals of what org-ca changed use it.
 */
export function replaceJsonFile(path: string, value: unknown): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, path);
}
