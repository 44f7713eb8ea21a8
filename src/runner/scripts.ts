/**
 * The two hook scripts. The runner runs a .sh hook as `bash -e {path}` and fails the job on a non-zero exit, so the
 * scripts capture org-ca's status instead of letting -e end them: exit 3 (a policy failure: a foreign intercepting
 * CA, verification switched off, no answer with on-unreachable fail) fails the job; anything else wrong with org-ca
 * itself (node missing, a crash) is a warning and the job runs without the CA. Pure.
 */
export const POLICY_FAILURE_EXIT = 3;

function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export interface HookCommand {
  readonly node: string;
  readonly cli: string;
  readonly config: string;
}

export function hookScript(phase: 'job-started' | 'job-completed', command: HookCommand): string {
  const run = `${shQuote(command.node)} ${shQuote(command.cli)} runner ${phase} --config ${shQuote(command.config)}`;
  return [
    '#!/bin/bash',
    `# org-ca ${phase} hook: written by 'org-ca runner install', removed by 'org-ca runner uninstall'.`,
    'rc=0',
    `${run} || rc=$?`,
    ...(phase === 'job-started' ? [`if [ "$rc" -eq ${POLICY_FAILURE_EXIT} ]; then exit 1; fi`] : []),
    `if [ "$rc" -ne 0 ]; then echo "::warning::org-ca ${phase} hook: org-ca failed (exit $rc); the job continues${phase === 'job-started' ? ' without the org CA' : ''}."; fi`,
    'exit 0',
    '',
  ].join('\n');
}
