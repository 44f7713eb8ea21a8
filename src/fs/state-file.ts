/**
 * The files in which org-ca records what it changed on a machine (the trust-store and registry-trust journals): where
 * they live, their directory, and how they are replaced.
 */
import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ensureDirectory } from './ensure-directory.js';

/**
 * Where org-ca keeps its journals: root under /var/lib/org-ca (it outlives RUNNER_TEMP, which the runner empties per
 * job), users under XDG state.
 */
export function stateDirectory(env: Readonly<Record<string, string | undefined>>, uid: number): string {
  if (uid === 0) return '/var/lib/org-ca';
  const state = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state');
  return join(state, 'org-ca');
}

/** `env[override]` when set; else `name` in the state directory. */
export function stateFilePath(
  name: string,
  override: string,
  env: Readonly<Record<string, string | undefined>>,
  uid: number,
): string {
  return env[override] || join(stateDirectory(env, uid), name);
}

/** Makes the file's directory (0700) through the guarded helper: procfs, dangling links or a hung mount fail fast. */
export async function prepareStateFile(path: string, purpose: string): Promise<void> {
  await ensureDirectory(dirname(path), { purpose, mode: 0o700 });
}

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
