import { parseArgs, type ParseArgsConfig } from 'node:util';

/** One `org-ca` sub-command. `run` returns the exit code: 0 success, 1 failure; usage errors throw UsageError (2). */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** The full --help text. */
  readonly help: string;
  run(argv: readonly string[]): Promise<number>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** node:util parseArgs, with its errors turned into one-line usage errors. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(
  command: string,
  argv: readonly string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UsageError(`${command}: ${message} (see 'org-ca ${command} --help')`);
  }
}

export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const head = end === -1 ? argv : argv.slice(0, end);
  return head.includes('--help') || head.includes('-h');
}
