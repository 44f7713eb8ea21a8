import { tmpdir } from 'node:os';
import type { Platform } from '../tools/registry.js';
import { present } from '../lang/present.js';

/** What the runner tells a step about itself, read once from the environment. */
export interface RunnerContext {
  readonly environment?: string;
  readonly temp: string;
  readonly workspace?: string;
  readonly platform: Platform;
}

export function runnerContext(env: Readonly<Record<string, string | undefined>>): RunnerContext {
  const platform = (['linux', 'darwin', 'win32'] as const).find((p) => p === process.platform) ?? 'linux';
  return {
    ...present({ environment: env.RUNNER_ENVIRONMENT }),
    temp: env.RUNNER_TEMP || tmpdir(),
    ...present({ workspace: env.GITHUB_WORKSPACE }),
    platform,
  };
}
