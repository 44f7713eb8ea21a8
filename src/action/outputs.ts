import * as core from '@actions/core';
import type { BuildOutputs } from '../in-build/outputs.js';
import type { Reason } from '../decision/reasons.js';

/**
 * Every output of action.yml, typed: main.ts builds this from what the other modules return and sets it here, the
 * only caller of core.setOutput for the main action. A unit test keeps the names equal to action.yml's.
 */
export interface ActionOutputs {
  readonly injected: 'true' | 'false';
  readonly reason: Reason;
  readonly inspected: 'true' | 'false';
  readonly issuer: string;
  /** Only when injected. */
  readonly 'ca-path'?: string;
  readonly 'bundle-path'?: string;
  readonly fingerprint?: string;
  readonly 'secret-files': string;
  readonly 'build-contexts': string;
  readonly 'build-args': string;
  readonly 'docker-flags': string;
  /** Pull-side trust for builders the action cannot configure itself; empty when not injected. */
  readonly 'buildkitd-config-inline': string;
  readonly 'kaniko-flags': string;
}

export const OUTPUT_NAMES: readonly (keyof ActionOutputs)[] = [
  'injected',
  'reason',
  'inspected',
  'issuer',
  'ca-path',
  'bundle-path',
  'fingerprint',
  'secret-files',
  'build-contexts',
  'build-args',
  'docker-flags',
  'buildkitd-config-inline',
  'kaniko-flags',
];

/** The build outputs under their action.yml names. */
export function buildOutputValues(
  build: BuildOutputs,
): Pick<ActionOutputs, 'secret-files' | 'build-contexts' | 'build-args' | 'docker-flags'> {
  return {
    'secret-files': build.secretFiles,
    'build-contexts': build.buildContexts,
    'build-args': build.buildArgs,
    'docker-flags': build.dockerFlags,
  };
}

export function setActionOutputs(outputs: ActionOutputs): void {
  for (const name of OUTPUT_NAMES) {
    const value = outputs[name];
    if (value !== undefined) core.setOutput(name, value);
  }
}
