/**
 * `org-ca runner install|uninstall`: the hook scripts, the CA and the config go into a hooks directory outside the
 * runner's (the runner's docs: hook scripts must not live in the runner application directory); the runner's `.env`
 * gets the two hook variables. Uninstall restores `.env` byte for byte from the copy kept at install, unless it was
 * changed since, in which case only org-ca's two lines are removed.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, statSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import {
  createFile,
  makeDirectories,
  ownerOf,
  readFileAs,
  readTrustedFile,
  removeEmptyDirectory,
  removeFile,
  replaceFileAs,
  removeFileAs,
  type Account,
} from '../fs/privileged-file.js';
import type { RunnerConfig } from './config.js';
import { withHooks, withoutHooks } from './env-file.js';
import { hookScript, type HookCommand } from './scripts.js';

export interface InstallRequest {
  readonly runnerDir: string;
  readonly hooksDir?: string;
  /** The CA as validated PEM text. */
  readonly caPem: string;
  readonly settings: Omit<RunnerConfig, 'version' | 'runnerDir' | 'hooksDir' | 'caFile'>;
  /** The node and CLI script the hooks run. */
  readonly node: string;
  readonly cli: string;
}

/** What install recorded for uninstall: the `.env` before and after (base64), never anything secret. */
interface InstallRecord {
  readonly envBefore: string | null;
  readonly envAfter: string;
  readonly started: string;
  readonly completed: string;
}

/** The files install makes in the hooks directory: uninstall removes these and nothing else. */
const HOOK_FILES = ['job-started.sh', 'job-completed.sh', 'org-ca.pem', 'config.json', 'install.json'] as const;

/** Where root keeps hooks: root's own, outside anything a runner user can write (FHS: /etc for host configuration). */
export const ROOT_HOOKS_BASE = '/etc/org-ca/runner-hooks';

export function defaultHooksDir(runnerDir: string, uid = process.getuid?.() ?? -1): string {
  const dir = resolve(runnerDir).replace(/\/+$/, '');
  if (uid !== 0) return `${dir}.org-ca-hooks`;
  // One directory per runner: its name plus a hash of its path, so two runners named alike never share one.
  const slug = basename(dir).replace(/[^A-Za-z0-9._-]/g, '_') || 'runner';
  return join(ROOT_HOOKS_BASE, `${slug}-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}`);
}

/** The runner directory given is not one: an input error (exit 2). */
export class RunnerDirError extends Error {
  override readonly name = 'RunnerDirError';
}

/** Files that only a runner directory holds (config.sh leaves .runner; the release ships run.sh and config.sh). */
const RUNNER_MARKERS = ['run.sh', 'config.sh', '.runner'];

function runnerDirOf(path: string): string {
  const dir = resolve(path);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir)
    throw new RunnerDirError(
      `--runner-dir '${path}' is not a directory: expected the runner's directory (the one holding run.sh and .runner).`,
    );
  if (!RUNNER_MARKERS.some((name) => existsSync(join(dir, name)))) {
    throw new RunnerDirError(
      `--runner-dir '${path}' holds no Actions runner (none of ${RUNNER_MARKERS.join(', ')}): expected the directory where config.sh was run.`,
    );
  }
  return dir;
}

function inside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The runner user: who owns the runner directory. Root writes nothing there itself (AS_OWNER). */
function runnerAccount(runnerDir: string): Account {
  return ownerOf(runnerDir);
}

