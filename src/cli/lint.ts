import { readFileSync } from 'node:fs';
import { LintError, lintDockerfile, renderLintText } from '../leak/lint.js';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command-kit.js';

const HELP = `Usage: org-ca lint DOCKERFILE [--target STAGE] [--json]

Before building: finds the stages that reach the release target (FROM chain, COPY --from, RUN --mount from=) and
flags what would put the org CA into the image: COPY/ADD of CA files, ARGs carrying a CA into RUN (recorded in
history), ENV of CA variables, trust store updates (update-ca-certificates, update-ca-trust, keytool -importcert),
and secret mounts copied to disk.

Options:
  --target STAGE   the release stage (default: the last one)
  --json           print the result as JSON
  -h, --help       this help

Exit status: 0 nothing would leak; 1 a finding; 2 usage or input error (an unreadable Dockerfile, no FROM, an
unknown --target).`;

export const lintCommand: Command = {
  name: 'lint',
  summary: 'flag Dockerfile instructions that would put the org CA into the image',
  help: HELP,
  run(argv) {
    const { values, positionals } = parseCommandArgs('lint', argv, { target: { type: 'string' }, json: { type: 'boolean' } }, true);
    if (positionals.length !== 1) throw new UsageError("lint: expected exactly one DOCKERFILE (see 'org-ca lint --help')");
    const file = positionals[0]!;
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`lint: '${file}' could not be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}): expected a Dockerfile.`);
    }
    let result: ReturnType<typeof lintDockerfile>;
    try {
      result = lintDockerfile(content, values.target);
    } catch (error) {
      // The Dockerfile or --target is wrong: an input error, not a finding.
      if (error instanceof LintError) throw new UsageError(`lint: ${error.message}`);
      throw error;
    }
    process.stdout.write((values.json ? JSON.stringify(result, null, 2) : renderLintText(file, result)) + '\n');
    return Promise.resolve(result.findings.length ? EXIT.failed : EXIT.ok);
  },
};
