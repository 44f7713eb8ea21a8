/**
 * One lock per state directory, held while a step reads the journals there and changes what they record: jobs that
 * start or end at the same moment on one host then never plan from a state another is changing (two runs making the
 * same directory, one removing a directory the other is about to write into, both reverting one leftover).
 *
 * Node has no flock(2); util-linux's flock(1) holds it for us. The helper's stdin is this process: when the step
 * releases the lock, or dies, the pipe closes and so does the lock. No stale lock file can outlive its holder.
 */
import { spawn } from 'node:child_process';

export class HostLockError extends Error {
  /** flock(1) is not installed: the caller may go on unlocked. */
  readonly missing: boolean;
  constructor(message: string, missing = false) {
    super(message);
    this.name = 'HostLockError';
    this.missing = missing;
  }
}

export interface HostLockOptions {
  /** How long to wait for another holder (default 60 s). */
  readonly timeoutMs?: number;
  /** The flock(1) to run (default: `flock` on PATH). */
  readonly flock?: string;
}

/**
 * Runs `body` holding an exclusive lock on `path` (created if missing); fails after `timeoutMs` with the path. Without
 * flock(1) on the machine, `body` runs unlocked after `unlocked` was told why.
 */
export async function withHostLock<T>(path: string, body: () => T | Promise<T>, unlocked: (why: string) => void, options: HostLockOptions = {}): Promise<T> {
  let release: () => void;
  try {
    release = await acquire(path, options.timeoutMs ?? 60000, options.flock ?? 'flock');
  } catch (error) {
    if (!(error instanceof HostLockError && error.missing)) throw error;
    unlocked(error.message);
    return await body();
  }
  try {
    return await body();
  } finally {
    release();
  }
}

function acquire(path: string, timeoutMs: number, flock: string): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const seconds = String(Math.max(1, Math.ceil(timeoutMs / 1000)));
    // `cat` holds the lock until stdin closes; "locked" says it is held. -E 75: a timeout is told apart from a failure.
    const child = spawn(flock, ['--exclusive', '--wait', seconds, '--conflict-exit-code', '75', path, '-c', 'echo locked && exec cat >/dev/null'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    let settled = false;
    const fail = (message: string, missing = false): void => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(new HostLockError(message, missing));
    };
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error: NodeJS.ErrnoException) => fail(`could not run flock(1) to lock ${path} (${error.message})`, error.code === 'ENOENT'));
    child.on('exit', (code) => {
      if (code === 75) fail(`${path} stayed locked by another org-ca step for ${seconds} s`);
      else fail(`could not lock ${path}: ${stderr.trim().split('\n')[0] || `flock exited with ${code}`}`);
    });
    child.stdout.once('data', () => {
      if (settled) return;
      settled = true;
      // The lock must never keep this process alive, nor its end wait for the helper.
      child.unref();
      child.stdout.destroy();
      child.stderr.destroy();
      resolve(() => {
        child.stdin.end();
        child.stdin.destroy();
      });
    });
    // Without a reader the helper would hold the lock forever if this process were stopped before resolving.
    (child.stdin as unknown as { unref?: () => void }).unref?.();
  });
}
