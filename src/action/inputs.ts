import * as core from '@actions/core';
import { parseToolList } from '../tools/plan.js';
import type { OnVerificationOff } from '../tools/inject.js';
import { DEFAULT_PROBE_TIMEOUT_MS, DEFAULT_PROBE_URLS } from '../detect/detect.js';
import { parseTarget, TargetError } from '../detect/route.js';
import type { OnUnknown, OnUnreachable } from './decide.js';
import { parseRegistries } from '../registries/hosts.js';

/** The only reader of `core.getInput` for the main action: everything downstream takes this typed object. */
export type When = 'auto' | 'self-hosted' | 'always' | 'never';
export const WHEN_VALUES: readonly When[] = ['auto', 'self-hosted', 'always', 'never'];

export interface Inputs {
  readonly ca: string;
  readonly caFile: string;
  readonly caFingerprint: string;
  readonly when: When;
  readonly tools?: readonly string[];
  readonly onVerificationOff: OnVerificationOff;
  /** Detection (when: auto). */
  readonly probeUrls: readonly string[];
  readonly probeTimeoutMs: number;
  readonly publicRoots: string;
  readonly onUnknown: OnUnknown;
  readonly onUnreachable: OnUnreachable;
  /** Registries whose pulls builders must trust the org CA for (`registries`); empty for 'none'. */
  readonly registries: readonly string[];
}

export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/** Checks one enumerated input; the value is quoted back (no enumerated input is secret). */
export function oneOf<T extends string>(name: string, value: string, allowed: readonly T[], fallback: T): T {
  const v = value.trim().toLowerCase();
  if (v === '') return fallback;
  if ((allowed as readonly string[]).includes(v)) return v as T;
  throw new InputError(`Invalid ${name} '${value.trim()}'. Expected one of: ${allowed.join(', ')}.`);
}

/** Probe URLs separated by commas, spaces or new lines; each must be https:// (a bare host gets it). */
export function parseProbeUrls(value: string): string[] {
  const given = value.split(/[\s,]+/).filter(Boolean);
  const items = given.length ? given : DEFAULT_PROBE_URLS;
  try {
    return items.map((item) => parseTarget(item).url);
  } catch (error) {
    throw new InputError(`probe-urls: ${error instanceof TargetError ? error.message : String(error)}`);
  }
}

/** A duration in milliseconds: `5000`, `5000ms`, `5s` or `1.5s`; 100 ms to 120 s. */
export function parseDuration(name: string, value: string, fallbackMs: number): number {
  const v = value.trim().toLowerCase();
  if (v === '') return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s)?$/.exec(v);
  const ms = m ? Math.round(Number(m[1]) * (m[2] === 's' ? 1000 : 1)) : NaN;
  if (!(ms >= 100 && ms <= 120_000)) {
    throw new InputError(`Invalid ${name} '${value.trim()}'. Expected a duration from 100ms to 120s (e.g., 5s, 2500ms).`);
  }
  return ms;
}

function wrapped<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new InputError(error instanceof Error ? error.message : String(error));
  }
}

/** Pure: from raw input strings (as the runner passes them) to Inputs. */
export function parseInputs(raw: (name: string) => string): Inputs {
  let tools: readonly string[] | undefined;
  try {
    tools = parseToolList(raw('tools'));
  } catch (error) {
    throw new InputError(error instanceof Error ? error.message : String(error));
  }
  return {
    ca: raw('ca'),
    caFile: raw('ca-file').trim(),
    caFingerprint: raw('ca-fingerprint').trim(),
    when: oneOf('when', raw('when'), WHEN_VALUES, 'auto'),
    ...(tools ? { tools } : {}),
    onVerificationOff: oneOf('on-verification-off', raw('on-verification-off'), ['fail', 'warn'] as const, 'fail'),
    probeUrls: parseProbeUrls(raw('probe-urls')),
    probeTimeoutMs: parseDuration('probe-timeout', raw('probe-timeout'), DEFAULT_PROBE_TIMEOUT_MS),
    publicRoots: raw('public-roots').trim(),
    onUnknown: oneOf('on-unknown', raw('on-unknown'), ['fail', 'warn'] as const, 'fail'),
    onUnreachable: oneOf('on-unreachable', raw('on-unreachable'), ['inject', 'skip', 'fail'] as const, 'inject'),
    registries: wrapped(() => parseRegistries(raw('registries'))),
  };
}

export function getInputs(): Inputs {
  // trimWhitespace off for `ca`: the parser handles whitespace itself, and a PEM's line ends matter to nobody here.
  return parseInputs((name) => core.getInput(name, { trimWhitespace: name !== 'ca' }));
}