export function install(request: InstallRequest): {
  hooksDir: string;
  started: string;
  completed: string;
  envPath: string;
} {
  const runnerDir = runnerDirOf(request.runnerDir);
  const hooksDir = resolve(request.hooksDir ?? defaultHooksDir(runnerDir));
  if (inside(runnerDir, hooksDir)) {
    throw new Error(
      `--hooks-dir '${hooksDir}' is inside the runner directory: the runner's docs forbid hook scripts there, and uninstall must leave it as it was.`,
    );
  }
  const purpose = '--hooks-dir';
  if (existsSync(join(hooksDir, 'install.json')))
    throw new Error(`org-ca hooks are already installed in '${hooksDir}': run 'org-ca runner uninstall' first.`);
  const account = runnerAccount(runnerDir);
  const envPath = join(runnerDir, '.env');
  const before = readFileAs(account, envPath) ?? null;
  const started = join(hooksDir, 'job-started.sh');
  const completed = join(hooksDir, 'job-completed.sh');
  // Checked before anything is written: another hook already set is an error, and nothing changes.
  const after = withHooks(before?.toString('utf8'), { started, completed });

  // TRUSTED_ANCESTORS: the hooks run in every job; as root, nobody but root may be able to change them.
  makeDirectories(hooksDir, 0o755, { purpose });
  const caFile = join(hooksDir, 'org-ca.pem');
  const config: RunnerConfig = { version: 1, runnerDir, hooksDir, caFile, ...request.settings };
  const configPath = join(hooksDir, 'config.json');
  const command: HookCommand = { node: request.node, cli: request.cli, config: configPath };
  const record: InstallRecord = {
    envBefore: before ? before.toString('base64') : null,
    envAfter: Buffer.from(after).toString('base64'),
    started,
    completed,
  };
  // EXCLUSIVE_CREATE: a name planted in the hooks directory (a link to a root file) is refused, never written through.
  createFile(caFile, request.caPem, 0o644, { purpose });
  createFile(configPath, `${JSON.stringify(config, null, 2)}\n`, 0o644, { purpose });
  createFile(started, hookScript('job-started', command), 0o755, { purpose });
  createFile(completed, hookScript('job-completed', command), 0o755, { purpose });
  createFile(join(hooksDir, 'install.json'), `${JSON.stringify(record, null, 2)}\n`, 0o644, { purpose });
  replaceFileAs(account, envPath, after, before ? lstatSync(envPath).mode & 0o777 : 0o644);
  return { hooksDir, started, completed, envPath };
}

function readRecord(hooksDir: string): InstallRecord {
  const recordPath = join(hooksDir, 'install.json');
  if (!existsSync(recordPath))
    throw new Error(
      `no org-ca install record at '${recordPath}': nothing to uninstall (give --hooks-dir if it was installed elsewhere).`,
    );
  // The record says what .env to write back: it is only taken from a place nobody but root (or the installer) controls.
  const record = JSON.parse(
    readTrustedFile(recordPath, { purpose: 'the install record' }).toString('utf8'),
  ) as InstallRecord;
  const valid =
    (record.envBefore === null || typeof record.envBefore === 'string') &&
    typeof record.envAfter === 'string' &&
    record.started === join(hooksDir, 'job-started.sh') &&
    record.completed === join(hooksDir, 'job-completed.sh');
  if (!valid)
    throw new Error(
      `the install record '${recordPath}' is not one org-ca wrote for this hooks directory: nothing was changed; remove the hooks by hand.`,
    );
  return record;
}

export function uninstall(runnerDirArg: string, hooksDirArg?: string): string[] {
  const runnerDir = runnerDirOf(runnerDirArg);
  const hooksDir = resolve(hooksDirArg ?? defaultHooksDir(runnerDir));
  const record = readRecord(hooksDir);
  const lines: string[] = [];
  const account = runnerAccount(runnerDir);
  const envPath = join(runnerDir, '.env');
  const current = readFileAs(account, envPath);
  const after = Buffer.from(record.envAfter, 'base64');
  if (current && current.equals(after)) {
    if (record.envBefore === null) removeFileAs(account, envPath);
    else replaceFileAs(account, envPath, Buffer.from(record.envBefore, 'base64'), lstatSync(envPath).mode & 0o777);
    lines.push(`restored ${envPath} to its state before install`);
  } else if (current) {
    replaceFileAs(
      account,
      envPath,
      withoutHooks(current.toString('utf8'), { started: record.started, completed: record.completed }),
      lstatSync(envPath).mode & 0o777,
    );
    lines.push(`${envPath} changed since install: removed only org-ca's two hook lines`);
  }
  const purpose = 'the hooks directory';
  for (const name of HOOK_FILES) removeFile(join(hooksDir, name), { purpose });
  if (removeEmptyDirectory(hooksDir, { purpose })) lines.push(`removed ${hooksDir}`);
  else lines.push(`${hooksDir} holds files org-ca did not write: left in place after removing its own`);
  return lines;
}
