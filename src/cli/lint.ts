import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { readCaCertificates } from '../ca/load.js';
import { parseFingerprint } from '../ca/validate.js';
import { ContextError, readBuildContext, type OrgCa } from '../lint/context.js';
import { lintDockerfile, LintError } from '../lint/lint.js';
import { renderLintSarif, renderLintText } from '../lint/lint-report.js';
import { RULES } from '../lint/rules.js';
import { CA_FLAG_NAMES, caArgument } from './ca-options.js';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command-kit.js';
import { present } from '../lang/present.js';

const HELP = `Usage: org-ca lint DOCKERFILE [--target STAGE] [--context DIR [--ca FILE | --fingerprint SHA256]] [--ignore RULE]... [--format text|json|sarif]

Before building: models what each stage's file system holds, stage by stage, and reports what would put an org CA
into the release image (the target's FROM chain plus exactly what its COPY --from bring). Findings in other stages
are information: they matter only for a pushed build cache. Exit 1 when the release image would hold a CA.

With --context, the build context is read as docker build sends it (.dockerignore honoured) and every certificate
file that COPY/ADD bring is parsed: only CA certificates count, or with --ca/--fingerprint only the org CA's family.

Options:
  --target STAGE        the release stage (default: the last one)
  --context DIR         the build context to read (docker build's last argument)
  --ca FILE             the org CA (PEM, DER or .p7b; - reads standard input): with --context, only its family counts
  --fingerprint SHA256  the org CA's SHA-256 fingerprint instead of --ca (repeatable)
  --ignore RULE         ignore a rule by id or name (repeatable, or comma-separated)
  --format FORMAT       text (default), json or sarif
  --json                the same as --format json
  -h, --help            this help

Inline: '# org-ca ignore=RULE reason' on the line above an instruction ignores RULE there.
Rules: ${RULES.map((r) => `${r.id} ${r.name}`).join(', ')}

Exit status: 0 nothing would leak into the release image; 1 a finding; 2 usage or input error (an unreadable
Dockerfile, no FROM, an unknown --target, a bad --context).`;

export const lintCommand: Command = {
  name: 'lint',
  summary: 'report Dockerfile instructions that would put the org CA into the release image',
  help: HELP,
  run(argv) {
    const { values, positionals } = parseCommandArgs(
      'lint',
      argv,
      {
        target: { type: 'string' },
        context: { type: 'string' },
        ca: { type: 'string' },
        fingerprint: { type: 'string', multiple: true },
        ignore: { type: 'string', multiple: true },
        format: { type: 'string' },
        json: { type: 'boolean' },
      },
      true,
    );
    if (positionals.length !== 1)
      throw new UsageError("lint: expected exactly one DOCKERFILE (see 'org-ca lint --help')");
    const format = values.json ? 'json' : (values.format ?? 'text');
    if (!['text', 'json', 'sarif'].includes(format))
      throw new UsageError(`lint: --format '${format}' is not a format: expected text, json or sarif`);
    if ((values.ca || values.fingerprint?.length) && !values.context)
      throw new UsageError(
        'lint: --ca and --fingerprint choose which certificates of the build context count: expected --context DIR with them',
      );
    const file = positionals[0]!;
    let content: string;
    try {
      content = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(
        `lint: '${file}' could not be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}): expected a Dockerfile.`,
      );
    }
    let org: OrgCa | undefined;
    if (values.ca || values.fingerprint?.length) {
      org = {
        certs: values.ca ? readCaCertificates(caArgument(values.ca), CA_FLAG_NAMES) : [],
        fingerprints: (values.fingerprint ?? [])
          .flatMap((f) => f.split(/[\s,]+/))
          .filter(Boolean)
          .map((f) => parseFingerprint(f, '--fingerprint')),
      };
    }
    let context;
    try {
      context = values.context
        ? readBuildContext(values.context, { dockerfile: file, ...present({ org }) })
        : undefined;
    } catch (error) {
      if (error instanceof ContextError) throw new UsageError(`lint: --context: ${error.message}`);
      throw error;
    }
    let result;
    try {
      result = lintDockerfile(content, {
        ...present({ target: values.target, context }),
        ignore: values.ignore ?? [],
      });
    } catch (error) {
      // The Dockerfile or --target is wrong: an input error, not a finding.
      if (error instanceof LintError) throw new UsageError(`lint: ${error.message}`);
      throw error;
    }
    const out =
      format === 'json'
        ? JSON.stringify({ file, ...present({ context: values.context }), ...result }, null, 2)
        : format === 'sarif'
          ? JSON.stringify(renderLintSarif(file, result), null, 2)
          : renderLintText(file, result);
    process.stdout.write(`${out}\n`);
    return Promise.resolve(result.failed ? EXIT.failed : EXIT.ok);
  },
};

/** The context a Dockerfile is built with when none is named: its own directory, as the sub-action assumes. */
export function defaultContext(dockerfile: string): string {
  return dirname(dockerfile) || '.';
}
