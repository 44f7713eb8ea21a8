/**
 * Which job a journal belongs to, so that one job never reverts what another job on the same host still uses.
 *
 * Several runners often share one machine (and one user, and so one state directory). A journal is a leftover only
 * when the job that wrote it has ended: the action records the process that runs the job (its parent, the runner's
 * Runner.Worker, which lives exactly as long as the job) by PID and start time, and a later step reverts the journal
 * only once that process is gone. The start time tells a reused PID from the original.
 */
import { readFileSync } from 'node:fs';
import { present } from '../lang/present.js';

export interface JobOwner {
  readonly pid: number;
  /** The process's start time in clock ticks after boot (/proc/PID/stat, field 22). */
  readonly start: string;
  /** The boot it ran in (/proc/sys/kernel/random/boot_id): after a reboot the same PID and start time mean nothing. */
  readonly boot?: string;
}

/** Pure: the state, parent PID and start time from the text of /proc/PID/stat; the command name may hold spaces and ')'. */
export function parseProcStat(text: string): { state: string; ppid: number; start: string } | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After "pid (comm) ": state, ppid, … ; starttime is field 22 overall, the 20th after the command name.
  const fields = text
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const ppid = Number(fields[1]);
  const start = fields[19];
  if (!Number.isInteger(ppid) || !start || !/^\d+$/.test(start)) return undefined;
  return { state: fields[0]!, ppid, start };
}

function statOf(pid: number): { state: string; ppid: number; start: string } | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The process running this job's steps (this process's parent), or undefined where /proc cannot say. */
export function currentJobOwner(): JobOwner | undefined {
  const ppid = process.ppid;
  // 0 inside a container entered with `docker exec`; 1 when the parent is gone already.
  if (ppid <= 1) return undefined;
  const stat = statOf(ppid);
  const boot = bootId();
  return stat ? { pid: ppid, start: stat.start, ...present({ boot }) } : undefined;
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Whether the owner's process still runs: the same boot, PID and start time, and not a zombie (it has exited). */
export function ownerRunning(owner: JobOwner): boolean {
  // An unreadable boot id proves nothing: only a different one says the machine was rebooted.
  const boot = bootId();
  if (owner.boot && boot && owner.boot !== boot) return false;
  const stat = statOf(owner.pid);
  return stat !== undefined && stat.start === owner.start && stat.state !== 'Z' && stat.state !== 'X';
}

/** Whether two records name the same process. */
export function sameOwner(a: JobOwner, b: JobOwner): boolean {
  return a.pid === b.pid && a.start === b.start;
}

/** This process and its ancestors up to PID 1: the runner's job-completed hook is a child of the job's own worker. */
export function ancestry(): JobOwner[] {
  const chain: JobOwner[] = [];
  let pid = process.pid;
  for (let depth = 0; pid > 1 && depth < 64; depth++) {
    const stat = statOf(pid);
    if (!stat) break;
    chain.push({ pid, start: stat.start });
    pid = stat.ppid;
  }
  return chain;
}

export type Claimant = 'next-run' | 'job-completed';

/**
 * Pure: whether a journal written by `owner` may be reverted now. A journal without an owner (an older version, a
 * container step) is a leftover as before. The next run reverts only an ended job's journal; the job-completed hook
 * also its own job's (the owner is among its ancestors), never that of another job still running.
 */
export function mayRevert(
  owner: JobOwner | undefined,
  claimant: Claimant,
  facts: { readonly running: (owner: JobOwner) => boolean; readonly ancestors: readonly JobOwner[] },
): boolean {
  if (!owner) return true;
  if (claimant === 'job-completed' && facts.ancestors.some((a) => sameOwner(a, owner))) return true;
  return !facts.running(owner);
}

/** Pure: whether a journal's recorded owner is well formed (a journal replayed with sudo is checked strictly). */
export function isJobOwner(value: unknown): value is JobOwner {
  if (!value || typeof value !== 'object') return false;
  const o = value as Record<string, unknown>;
  return (
    typeof o.pid === 'number' &&
    Number.isInteger(o.pid) &&
    o.pid > 1 &&
    typeof o.start === 'string' &&
    /^\d+$/.test(o.start) &&
    (o.boot === undefined || (typeof o.boot === 'string' && /^[0-9a-f-]{36}$/.test(o.boot)))
  );
}
