import { NATIVE_SWITCHES, type NativeId, type NativeSwitch } from './switches.js';
import { present } from '../lang/present.js';

export type Strategy = 'env' | 'native' | 'both';
export const STRATEGIES: readonly Strategy[] = ['env', 'native', 'both'];

export interface NativeVariable {
  readonly name: string;
  readonly value: string;
  readonly readers: string;
  readonly source: string;
}

export interface StoreCheck {
  /** The OS bundle that was read, or undefined when none was found. */
  readonly path?: string;
  /** Every root of the CA given is in it. */
  readonly holds: boolean;
}

export interface NativeInput {
  readonly strategy: Strategy;
  readonly store: StoreCheck;
  /** The CA's name for messages. */
  readonly caName: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** For `break` switches: the version each probe found (absent = not installed, or lacking what the switch needs). */
  readonly versions: Readonly<Partial<Record<NativeId, string>>>;
}

export interface NativePlan {
  /** Whether the CA files and the file variables (the `env` strategy) are needed too. */
  readonly useEnvFiles: boolean;
  readonly variables: readonly NativeVariable[];
  readonly notes: readonly string[];
  /** Set when `native` was asked for and could not be honoured: the one-line notice (a warning in the action). */
  readonly fallback?: string;
}

/** Compares dotted versions numerically: compareVersions('24.10', '24.2') > 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((n) => parseInt(n, 10) || 0);
  const pb = b.split('.').map((n) => parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Whether a switch is exported, and why not when it is not. */
function decideSwitch(entry: NativeSwitch, versions: NativeInput['versions']): { export: boolean; note?: string } {
  if (entry.olderVersions === 'ignore') return { export: true };
  const found = versions[entry.id];
  const probe = entry.probe!;
  if (found === undefined)
    return {
      export: false,
      note: `${entry.variable} not set: no ${entry.id} that takes it was found (needs ${entry.since}).`,
    };
  if (compareVersions(found, probe.min) < 0)
    return {
      export: false,
      note: `${entry.variable} not set: ${entry.id} ${found} is older than ${probe.min}, and would fail with it.`,
    };
  if (probe.nativeFrom && compareVersions(found, probe.nativeFrom) >= 0) {
    return { export: false, note: `${entry.variable} not needed: ${entry.id} ${found} reads the OS store by default.` };
  }
  return { export: true };
}

/**
 * Pure: the native switches for a strategy. `native` and `both` act only where the OS store holds the CA (checked by
 * the caller, never assumed); when it does not, `native` falls back to `env` with a notice, since a job with neither
 * the files nor the CA in the store would fail every download.
 */
export function planNative(input: NativeInput): NativePlan {
  if (input.strategy === 'env') return { useEnvFiles: true, variables: [], notes: [] };
  if (!input.store.holds) {
    const where = input.store.path ? `the OS store (${input.store.path})` : 'no OS store was found, so it';
    const message =
      input.strategy === 'native'
        ? `strategy 'native': ${where} does not hold ${input.caName}, so the runtimes' native verifiers would not trust it; falling back to strategy 'env' (CA files and variables).`
        : `strategy 'both': ${where} does not hold ${input.caName}; only the CA files and variables are set.`;
    return {
      useEnvFiles: true,
      variables: [],
      notes: [message],
      ...present({ fallback: input.strategy === 'native' ? message : undefined }),
    };
  }
  const variables: NativeVariable[] = [];
  const notes: string[] = [];
  for (const entry of NATIVE_SWITCHES) {
    const decision = decideSwitch(entry, input.versions);
    if (decision.note) notes.push(decision.note);
    if (!decision.export) continue;
    variables.push({
      name: entry.variable,
      value: entry.value(input.env[entry.variable]),
      readers: entry.readers,
      source: entry.source,
    });
  }
  return { useEnvFiles: input.strategy === 'both', variables, notes };
}
