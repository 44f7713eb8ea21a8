import { readFileSync, writeFileSync } from 'node:fs';
import { checkImage } from '../leak/check.js';
import { dockerSave } from '../leak/docker.js';
import { failed, renderSarif, renderText } from '../leak/report.js';
import { loadTargets } from '../leak/targets.js';
import { EXIT_FAILURE, EXIT_OK, parseCommandArgs, UsageError, type Command } from './command.js';

const HELP = `Usage: org-ca leak-check IMAGE (--ca FILE | --fingerprint SHA256...) [--json] [--sarif FILE] [--report FILE]

Fails (exit 1) when the org CA is anywhere in a release image: every layer (also files deleted by later layers),
the image config (Env, Labels, Entrypoint, Cmd, history) and attestations; or when a part cannot be read.

IMAGE is one of:
  a docker save archive (legacy or Docker 25+ layout)   image.tar, docker-archive:image.tar
  an OCI archive or layout directory                    oci-archive:image.tar, oci:dir, dir
  a root file system directory                          ./rootfs
  a local Docker image (saved with docker save)         myapp:1.2
  an image in a registry (HTTPS_PROXY honoured)         registry:ghcr.io/org/app:1.2, docker://HOST/REPO@sha256:…

Options:
  --ca FILE               the CA: PEM, DER, base64 or .p7b; - reads standard input
  --fingerprint SHA256    its SHA-256 instead (or as well); repeatable, or comma-separated
  --json                  print the report as JSON on standard output
  --sarif FILE            write SARIF 2.1.0 (for github/codeql-action/upload-sarif)
  --report FILE           write the JSON report to FILE
  --parallel N            layers scanned at once (default: the number of CPUs)
  --username USER         registry user (default: from the docker config / credential helper)
  --password-stdin        read the registry password or token from standard input
  --platform OS/ARCH      check only this platform of a registry index (default: every platform)
  -h, --help              this help`;

export const leakCheckCommand: Command = {
  name: 'leak-check',
  summary: 'fail when the org CA is anywhere in a release image',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'leak-check',
      argv,
      {
        ca: { type: 'string' },
        fingerprint: { type: 'string', multiple: true },
        json: { type: 'boolean' },
        sarif: { type: 'string' },
        report: { type: 'string' },
        parallel: { type: 'string' },
        username: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        platform: { type: 'string' },
      },
      true,
    );
    if (positionals.length !== 1) throw new UsageError("leak-check: expected exactly one IMAGE (see 'org-ca leak-check --help')");
    const parallel = values.parallel === undefined ? undefined : Number(values.parallel);
    if (parallel !== undefined && !(Number.isInteger(parallel) && parallel >= 1)) throw new UsageError(`leak-check: --parallel '${values.parallel}' is not a positive integer`);
    if (values['password-stdin'] && values.ca === '-') throw new UsageError('leak-check: --password-stdin and --ca - cannot both read standard input');
    if (values['password-stdin'] && !values.username) throw new UsageError('leak-check: --password-stdin needs --username');
    const password = values['password-stdin'] ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : undefined;
    const credentials = values.username !== undefined && password !== undefined ? { username: values.username, password } : undefined;
    const ca = values.ca === '-' ? { ca: readFileSync(0, 'utf8') } : values.ca ? { caFile: values.ca } : {};
    const spec = loadTargets({ ...ca, fingerprints: values.fingerprint ?? [] }, { ca: '--ca -', caFile: '--ca', fingerprint: '--fingerprint' });
    const registry = { ...(credentials ? { credentials } : {}), ...(values.platform ? { platform: values.platform } : {}) };
    const report = await checkImage({ image: positionals[0]!, spec, dockerSave, registry, ...(parallel ? { parallel } : {}) });
    if (values.sarif) writeFileSync(values.sarif, JSON.stringify(renderSarif(report), null, 2) + '\n');
    if (values.report) writeFileSync(values.report, JSON.stringify(report, null, 2) + '\n');
    if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    else process.stdout.write(renderText(report) + '\n');
    return failed(report) ? EXIT_FAILURE : EXIT_OK;
  },
};
