/**
 * The runner's `.env` (read once when the runner starts; one NAME=value per line, like a dotenv file): org-ca adds
 * its two hook variables and keeps every other byte. Pure.
 * Source: docs.github.com/actions/hosting-your-own-runners/managing-self-hosted-runners/running-scripts-before-or-after-a-job
 */
export const HOOK_VARIABLES = {
  started: 'ACTIONS_RUNNER_HOOK_JOB_STARTED',
  completed: 'ACTIONS_RUNNER_HOOK_JOB_COMPLETED',
} as const;

export class RunnerEnvError extends Error {
  override readonly name = 'RunnerEnvError';
}

/** The value a line sets for `name`, if it sets it. */
function valueOf(line: string, name: string): string | undefined {
  const m = new RegExp(`^\\s*${name}\\s*=(.*)$`).exec(line.replace(/\r$/, ''));
  return m ? m[1]!.trim() : undefined;
}

/** The hook lines for `.env`, after the existing content (a missing final new line is added first). */
export function withHooks(original: string | undefined, hooks: { started: string; completed: string }): string {
  const text = original ?? '';
  for (const [key, name] of Object.entries(HOOK_VARIABLES) as Array<[keyof typeof HOOK_VARIABLES, string]>) {
    for (const line of text.split('\n')) {
      const existing = valueOf(line, name);
      if (existing !== undefined && existing !== hooks[key]) {
        throw new RunnerEnvError(
          `the runner's .env already sets ${name}=${existing}: org-ca will not replace another hook; chain it from that script or remove it first.`,
        );
      }
    }
  }
  const kept = text
    .split('\n')
    .filter(
      (line) =>
        valueOf(line, HOOK_VARIABLES.started) === undefined && valueOf(line, HOOK_VARIABLES.completed) === undefined,
    )
    .join('\n');
  const eol = kept.includes('\r\n') ? '\r\n' : '\n';
  const base = kept === '' || kept.endsWith('\n') ? kept : `${kept}${eol}`;
  return `${base}${HOOK_VARIABLES.started}=${hooks.started}${eol}${HOOK_VARIABLES.completed}=${hooks.completed}${eol}`;
}

/** `.env` without org-ca's two lines (for a file changed since install): every other line as it is. */
export function withoutHooks(text: string, hooks: { started: string; completed: string }): string {
  return text
    .split('\n')
    .filter(
      (line) =>
        valueOf(line, HOOK_VARIABLES.started) !== hooks.started &&
        valueOf(line, HOOK_VARIABLES.completed) !== hooks.completed,
    )
    .join('\n');
}
