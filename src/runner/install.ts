/**
 * `org-ca runner install|uninstall`: the hook scripts, the CA and the config go into a hooks directory outside the
 * runner's (the runner's docs: hook scripts must not live in the runner application directory); the runner's `.env`
 * gets the two hook variables. Uninstall restores `.env` byte for byte from the copy kept at install, unless it was
 * changed since, in which case only org-ca's two lines are removed.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, isAbsolute } from 'node:path';
import type { RunnerConfig } from './config.js';
import { withHooks, withoutHooks } from './env-file.js';
import { hookScript, type HookCommand } from './scripts.js';

export interface InstallRequest {
  readonly runnerDir: string;
  readonly hooksDir?: string;
  /** The CA as validated PEM text. */
  readonly caPem: string;
  readonly settings: Omit<RunnerConfig, 'version' | 'runnerDir' | 'hooksDir' | 'caFile'>;
  /** The node and CLI script the hooks run: the ones running this install. */
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

export function defaultHooksDir(runnerDir: string): string {
  return `${resolve(runnerDir).replace(/\/+$/, '')}.org-ca-hooks`;
}

function runnerDirOf(path: string): string {
  const dir = resolve(path);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new Error(`--runner-dir '${path}' is not a directory: expected the runner's directory (the one holding run.sh and .runner).`);
  return dir;
}

function inside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export function install(request: InstallRequest): { hooksDir: string; started: string; completed: string; envPath: string } {
  const runnerDir = runnerDirOf(request.runnerDir);
  const hooksDir = resolve(request.hooksDir ?? defaultHooksDir(runnerDir));
  if (inside(runnerDir, hooksDir)) {
    throw new Error(`--hooks-dir '${hooksDir}' is inside the runner directory: the runner's docs forbid hook scripts there, and uninstall must leave it as it was.`);
  }
  if (existsSync(join(hooksDir, 'install.json'))) throw new Error(`org-ca hooks are already installed in '${hooksDir}': run 'org-ca runner uninstall' first.`);
  const envPath = join(runnerDir, '.env');
  const before = existsSync(envPath) ? readFileSync(envPath) : null;
  const started = join(hooksDir, 'job-started.sh');
  const completed = join(hooksDir, 'job-completed.sh');
  // Checked before anything is written: another hook already set is an error, and nothing changes.
  const after = withHooks(before?.toString('utf8'), { started, completed });

  mkdirSync(hooksDir, { recursive: true });
  chmodSync(hooksDir, 0o755);
  const caFile = join(hooksDir, 'org-ca.pem');
  writeFileSync(caFile, request.caPem, { mode: 0o644 });
  const config: RunnerConfig = { version: 1, runnerDir, hooksDir, caFile, ...request.settings };
  const configPath = join(hooksDir, 'config.json');
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o644 });
  const command: HookCommand = { node: request.node, cli: request.cli, config: configPath };
  writeFileSync(started, hookScript('job-started', command), { mode: 0o755 });
  writeFileSync(completed, hookScript('job-completed', command), { mode: 0o755 });
  const record: InstallRecord = { envBefore: before ? before.toString('base64') : null, envAfter: Buffer.from(after).toString('base64'), started, completed };
  writeFileSync(join(hooksDir, 'install.json'), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o644 });
  writeFileSync(envPath, after, before ? {} : { mode: 0o644 });
  return { hooksDir, started, completed, envPath };
}

export function uninstall(runnerDirArg: string, hooksDirArg?: string): string[] {
  const runnerDir = runnerDirOf(runnerDirArg);
  const hooksDir = resolve(hooksDirArg ?? defaultHooksDir(runnerDir));
  const recordPath = join(hooksDir, 'install.json');
  let record: InstallRecord;
  try {
    record = JSON.parse(readFileSync(recordPath, 'utf8')) as InstallRecord;
  } catch {
    throw new Error(`no org-ca install record at '${recordPath}': nothing to uninstall (give --hooks-dir if it was installed elsewhere).`);
  }
  const lines: string[] = [];
  const envPath = join(runnerDir, '.env');
  const current = existsSync(envPath) ? readFileSync(envPath) : null;
  const after = Buffer.from(record.envAfter, 'base64');
  if (current && current.equals(after)) {
    if (record.envBefore === null) unlinkSync(envPath);
    else writeFileSync(envPath, Buffer.from(record.envBefore, 'base64'));
    lines.push(`restored ${envPath} to its state before install`);
  } else if (current) {
    writeFileSync(envPath, withoutHooks(current.toString('utf8'), { started: record.started, completed: record.completed }));
    lines.push(`${envPath} changed since install: removed only org-ca's two hook lines`);
  }
  rmSync(hooksDir, { recursive: true, force: true });
  lines.push(`removed ${hooksDir}`);
  return lines;
}
