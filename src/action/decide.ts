import type { When } from './inputs.js';

/** Why the step acted or not: `reason` is the stable code for workflows, `message` the sentence for people. */
export interface Decision {
  readonly act: boolean;
  readonly reason: string;
  readonly message: string;
}

/** Pure: whether to inject, from the `when` input and the runner's kind (RUNNER_ENVIRONMENT). */
export function decideByRunner(when: When, runnerEnvironment: string | undefined): Decision {
  switch (when) {
    case 'never':
      return { act: false, reason: 'when-never', message: "when is 'never': nothing was changed." };
    case 'always':
      return { act: true, reason: 'when-always', message: "when is 'always': the org CA is injected on any runner." };
    case 'self-hosted':
      if (runnerEnvironment === 'github-hosted') {
        return {
          act: false,
          reason: 'github-hosted-runner',
          message: 'GitHub-hosted runner (RUNNER_ENVIRONMENT=github-hosted): its traffic is not inspected by your organisation, so nothing was changed.',
        };
      }
      // GitHub-hosted runners always set RUNNER_ENVIRONMENT; older self-hosted/GHES runners may not.
      return {
        act: true,
        reason: 'self-hosted-runner',
        message: `Self-hosted runner (RUNNER_ENVIRONMENT=${runnerEnvironment ?? 'unset'}): the org CA is injected.`,
      };
  }
}
