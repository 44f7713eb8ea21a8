/**
 * Parsers for option values shared by the action's inputs and the CLI's flags. Each takes the option's name as the
 * caller spells it (`probe-timeout` for the action, `--timeout` for the CLI), so every message names what the user
 * typed. Pure and below everything that parses options: parsers that need a registry live beside it
 * (tools/tool-list.ts, detect/probe-urls.ts). Values are quoted back, since no option parsed here is secret.
 */
/** A bad option value: a usage error in the CLI (exit 2), a failed step in the action. */
export class OptionError extends Error {
  override readonly name = 'OptionError';
}

/** Checks one enumerated value, case-insensitively; empty means the fallback. */
export function oneOf<T extends string>(name: string, value: string, allowed: readonly T[], fallback: T): T {
  const v = value.trim().toLowerCase();
  if (v === '') return fallback;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new OptionError(`Invalid ${name} '${value.trim()}'. Expected one of: ${allowed.join(', ')}.`);
}

export interface DurationRange {
  readonly minMs: number;
  readonly maxMs: number;
}

/** The probes' deadline: long enough for a slow proxy, short enough that a dead one cannot stall a job. */
export const PROBE_TIMEOUT_RANGE: DurationRange = { minMs: 100, maxMs: 120_000 };

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000 };

/** How a duration reads back in messages: the largest unit that keeps it whole. */
export function formatDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * The one duration syntax of every timeout: a number with a unit, `1500ms`, `5s`, `1.5s` or `2m`. A bare number is
 * seconds, as for timeout(1), sleep(1) and curl's --max-time. Returns milliseconds.
 */
export function parseDuration(
  name: string,
  value: string,
  fallbackMs: number,
  range: DurationRange = PROBE_TIMEOUT_RANGE,
): number {
  const v = value.trim().toLowerCase();
  if (v === '') return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v);
  const ms = m ? Math.round(Number(m[1]) * UNIT_MS[m[2] ?? 's']!) : NaN;
  if (!(ms >= range.minMs && ms <= range.maxMs)) {
    const what = m ? `a duration from ${formatDuration(range.minMs)} to ${formatDuration(range.maxMs)}` : 'a duration';
    throw new OptionError(
      `Invalid ${name} '${value.trim()}'. Expected ${what}, e.g. 1500ms, 5s or 2m (a bare number is seconds).`,
    );
  }
  return ms;
}

/**
 * An input with two accepted spellings (the pin is `fingerprint` on the CLI and in leak-check, `ca-fingerprint` in the
 * main action): either may be set; both set to different values is an error rather than a silent choice.
 */
export function eitherSpelling(raw: (name: string) => string, name: string, alias: string): string {
  const a = raw(name).trim();
  const b = raw(alias).trim();
  if (a && b && a !== b)
    throw new OptionError(
      `Inputs '${name}' and '${alias}' are two spellings of one input and disagree ('${a}' and '${b}'). Expected only one of them set.`,
    );
  return a || b;
}
