/**
 * The one way org-ca writes, replaces and deletes files when it may hold more rights than the people who can write
 * near them (root installing runner hooks, reverting a journal, changing a trust store). Each operation starts from
 * the trusted-path guard and never follows a link at the end:
 * - TRUSTED_ANCESTORS: every directory above the file is root's or the acting user's and writable by no one else
 *   (src/fs/trusted-path.ts), so nobody can swap a name between our check and our call;
 * - EXCLUSIVE_CREATE: new files are created with O_CREAT|O_EXCL (which refuses an existing name, a link included) and
 *   an explicit mode, set again with fchmod so no umask decides it;
 * - NO_FOLLOW: files are read with O_NOFOLLOW and removed only after lstat shows a regular file of the expected owner;
 * - AS_OWNER: in a directory that belongs to another account (the runner user's runner directory), root does not
 *   write at all: a child process running as that account does, so a planted link reaches only what it could reach.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmdirSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { assertTrustedPath, UntrustedPathError } from './trusted-path.js';

export interface PrivilegedFileOptions {
  /** What the file is, for messages. */
  readonly purpose: string;
  /** Who may own the directories besides root (default: this process's user). */
  readonly uid?: number;
}

function actingUid(options: PrivilegedFileOptions): number {
  return options.uid ?? process.getuid?.() ?? 0;
}

/** Creates `path` (which must not exist) with `data` and `mode`, under trusted directories. */
export function createFile(path: string, data: string | Buffer, mode: number, options: PrivilegedFileOptions): void {
  assertTrustedPath(dirname(path), { purpose: options.purpose, uid: actingUid(options), mustExist: true });
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UntrustedPathError(
        path,
        `${options.purpose} '${path}' already exists: org-ca creates this file itself and never writes through an existing one (a link or a file left there); remove it and try again.`,
      );
    }
    throw error;
  }
  try {
    fchmodSync(fd, mode);
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    for (let offset = 0; offset < bytes.length;) offset += writeSync(fd, bytes, offset);
  } finally {
    closeSync(fd);
  }
}

/** Makes each missing directory of `path` with `mode`, checking the existing ones first; returns what it created. */
export function makeDirectories(path: string, mode: number, options: PrivilegedFileOptions): string[] {
  const uid = actingUid(options);
  const real = assertTrustedPath(path, { purpose: options.purpose, uid });
  const missing: string[] = [];
  for (let dir = real; ; dir = dirname(dir)) {
    try {
      lstatSync(dir);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      missing.unshift(dir);
    }
  }
  for (const dir of missing) {
    mkdirSync(dir, { mode });
    const made = lstatSync(dir);
    if (!made.isDirectory() || made.uid !== (process.getuid?.() ?? made.uid)) {
      throw new UntrustedPathError(
        dir,
        `${options.purpose} '${dir}' changed while it was being made: refusing to go on.`,
      );
    }
  }
  return missing;
}

/**
 * Reads a file that decides what a privileged step does (an install record, a journal): it must be a regular file
 * owned by root or the acting user, writable by no one else, under trusted directories. Anything else is refused:
 * its content may have been written by someone who wants root to act on it.
 */
export function readTrustedFile(path: string, options: PrivilegedFileOptions): Buffer {
  const uid = actingUid(options);
  assertTrustedPath(path, { purpose: options.purpose, uid, mustExist: true });
  const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) throw new UntrustedPathError(path, `${options.purpose} '${path}' is not a regular file.`);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Removes a regular file org-ca made (never a link or a directory), under trusted directories; a missing one is fine. */
