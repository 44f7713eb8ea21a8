/** The host-wide lock through the real flock(1): ordering, release on death, timeout, and a machine without flock. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostLockError, withHostLock } from '../../../src/fs/host-lock.js';
import { deferred } from '../../support/deferred.js';

const NO_UNLOCKED = (why: string): void => {
  throw new Error(`unexpectedly unlocked: ${why}`);
};

describe('withHostLock', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'org-ca-lock-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('a second holder waits until the first releases; the body’s value and error come through', async () => {
    const lock = join(dir, 'registry-trust.lock');
    const order: string[] = [];
    const firstMayEnd = deferred();
    const firstHolds = deferred();
    const first = withHostLock(
      lock,
      async () => {
        order.push('first in');
        firstHolds.resolve();
        await firstMayEnd.promise;
        order.push('first out');
        return 1;
      },
      NO_UNLOCKED,
    );
    await firstHolds.promise;
    const second = withHostLock(lock, () => (order.push('second in'), 2), NO_UNLOCKED);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(order).toEqual(['first in']);
    firstMayEnd.resolve();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
    expect(order).toEqual(['first in', 'first out', 'second in']);
    await expect(withHostLock(lock, () => Promise.reject(new Error('the body failed')), NO_UNLOCKED)).rejects.toThrow(
      'the body failed',
    );
    // Released after a failing body too.
    expect(await withHostLock(lock, () => 3, NO_UNLOCKED, { timeoutMs: 2000 })).toBe(3);
  });

  test('a holder that dies releases the lock: no stale lock outlives its process', async () => {
    const lock = join(dir, 'registry-trust.lock');
    const holder = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
      const { withHostLock } = await import(${JSON.stringify(new URL('../../../src/fs/host-lock.ts', import.meta.url).pathname)});
      await withHostLock(${JSON.stringify(lock)}, () => { console.log('held'); return new Promise(() => setInterval(() => {}, 1000)); }, () => {});
    `,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      holder.stdout.once('data', () => resolve());
      holder.once('exit', (code) => reject(new Error(`holder exited with ${code}`)));
    });
    await expect(withHostLock(lock, () => 'got it', NO_UNLOCKED, { timeoutMs: 1000 })).rejects.toThrow(
      new HostLockError(`${lock} stayed locked by another org-ca step for 1 s`),
    );
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;
    expect(await withHostLock(lock, () => 'got it', NO_UNLOCKED, { timeoutMs: 5000 })).toBe('got it');
  }, 30000);

  test('a lock that cannot be made is an error naming it', async () => {
    const lock = join(dir, 'missing-dir', 'registry-trust.lock');
    await expect(withHostLock(lock, () => 1, NO_UNLOCKED, { timeoutMs: 1000 })).rejects.toThrow(
      new RegExp(`^could not lock ${lock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: flock: cannot open lock file`),
    );
  });

  test("a flock(1) that is not util-linux's (BusyBox has no --wait) counts as none: the body runs, after saying why", async () => {
    const busybox = join(dir, 'flock');
    writeFileSync(
      busybox,
      "#!/bin/sh\necho \"flock: unrecognized option '--exclusive'\" >&2\necho 'Usage: flock [-sxun] FD|{FILE [-c] PROG ARGS}' >&2\nexit 1\n",
      { mode: 0o755 },
    );
    const said: string[] = [];
    expect(
      await withHostLock(
        join(dir, 'l'),
        () => 'ran',
        (why) => said.push(why),
        { flock: busybox },
      ),
    ).toBe('ran');
    expect(said).toEqual(["this flock(1) is not util-linux's (flock: unrecognized option '--exclusive')"]);
  });

  test('without flock(1) on the machine the body runs, after saying why', async () => {
    const said: string[] = [];
    expect(
      await withHostLock(
        join(dir, 'l'),
        () => 'ran',
        (why) => said.push(why),
        { flock: join(dir, 'flock') },
      ),
    ).toBe('ran');
    expect(said).toEqual([
      expect.stringMatching(/^could not run flock\(1\) to lock .*\/l \(spawn .*\/flock ENOENT\)$/),
    ]);
  });
});
