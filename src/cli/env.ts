import { homedir } from 'node:os';
import { join } from 'node:path';
import { oneOf } from '../options/parse.js';
import { CA_OR_OS_STORE_HELP, CA_OR_OS_STORE_OPTIONS, readCaOptionsOrOsStore, trustForCli } from './ca-options.js';
import { logLine } from '../output/log-line.js';
import { EXIT, parseCommandArgs, type Command } from './command-kit.js';
import { ENV_FORMATS, formatVariables, type EnvFormat } from '../env-formats/format.js';

const HELP = `Usage: org-ca env --ca FILE [--format FORMAT] [options]

Prints the variables that make every common tool trust the org CA, for your own shell:
  eval "$(org-ca env --ca ~/org-root.pem)"

The CA file, the combined bundle and the Java truststore are written to --dir
(default: $XDG_CACHE_HOME/org-ca/<fingerprint>), since the variables point at them.

Options:
${CA_OR_OS_STORE_HELP}
  --format FORMAT            sh (default), powershell, dotenv, github (for $GITHUB_ENV),
                             gitlab (dotenv report), azure (##vso setvariable), buildkite (environment hook),
                             circleci ($BASH_ENV), jenkins (properties for readProperties + withEnv)
  --dir DIR                  where to write the files
  -h, --help                 this help

Exit status: 0 printed; 1 TLS verification is switched off here (see --on-verification-off); 2 usage or input error
(a bad option, a CA file that is missing, no certificate or no CA).`;

export const envCommand: Command = {
  name: 'env',
  summary: 'print the per-tool CA variables for a shell or a CI system (sh, github, gitlab, azure, jenkins, …)',
  help: HELP,
  async run(argv) {
    const { values } = parseCommandArgs('env', argv, {
      ...CA_OR_OS_STORE_OPTIONS,
      format: { type: 'string' },
      dir: { type: 'string' },
    });
    const format: EnvFormat = oneOf('--format', values.format ?? '', ENV_FORMATS, 'sh');
    const options = await readCaOptionsOrOsStore('env', values, (line) =>
      process.stderr.write(`org-ca env: ${logLine(line)}\n`),
    );
    const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
    const dir = values.dir ?? join(cache, 'org-ca', options.ca.primary.fingerprint.slice(0, 16));
    const { native, injection, variables } = await trustForCli(options, dir);
    const notes = [
      ...options.ca.warnings,
      ...(injection ? [...injection.warnings, ...injection.plan.notes] : []),
      ...native.notes,
    ];
    for (const line of notes) process.stderr.write(`org-ca env: ${line}\n`);
    process.stdout.write(formatVariables(variables, format, (line) => process.stderr.write(`org-ca env: ${line}\n`)));
    return EXIT.ok;
  },
};
