import type { CiFormat, CiVariable } from './types.js';

/**
 * `export NAME='value'` lines for bash to source. Single quotes keep every byte literal ($, backslash, double quotes,
 * %, ;, new lines); a single quote is closed, escaped and reopened. Buildkite and CircleCI both consume this.
 */
export function bashExports(variables: readonly CiVariable[]): string {
  return variables.map(({ name, value }) => `export ${name}='${value.replace(/'/g, `'\\''`)}'\n`).join('');
}

export const buildkiteFormat: CiFormat = {
  id: 'buildkite',
  consumer: "Buildkite agent 'environment' hook (sourced by bash; the agent keeps what the hook exported)",
  sources: [
    'https://buildkite.com/docs/agent/hooks',
    // The agent diffs `buildkite-agent env dump` (JSON) before and after the hook, so new lines survive.
    'https://buildkite.com/docs/agent/v3/cli-env',
  ],
  render: (variables) =>
    `# org-ca: variables for the Buildkite environment hook (sourced by bash)\n${bashExports(variables)}`,
};

export const circleciFormat: CiFormat = {
  id: 'circleci',
  consumer: 'CircleCI $BASH_ENV (bash sources it at the start of every later step)',
  sources: ['https://circleci.com/docs/set-environment-variable/#set-an-environment-variable-in-a-shell-command'],
  render: (variables) => bashExports(variables),
};
