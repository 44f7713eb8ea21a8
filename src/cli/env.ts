import { homedir } from 'node:os';
import { join } from 'node:path';
import { oneOf } from '../options/parse.js';
import { CA_OPTIONS, CA_OPTIONS_HELP, injectForCli, readCaOptions } from './ca-options.js';
import { EXIT, parseCommandArgs, type Command } from './command-kit.js';
import { ENV_FORMATS, formatVariables, type EnvFormat } from './shell-format.js';

const HELP = `Usage: org-ca env --ca FILE [--format sh|powershell|dotenv|github] [options]

Prints the variables that make every common tool trust the org CA, for your own shell:
  eval "$(org-ca env --ca ~/org-root.pem)"

The CA file, the combined bundle and the Java truststore are written to --dir
(default: $XDG_CACHE_HOME/org-ca/<fingerprint>), since the variables point at them.

Options:
${CA_OPTIONS_HELP}
  --format FORMAT            sh (default), powershell, dotenv, github (for $GITHUB_ENV)
  --dir DIR                  where to write the files
  -h, --help                 this help

Exit status: 0 printed; 1 TLS verification is switched off here (see --on-verification-off); 2 usage or input error
(a bad option, a CA file that is missing, no certificate or no CA).`;

export const envCommand: Command = {
  name: 'env',
  summary: 'print the per-tool CA variables for a shell (sh, powershell, dotenv, github)',
  help: HELP,
  async run(argv) {
    const { values } = parseCommandArgs('env', argv, { ...CA_OPTIONS, format: { type: 'string' }, dir: { type: 'string' } });
    const format: EnvFormat = oneOf('--format', values.format ?? '', ENV_FORMATS, 'sh');
    const options = readCaOptions('env', values);
    const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
    const dir = values.dir ?? join(cache, 'org-ca', options.ca.primary.fingerprint.slice(0, 16));
    const injection = await injectForCli(options, dir);
    for (const line of [...options.ca.warnings, ...injection.warnings, ...injection.plan.notes]) process.stderr.write(`org-ca env: ${line}\n`);
    process.stdout.write(formatVariables(injection.plan.variables, format));
    return EXIT.ok;
  },
};
