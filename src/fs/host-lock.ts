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
export async function withHostLock<T>(
  path: string,
  body: () => T | Promise<T>,
  unlocked: (why: string) => void,
  options: HostLockOptions = {},
): Promise<T> {
  let release = (): void => {};
  try {
    release = await acquire(path, options.timeoutMs ?? 60000, options.flock ?? 'flock');
  } catch (error) {
    if (!(error instanceof HostLockError && error.missing)) throw error;
    unlocked(error.message);
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
    const child = spawn(
      flock,
      [
        '--exclusive',
        '--wait',
        seconds,
        '--conflict-exit-code',
        '75',
        path,
        '-c',
        'echo locked && exec cat >/dev/null',
      ],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    let settled = false;
    // flock(1) itself may hang (a state directory on a hung mount): the step must not.
    const timer = setTimeout(() => fail(`flock(1) did not answer within ${seconds} s for ${path}`), timeoutMs + 5000);
    const settle = (): void => {
      settled = true;
      clearTimeout(timer);
      // Neither the helper nor its pipes may keep this process alive, nor its end wait for them.
      child.unref();
      child.stdout.destroy();
      child.stderr.destroy();
    };
    const fail = (message: string, missing = false): void => {
      if (settled) return;
      settle();
      // A lock it took after all is let go with it: its `cat` sees stdin close.
      child.stdin.destroy();
      child.kill('SIGKILL');
      reject(new HostLockError(message, missing));
    };
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (error: NodeJS.ErrnoException) =>
      fail(`could not run flock(1) to lock ${path} (${error.message})`, error.code === 'ENOENT'),
    );
    // 'close', not 'exit': its stderr has been read by then.
    child.on('close', (code) => {
      if (code === 75) fail(`${path} stayed locked by another org-ca step for ${seconds} s`);
      // BusyBox's flock has neither --wait nor --conflict-exit-code: as if there were none.
      else if (/unrecognized option|invalid option|unknown option|usage:/i.test(stderr))
        fail(`this flock(1) is not util-linux's (${stderr.trim().split('\n')[0]})`, true);
      else fail(`could not lock ${path}: ${stderr.trim().split('\n')[0] || `flock exited with ${code}`}`);
    });
    child.stdout.once('data', () => {
      if (settled) return;
      settle();
      resolve(() => {
        child.stdin.end();
        child.stdin.destroy();
      });
    });
    // Without a reader the helper would hold the lock forever if this process were stopped before resolving.
    (child.stdin as unknown as { unref?: () => void }).unref?.();
  });
}
