/**
 * The file-command sink: GITHUB_ENV, GITHUB_OUTPUT and the env files org-ca writes in their syntax (the github
 * format of `org-ca env`, the runner hook's GITHUB_ENV). A value goes in as `NAME<<DELIMITER`, a random delimiter per
 * value as the Actions toolkit does (a fixed one, known to anyone, lets a value that contains it add variables of its
 * own). A name that is not a variable name, or a value holding its delimiter, is refused. Pure but for the random.
 */
import { randomUUID } from 'node:crypto';

export class FileCommandError extends Error {
  override readonly name = 'FileCommandError';
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** One `NAME<<DELIMITER\nvalue\nDELIMITER\n` entry. */
export function fileCommandEntry(
  name: string,
  value: string,
  delimiter: string = `ghadelimiter_${randomUUID()}`,
): string {
  if (!NAME.test(name))
    throw new FileCommandError(
      `'${name.slice(0, 80)}' is not a variable name: expected letters, digits and underscores, not starting with a digit.`,
    );
  if (value.includes(delimiter) || name.includes(delimiter))
    throw new FileCommandError(`the value of ${name} contains its delimiter: refusing to write it.`);
  return `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
}
