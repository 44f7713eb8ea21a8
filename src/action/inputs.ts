import * as core from '@actions/core';
import { parseToolList } from '../tools/plan.js';
import type { OnVerificationOff } from '../tools/inject.js';

/** The only reader of `core.getInput` for the main action: everything downstream takes this typed object. */
export type When = 'self-hosted' | 'always' | 'never';
export const WHEN_VALUES: readonly When[] = ['self-hosted', 'always', 'never'];

export interface Inputs {
  readonly ca: string;
  readonly caFile: string;
  readonly caFingerprint: string;
  readonly when: When;
  readonly tools?: readonly string[];
  readonly onVerificationOff: OnVerificationOff;
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
    when: oneOf('when', raw('when'), WHEN_VALUES, 'self-hosted'),
    ...(tools ? { tools } : {}),
    onVerificationOff: oneOf('on-verification-off', raw('on-verification-off'), ['fail', 'warn'] as const, 'fail'),
  };
}

export function getInputs(): Inputs {
  // trimWhitespace off for `ca`: the parser handles whitespace itself, and a PEM's line ends matter to nobody here.
  return parseInputs((name) => core.getInput(name, { trimWhitespace: name !== 'ca' }));
}