export function removeFile(path: string, options: PrivilegedFileOptions): boolean {
  assertTrustedPath(dirname(path), { purpose: options.purpose, uid: actingUid(options), mustExist: true });
  let stats;
  try {
    stats = lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  if (!stats.isFile())
    throw new UntrustedPathError(
      path,
      `${options.purpose} '${path}' is not a regular file (a link or a directory was put there): left as it is.`,
    );
  unlinkSync(path);
  return true;
}

/** Removes an empty directory; one that still holds something is left, and `false` says so. */
export function removeEmptyDirectory(path: string, options: PrivilegedFileOptions): boolean {
  assertTrustedPath(path, { purpose: options.purpose, uid: actingUid(options), mustExist: true });
  try {
    rmdirSync(path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') return false;
    throw error;
  }
}

/** An account to act as: a directory's owner. */
export interface Account {
  readonly uid: number;
  readonly gid: number;
}

/** The owner of `path` (not following a link). */
export function ownerOf(path: string): Account {
  const stats = lstatSync(path);
  return { uid: stats.uid, gid: stats.gid };
}

// Run by a Node child as the account: the only code that touches the account's files while we are root.
const AS_OWNER_SCRIPT = `
const fs = require('node:fs');
const crypto = require('node:crypto');
const [op, path, mode] = process.argv.slice(1);
if (op === 'read') {
  let fd;
  try {
    fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    if (e.code === 'ENOENT') { process.stdout.write('{"missing":true}'); process.exit(0); }
    throw e;
  }
  if (!fs.fstatSync(fd).isFile()) throw new Error('not a regular file');
  process.stdout.write(JSON.stringify({ base64: fs.readFileSync(fd).toString('base64') }));
} else if (op === 'replace') {
  const temp = path + '.org-ca-' + crypto.randomBytes(6).toString('hex');
  fs.writeFileSync(temp, fs.readFileSync(0), { flag: 'wx', mode: parseInt(mode, 8) });
  fs.renameSync(temp, path);
} else if (op === 'remove') {
  const st = fs.lstatSync(path);
  if (!st.isFile()) throw new Error('not a regular file');
  fs.unlinkSync(path);
}
`;

function runAs(account: Account, args: readonly string[], input?: Buffer): string {
  const r = spawnSync(process.execPath, ['-e', AS_OWNER_SCRIPT, ...args], {
    uid: account.uid,
    gid: account.gid,
    input: input ?? Buffer.alloc(0),
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: '/usr/bin:/bin' },
    cwd: '/',
  });
  if (r.status !== 0) {
    const why =
      (r.stderr ?? '').split('\n').find((line) => /Error|EACCES|ELOOP|EEXIST|not a regular file/.test(line)) ??
      r.error?.message ??
      `exit ${r.status}`;
    throw new Error(`acting as uid ${account.uid} on '${args[1]}' failed: ${why.trim().slice(0, 200)}`);
  }
  return r.stdout;
}

/** Whether this process must act as `account` instead of writing itself: it is root and the account is not. */
export function mustActAs(account: Account): boolean {
  return process.getuid?.() === 0 && account.uid !== 0;
}

/** Reads `path` as `account` (O_NOFOLLOW); undefined when it does not exist. */
export function readFileAs(account: Account, path: string): Buffer | undefined {
  if (!mustActAs(account)) {
    try {
      const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
      try {
        return readFileSync(fd);
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }
  const answer = JSON.parse(runAs(account, ['read', path])) as { missing?: boolean; base64?: string };
  return answer.missing ? undefined : Buffer.from(answer.base64 ?? '', 'base64');
}

/** Replaces `path` as `account`: a new file beside it (exclusive), renamed over it, so no link at `path` is written through. */
export function replaceFileAs(account: Account, path: string, data: string | Buffer, mode = 0o644): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  if (mustActAs(account)) {
    runAs(account, ['replace', path, mode.toString(8)], bytes);
    return;
  }
  const temp = `${path}.org-ca-${randomBytes(6).toString('hex')}`;
  createFileUnchecked(temp, bytes, mode);
  try {
    renameSync(temp, path);
  } catch (error) {
    unlinkSync(temp);
    throw error;
  }
}

/** Removes the regular file `path` as `account`. */
export function removeFileAs(account: Account, path: string): void {
  if (mustActAs(account)) {
    runAs(account, ['remove', path]);
    return;
  }
  if (!lstatSync(path).isFile()) throw new UntrustedPathError(path, `'${path}' is not a regular file: left as it is.`);
  unlinkSync(path);
}

function createFileUnchecked(path: string, bytes: Buffer, mode: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    fchmodSync(fd, mode);
    for (let offset = 0; offset < bytes.length;) offset += writeSync(fd, bytes, offset);
  } finally {
    closeSync(fd);
  }
}
