/**
 * What every `org-ca` command is built from: the Command shape, the exit codes, the errors that map to them, and
 * the argument parser. The list of commands itself is command-list.ts.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CaInputError } from '../ca/parse.js';
import { TargetError } from '../detect/route.js';
import { PathError } from '../fs/ensure-directory.js';
import { ImageInputError } from '../leak/check.js';
import { ShardError } from '../leak/fanout/shares.js';
import { MergeError } from '../leak/fanout/shard-report.js';
import { OptionError } from '../options/parse.js';
import { RunnerDirError } from '../runner/install.js';
import { didYouMean } from '../options/suggest.js';

/** One `org-ca` sub-command. `run` returns the exit code; errors thrown map to one through exitCodeFor. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** The full --help text. */
  readonly help: string;
  run(argv: readonly string[]): Promise<number>;
}

/** The exit codes of every command (a command run by `exec` passes its own status on instead). */
export const EXIT = {
  /** Everything verified, nothing found. */
  ok: 0,
  /** Something was found or failed: a leak, an unknown issuer, a failing client, verification switched off. */
  failed: 1,
  /** The command line or an input is wrong: an unknown option, a bad value, a CA file that is no CA. */
  usage: 2,
  /** `exec`: the command exists but cannot be run (not executable, a directory), as in sh. */
  cannotRun: 126,
  /** `exec`: the command was not found, as in sh. */
  notFound: 127,
} as const;

/** The command line itself is wrong (exit 2). */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** `exec` could not start its command (exit 126 or 127). */
export class CommandNotRunError extends Error {
  readonly exitCode: typeof EXIT.cannotRun | typeof EXIT.notFound;
  constructor(message: string, exitCode: typeof EXIT.cannotRun | typeof EXIT.notFound) {
    super(message);
    this.name = 'CommandNotRunError';
    this.exitCode = exitCode;
  }
}

/**
 * Errors that mean "what you gave is wrong", whichever module found it: exit 2, like a usage error. A directory that
 * cannot be made (--dir under /proc, a dangling link, TMPDIR on a hung mount) is such an input too.
 */
const INPUT_ERRORS = [
  UsageError,
  OptionError,
  CaInputError,
  TargetError,
  ImageInputError,
  PathError,
  RunnerDirError,
  ShardError,
  MergeError,
] as const;

export function exitCodeFor(error: unknown): number {
  if (error instanceof CommandNotRunError) return error.exitCode;
  if (INPUT_ERRORS.some((kind) => error instanceof kind)) return EXIT.usage;
  return EXIT.failed;
}

/** What Node's system-error codes mean, in words: the CLI prints these instead of `spawn x EACCES`. */
const SYSTEM_ERRORS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'it is a directory',
  EEXIST: 'it already exists',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EMFILE: 'too many open files',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  ENOEXEC: 'it is not an executable format',
};

/**
 * One sentence for any error: Node's system errors (`EACCES: permission denied, mkdir '/x'`) become
 * "cannot mkdir '/x': permission denied (EACCES)"; other errors keep their own message, first line only.
 */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const e = error as NodeJS.ErrnoException;
  if (e.code && e.syscall && /^E[A-Z]+$/.test(e.code)) {
    const what = SYSTEM_ERRORS[e.code] ?? `system error ${e.code}`;
    const path = e.path ? ` '${e.path}'` : '';
    const syscall = e.syscall.replace(/^spawn.*/, 'run');
    return `cannot ${syscall}${path}: ${what} (${e.code}).`;
  }
  return e.message.split('\n')[0]!;
}

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
    throw new UsageError(
      `${command}: ${parseErrorText(error, argv, Object.keys(options))} (see 'org-ca ${command} --help')`,
    );
  }
}

/** The first line of node:util's parse error, with what a newcomer needs next: the flag they meant, or how to pass text. */
function parseErrorText(error: unknown, argv: readonly string[], known: readonly string[]): string {
  const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const flag = /^(?:Unknown option|Option) '(--?[^' =]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag?.startsWith('--')) {
    return `${message}.${didYouMean(
      flag,
      known.map((name) => `--${name}`),
    )}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) {
    // `--ca "$PEM"`: the text starts with dashes (-----BEGIN), which parseArgs calls ambiguous.
    const value = argv[argv.indexOf(flag) + 1];
    if (value?.startsWith('-----BEGIN'))
      return `${flag} takes a path, not the certificate text: use '${flag} -' and pipe the text in (e.g., printf '%s' "$PEM" | org-ca … ${flag} -)`;
  }
  return message;
}

export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const head = end === -1 ? argv : argv.slice(0, end);
  return head.includes('--help') || head.includes('-h');
}
