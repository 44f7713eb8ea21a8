import { readFileSync } from 'node:fs';
import type { OnUnknown, OnUnreachable, When } from '../options/values.js';
import type { Strategy } from '../native/switch-plan.js';
import type { OnVerificationOff } from '../tools/inject.js';

/**
 * Where the job's files live as the steps see them: `host` (jobs run on the runner machine) or `container` (jobs run in
 * `container:`; the runner mounts the host's _work at /__w, so RUNNER_TEMP's files appear under /__w/_temp).
 */
export type JobPaths = 'host' | 'container';
export const JOB_PATHS: readonly JobPaths[] = ['host', 'container'];

/** What `runner install` decided, read by every hook run. Holds paths and settings only, never the CA's content. */
export interface RunnerConfig {
  readonly version: 1;
  readonly runnerDir: string;
  readonly hooksDir: string;
  /** The org CA, copied into the hooks directory at install. */
  readonly caFile: string;
  readonly when: Exclude<When, never>;
  readonly probeUrls: readonly string[];
  readonly probeTimeoutMs: number;
  readonly onUnknown: OnUnknown;
  readonly onUnreachable: OnUnreachable;
  readonly onVerificationOff: OnVerificationOff;
  readonly tools?: readonly string[];
  readonly strategy: Strategy;
  /** How long a probe verdict is reused by later jobs on this runner. */
  readonly cacheTtlMs: number;
  readonly jobPaths: JobPaths;
}

export function readConfig(path: string): RunnerConfig {
  let parsed: RunnerConfig;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as RunnerConfig;
  } catch (error) {
    throw new Error(
      `--config '${path}' could not be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): expected the config.json written by 'org-ca runner install'.`,
      { cause: error },
    );
  }
  if (parsed.version !== 1)
    throw new Error(
      `--config '${path}' has version ${String(parsed.version)}: expected 1 (reinstall the hooks with this org-ca).`,
    );
  return parsed;
}
