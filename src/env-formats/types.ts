import { logLine } from '../output/log-line.js';
import { redactJvmOptions, redactUrlUserinfo } from '../output/redact.js';

/** One variable as a CI system receives it: names are registry variable names, values paths and JVM options. */
export interface CiVariable {
  readonly name: string;
  readonly value: string;
}

/** A value the format cannot carry: the message quotes the variable and says what the format allows. */
export class FormatError extends Error {
  override readonly name = 'FormatError';
}

export interface CiFormat {
  /** The `--format` value. */
  readonly id: string;
  /** Who reads the output, for --help and docs/other-ci.md. */
  readonly consumer: string;
  /** The documented rules the renderer follows. */
  readonly sources: readonly string[];
  /** Renders every variable, or throws FormatError naming the first one the format cannot carry. */
  render(variables: readonly CiVariable[]): string;
  /** Limits of the consumer that are not errors here (instance-configurable): one line each, for stderr. */
  warnings?(variables: readonly CiVariable[], rendered: string): string[];
}

/** Quotes a value for an error message on one line (values are paths and options, never certificate content). */
export function shown(value: string): string {
  // A refused value is quoted in the message: never with a password in it (JVM options, proxy URLs).
  return `'${logLine(redactJvmOptions(redactUrlUserinfo(value)))}'`;
}
