/**
 * A real unprivileged account for the attack tests: a job's own code runs as the runner user, not root, and the
 * guards are about what that user can and cannot change. Made with useradd on first use (the suites run as root) and
 * kept: creating and deleting accounts per test would race between parallel test files.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface UnprivilegedUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

const NAME = 'orgca-attacker';

function lookup(): UnprivilegedUser | undefined {
  const r = spawnSync('getent', ['passwd', NAME], { encoding: 'utf8' });
  if (r.status !== 0) return undefined;
  const [name, , uid, gid, , home] = r.stdout.trim().split(':');
  return { name: name!, uid: Number(uid), gid: Number(gid), home: home! };
}

/** Whether the tests can make and use such an account here (root on Linux). */
export function canUseUnprivilegedUser(): boolean {
  return process.getuid?.() === 0 && spawnSync('useradd', ['--help']).status === 0;
}

/** The account, created when missing (concurrent callers may both try: the loser finds it made). */
export function unprivilegedUser(): UnprivilegedUser {
  const found = lookup();
  if (found) return found;
  spawnSync('useradd', ['--create-home', '--shell', '/bin/sh', '--user-group', NAME], { encoding: 'utf8' });
  const made = lookup();
  if (!made)
    throw new Error(`could not create the test account '${NAME}' (useradd failed: run the security suites as root)`);
  return made;
}

/** Runs `argv` as the account (no supplementary groups, its own HOME), synchronously. */
export function runAs(
  user: UnprivilegedUser,
  argv: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): SpawnSyncReturns<string> {
  return spawnSync('setpriv', [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', ...argv], {
    encoding: 'utf8',
    input: options.input ?? '',
    env: options.env ?? { PATH: process.env.PATH, HOME: user.home },
    timeout: 60_000,
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
}

/** A fresh directory owned by the account (mode 0755) in a root-owned parent: a place it controls. */
export function directoryOwnedBy(user: UnprivilegedUser, prefix: string): string {
  // Under root's scratch directory, not /tmp: the guard must refuse it for being the account's, not for /tmp's mode.
  const dir = trustedScratchDir(prefix);
  chownSync(dir, user.uid, user.gid);
  execFileSync('chmod', ['0755', dir]);
  return dir;
}

/**
 * A fresh directory whose every ancestor is root's and writable by no one else (unlike /tmp and /var/tmp, which are
 * world-writable): the place a test puts what only root may change. Under /var/lib/org-ca-tests as root, else HOME.
 */
export function trustedScratchDir(prefix: string): string {
  const parent =
    process.getuid?.() === 0 ? '/var/lib/org-ca-tests' : join(process.env.HOME ?? tmpdir(), '.org-ca-tests');
  mkdirSync(parent, { recursive: true, mode: 0o755 });
  chmodSync(parent, 0o755);
  const dir = mkdtempSync(join(parent, prefix));
  chmodSync(dir, 0o755);
  return dir;
}
