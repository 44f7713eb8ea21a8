import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  ancestry,
  currentJobOwner,
  isJobOwner,
  mayRevert,
  ownerRunning,
  parseProcStat,
  type JobOwner,
} from '../../../src/fs/job-owner.js';

describe('parseProcStat (pure)', () => {
  const tail = 'S 4242 100 100 0 -1 4194560 500 0 0 0 10 5 0 0 20 0 1 0 987654 1000 10 18446744073709551615';
  test.each([
    ['a plain command name', `1234 (node) ${tail}`, { state: 'S', ppid: 4242, start: '987654' }],
    [
      'a name with spaces and a closing parenthesis',
      `1234 (Runner.Worker) x) ${tail}`,
      { state: 'S', ppid: 4242, start: '987654' },
    ],
    ['no command name', `1234 node ${tail}`, undefined],
    ['cut short before the start time', '1234 (node) S 4242 100', undefined],
    ['a start time that is not a number', `1234 (node) ${tail.replace('987654', 'soon')}`, undefined],
  ])('%s', (_name, text, expected) => {
    expect(parseProcStat(text)).toEqual(expected);
  });

  test("reads this process's own /proc entry", () => {
    expect(parseProcStat(readFileSync('/proc/self/stat', 'utf8'))?.ppid).toBe(process.ppid);
  });
});

describe('mayRevert (pure)', () => {
  const a: JobOwner = { pid: 100, start: '5' };
  const reused: JobOwner = { pid: 100, start: '9' };
  const running = (o: JobOwner): boolean => o.pid === a.pid && o.start === a.start;
  test.each([
    ['no owner (an older version, a container step): a leftover', undefined, 'next-run', [], true],
    ['its job still runs: left to it', a, 'next-run', [], false],
    ['its job ended: a leftover', { pid: 200, start: '5' }, 'next-run', [], true],
    ['its PID now names another process (another start time): a leftover', reused, 'next-run', [], true],
    ["the job-completed hook of the journal's own job", a, 'job-completed', [{ pid: 300, start: '1' }, a], true],
    [
      'the job-completed hook of another job, while this one runs',
      a,
      'job-completed',
      [{ pid: 300, start: '1' }],
      false,
    ],
    ['the next run is never the job itself, even within it', a, 'next-run', [a], false],
  ] as const)('%s', (_name, owner, claimant, ancestors, expected) => {
    expect(mayRevert(owner, claimant, { running, ancestors })).toBe(expected);
  });
});

describe('process identity on this machine', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    child?.kill('SIGKILL');
    child = undefined;
  });

  test("the owner is this process's parent, with its start time; this process and its parent are its ancestors", () => {
    const owner = currentJobOwner()!;
    expect(owner.pid).toBe(process.ppid);
    expect(ownerRunning(owner)).toBe(true);
    expect(ownerRunning({ pid: owner.pid, start: String(Number(owner.start) + 1) })).toBe(false);
    // The same PID and start time in another boot: a machine rebooted since.
    expect(owner.boot).toMatch(/^[0-9a-f-]{36}$/);
    expect(ownerRunning({ ...owner, boot: '00000000-0000-0000-0000-000000000000' })).toBe(false);
    const chain = ancestry();
    expect(chain[0]!.pid).toBe(process.pid);
    expect(chain).toContainEqual({ pid: owner.pid, start: owner.start });
  });

  test('a process is running until it exits, then never again under its PID and start time', async () => {
    child = spawn('sleep', ['30'], { stdio: 'ignore' });
    await new Promise((resolve) => child!.once('spawn', resolve));
    const stat = parseProcStat(readFileSync(`/proc/${child.pid}/stat`, 'utf8'))!;
    const owner = { pid: child.pid!, start: stat.start };
    expect(ownerRunning(owner)).toBe(true);
    expect(ancestry()).not.toContainEqual(owner);
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(ownerRunning(owner)).toBe(false);
  });

  test('a process that exited but was not reaped yet (a zombie) has ended', async () => {
    // sh starts sleep, then execs into a sleep of its own that never reaps the first: it stays a zombie.
    child = spawn('/bin/sh', ['-c', 'sleep 0.1 & exec sleep 30'], { stdio: 'ignore' });
    let kid = NaN;
    let stat: ReturnType<typeof parseProcStat>;
    for (
      const deadline = Date.now() + 10000;
      Date.now() < deadline;
      await new Promise((resolve) => setTimeout(resolve, 50))
    ) {
      kid = Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
      stat = Number.isInteger(kid) && kid > 0 ? parseProcStat(readFileSync(`/proc/${kid}/stat`, 'utf8')) : undefined;
      if (stat?.state === 'Z') break;
    }
    expect(stat!.state).toBe('Z');
    expect(ownerRunning({ pid: kid, start: stat!.start })).toBe(false);
  });

  test.each([
    [{ pid: 4242, start: '987654' }, true],
    [{ pid: 4242, start: '987654', boot: '6c1c4f4e-7f0e-4c3e-9d2a-2b1f3f9e8a7d' }, true],
    [{ pid: 4242, start: '987654', boot: '../../etc' }, false],
    [{ pid: 1, start: '5' }, false],
    [{ pid: 4242.5, start: '5' }, false],
    [{ pid: 4242, start: '5; rm -rf /' }, false],
    [{ pid: '4242', start: '5' }, false],
    [null, false],
  ])('isJobOwner(%j) = %s', (value, expected) => {
    expect(isJobOwner(value)).toBe(expected);
  });
});
