import { spawn } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { makeTempDirectory } from '../fs/ensure-directory.js';
import { CA_OR_OS_STORE_HELP, CA_OR_OS_STORE_OPTIONS, readCaOptionsOrOsStore, trustForCli } from './ca-options.js';
import { logLine } from '../output/log-line.js';
import { CommandNotRunError, EXIT, parseCommandArgs, UsageError, type Command } from './command-kit.js';

const HELP = `Usage: org-ca exec --ca FILE [options] -- COMMAND [ARGS...]

Runs one command with every common tool trusting the org CA, then removes the files it wrote,
whatever the command's outcome.

Options:
${CA_OR_OS_STORE_HELP}
  --if-present               run the command unchanged when the --ca file is absent or empty (a BuildKit secret
                             mounted with required=false where nothing inspects)
  -h, --help                 this help

Exit status: the command's own (128+N when killed by signal N); 127 when it is not found, 126 when it cannot be
run (not executable, a directory); 1 when TLS verification is switched off here; 2 usage or input error.`;

const EXEC_OPTIONS = { ...CA_OR_OS_STORE_OPTIONS, 'if-present': { type: 'boolean' } } as const;
const FLAGS_WITH_VALUE = new Set(
  Object.entries(EXEC_OPTIONS).flatMap(([name, option]) => (option.type === 'string' ? [`--${name}`] : [])),
);

/** True when --ca names a file that is missing or empty: the in-build "no inspection here" case. */
function caAbsent(path: string | undefined): boolean {
  if (!path || path === '-') return false;
  try {
    return statSync(path).size === 0;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** A command that could not be started, in sh's terms: 127 not found, 126 found but not runnable. */
function notRun(command: string, error: NodeJS.ErrnoException): Error {
  if (error.code === 'ENOENT') return new CommandNotRunError(`command not found: '${command}'`, EXIT.notFound);
  if (error.code === 'EACCES' || error.code === 'EISDIR' || error.code === 'ENOEXEC' || error.code === 'EPERM') {
    return new CommandNotRunError(`cannot run '${command}': not an executable file (${error.code})`, EXIT.cannotRun);
  }
  return new CommandNotRunError(
    `cannot run '${command}': the system refused to start it (${error.code ?? 'unknown error'})`,
    EXIT.cannotRun,
  );
}

/** Runs argv with env added; resolves to the exit status in shell convention. Signals to us go on to the child. */
function runChild(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const signal of signals) process.on(signal, forward);
    const done = (): void => {
      for (const signal of signals) process.off(signal, forward);
    };
    child.on('error', (error: NodeJS.ErrnoException) => {
      done();
      reject(notRun(argv[0]!, error));
    });
    child.on('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
}

export const execCommand: Command = {
  name: 'exec',
  summary: 'run one command with the org CA trusted, then clean up',
  help: HELP,
  async run(argv) {
    const split = argv.indexOf('--');
    const own = split === -1 ? argv : argv.slice(0, split);
    const commandLine = split === -1 ? [] : argv.slice(split + 1);
    if (split === -1) {
      // Without `--`, the command's own words read as exec's: say where the command goes instead of "unexpected argument".
      const firstWord = own.find((word, i) => !word.startsWith('-') && !(i > 0 && FLAGS_WITH_VALUE.has(own[i - 1]!)));
      if (firstWord !== undefined)
        throw new UsageError(
          `exec: '${firstWord}' looks like the command to run: put '--' before it (org-ca exec --ca FILE -- ${firstWord} …)`,
        );
    }
    const { values } = parseCommandArgs('exec', own, EXEC_OPTIONS);
    if (commandLine.length === 0)
      throw new UsageError("exec: no command given: expected 'org-ca exec --ca FILE -- COMMAND [ARGS...]'");
    if (values['if-present'] && caAbsent(values.ca)) return await runChild(commandLine, process.env);
    const options = await readCaOptionsOrOsStore('exec', values, (line) =>
      process.stderr.write(`org-ca exec: ${logLine(line)}\n`),
    );

    const dir = await makeTempDirectory(tmpdir(), 'org-ca-exec-', { purpose: 'TMPDIR' });
    try {
      const { native, injection, variables } = await trustForCli(options, dir, 'TMPDIR');
      const lines = [
        ...options.ca.warnings,
        ...(injection?.warnings ?? []),
        ...(native.fallback ? [native.fallback] : []),
      ];
      for (const line of lines) process.stderr.write(`org-ca exec: ${line}\n`);
      const env: NodeJS.ProcessEnv = { ...process.env };
      for (const variable of variables) env[variable.name] = variable.value;
      return await runChild(commandLine, env);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
