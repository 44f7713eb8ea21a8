import { COMMANDS } from './commands.js';
import { EXIT_FAILURE, EXIT_USAGE, UsageError, wantsHelp } from './command.js';

const VERSION = '0.1.0';

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'org-ca: trust the org TLS-inspection CA where inspection happens, and never ship it.',
    '',
    'Usage: org-ca <command> [options]',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'org-ca <command> --help' for a command's options. Exit codes: 0 success, 1 failure, 2 usage error.",
  ].join('\n');
}

/** Runs the CLI; returns the exit code. Errors become one line on stderr, never a stack trace. */
export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write(`${overview()}\n`);
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${overview()}\n`);
    return 0;
  }
  if (name === '--version' || name === '-V') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`org-ca: unknown command '${name}'. Expected one of: ${COMMANDS.map((c) => c.name).join(', ')}.\n`);
    return EXIT_USAGE;
  }
  if (wantsHelp(rest)) {
    process.stdout.write(`${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`org-ca ${command.name}: ${message.replace(/^\S+: /, (m) => (m === `${command.name}: ` ? '' : m))}\n`);
    return error instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE;
  }
}
