import { COMMANDS } from './command-list.js';
import { describeError, EXIT, exitCodeFor, wantsHelp, type Command } from './command-kit.js';
import { VERSION } from '../runtime/version.js';
import { didYouMean } from '../options/suggest.js';
import { logLine } from '../output/log-line.js';

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'org-ca: trust the org TLS-inspection CA where inspection happens, and never ship it.',
    '',
    'Usage: org-ca <command> [options]',
    '       org-ca help <command>      (the same as org-ca <command> --help)',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'org-ca <command> --help' for a command's options.",
    "Exit codes: 0 fine, 1 found or failed, 2 usage or input error; exec: 126 cannot run, 127 not found, else the command's own.",
  ].join('\n');
}

function find(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

function unknown(name: string): number {
  const names = COMMANDS.map((c) => c.name);
  process.stderr.write(
    `org-ca: unknown command '${name}'.${didYouMean(name, names)} Expected one of: ${names.join(', ')}.\n`,
  );
  return EXIT.usage;
}

/** Runs the CLI; returns the exit code. Errors become one line on stderr, never a stack trace. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`${overview()}\n`);
    return EXIT.usage;
  }
  if (name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    process.stdout.write(`${overview()}\n`);
    return EXIT.ok;
  }
  if (name === 'help') {
    // `org-ca help env` = `org-ca env --help`.
    const command = find(rest[0]!);
    if (!command) return unknown(rest[0]!);
    process.stdout.write(`${command.help}\n`);
    return EXIT.ok;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${VERSION}\n`);
    return EXIT.ok;
  }
  const command = find(name);
  if (!command) return unknown(name);
  if (wantsHelp(rest)) {
    process.stdout.write(`${command.help}\n`);
    return EXIT.ok;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    // An error may quote what a proxy, a registry or an image said: one printable line.
    const message = logLine(describeError(error));
    process.stderr.write(
      `org-ca ${command.name}: ${message.replace(/^\S+: /, (m) => (m === `${command.name}: ` ? '' : m))}\n`,
    );
    return exitCodeFor(error);
  }
}
