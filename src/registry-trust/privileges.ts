/**
 * How the action may write to system directories: as root, through passwordless sudo, or not at all. The same
 * operations back both ways, so that the journal can be replayed backwards by the post step with the same rights.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, lstatSync, mkdirSync, readFileSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { createFile, removeFile } from '../fs/privileged-file.js';
import { assertTrustedPath } from '../fs/trusted-path.js';
import type { PathKind } from './trust-plan.js';

export type Mode = 'root' | 'sudo' | 'user';

export interface FileOps {
  readonly mode: Mode;
  /** One directory (its parent exists), mode 0755. */
  mkdir(path: string): void;
  /** A copy of `from`, mode 0644; fails if `path` exists. */
  copy(from: string, path: string): void;
  unlink(path: string): void;
  rmdir(path: string): void;
}

/** What is at a path: symlinks count as what they point to for directories, and as 'other' otherwise. */
export function kindOf(path: string): PathKind | undefined {
  try {
    const st = lstatSync(path);
    if (st.isDirectory()) return 'dir';
    if (st.isSymbolicLink()) return statSync(path, { throwIfNoEntry: false })?.isDirectory() ? 'dir' : 'other';
    return st.isFile() ? 'file' : 'other';
  } catch {
    return undefined;
  }
}

export const directOps = (mode: Mode): FileOps => ({
  mode,
  mkdir: (path) => {
    mkdirSync(path, { mode: 0o755 });
    chmodSync(path, 0o755);
  },
  copy: (from, path) => {
    // COPYFILE_EXCL: a file that appeared since the plan is never overwritten.
    copyFileSync(from, path, 1);
    chmodSync(path, 0o644);
  },
  unlink: (path) => unlinkSync(path),
  rmdir: (path) => rmdirSync(path),
});

const PURPOSE = "a builder's registry trust directory";

/**
 * Root's writes to the system certs.d directories go through the privileged-file module (TRUSTED_ANCESTORS,
 * EXCLUSIVE_CREATE, NO_FOLLOW): a certs.d tree someone other than root could change is refused, never written into.
 */
export const rootOps: FileOps = {
  mode: 'root',
  mkdir: (path) => {
    assertTrustedPath(dirname(path), { purpose: PURPOSE, uid: 0, mustExist: true });
    mkdirSync(path, { mode: 0o755 });
    chmodSync(path, 0o755);
  },
  copy: (from, path) => createFile(path, readFileSync(from), 0o644, { purpose: PURPOSE, uid: 0 }),
  unlink: (path) => {
    removeFile(path, { purpose: PURPOSE, uid: 0 });
  },
  rmdir: (path) => {
    assertTrustedPath(path, { purpose: PURPOSE, uid: 0, mustExist: true });
    rmdirSync(path);
  },
};

function sudo(args: readonly string[]): void {
  // -n: never prompt (a prompt would hang the job); errors surface as the thrown Error's message.
  execFileSync('sudo', ['-n', ...args], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 15000 });
}

export const sudoOps: FileOps = {
  mode: 'sudo',
  mkdir: (path) => sudo(['mkdir', '-m', '0755', '--', path]),
  // install -T refuses nothing by itself, so the plan's existence check is repeated by `test ! -e` first.
  copy: (from, path) => sudo(['sh', '-c', 'test ! -e "$2" && install -m 0644 -T -- "$1" "$2"', 'sh', from, path]),
  unlink: (path) => sudo(['rm', '-f', '--', path]),
  rmdir: (path) => sudo(['rmdir', '--', path]),
};

/** root when uid 0; sudo when `sudo -n true` succeeds (passwordless); else user (system directories are skipped). */
export function detectMode(uid: number, canSudo: () => boolean = sudoWorks): Mode {
  if (uid === 0) return 'root';
  return canSudo() ? 'sudo' : 'user';
}

function sudoWorks(): boolean {
  try {
    execFileSync('sudo', ['-n', 'true'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

export function opsFor(mode: Mode, privileged: boolean): FileOps | undefined {
  if (!privileged) return directOps(mode);
  if (mode === 'root') return rootOps;
  return mode === 'sudo' ? sudoOps : undefined;
}
