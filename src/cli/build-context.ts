import { join, resolve } from 'node:path';
import { prepareBuildContext } from '../in-build/context.js';
import { buildOutputs } from '../in-build/outputs.js';
import { shellQuote } from '../output/shell-quote.js';
import { ensureDirectory } from '../fs/ensure-directory.js';
import { DEFAULT_REGISTRIES } from '../registry-trust/hosts.js';
import { kanikoFlags } from '../registry-trust/builders.js';
import { CA_OPTIONS, CA_OPTIONS_HELP, injectForCli, readCaOptions } from './ca-options.js';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command-kit.js';
import { oneOf } from '../options/parse.js';

const FLAG_SETS = ['docker', 'kaniko'] as const;

const HELP = `Usage: org-ca build-context --dir DIR [--ca FILE] [--json | --flags docker|kaniko]

Writes what an image build needs to get the org CA without shipping it, for CI systems other than GitHub Actions
(GitLab, Jenkins, Buildkite…) and for laptops: the same files the action's build outputs point at.
  DIR/org-ca-build-context/with-org-ca   the in-build helper, passed as the named build context 'org-ca'
  DIR/ca.pem, DIR/ca-bundle.pem          with --ca: the CA alone and the combined bundle, passed as the build
                                         secrets 'org_ca' and 'org_ca_bundle' (never as build args)
Then prints the flags to use:
  docker build / docker buildx build    --secret id=org_ca,src=… --build-context org-ca=… --build-arg HTTPS_PROXY…
  buildah bud                           the same flags
  kaniko                                --registry-certificate flags for base-image pulls (kaniko has no secret
                                        mounts: run the build steps that need the CA with org-ca exec instead)
In the Dockerfile: RUN --mount=type=secret,id=org_ca,required=false --mount=type=bind,from=org-ca,target=/org-ca \\
  /org-ca/with-org-ca npm ci
Without --ca the helper runs commands unchanged (no inspection here), so one Dockerfile serves both.

Options:
  --dir DIR                  where to write (created if missing)
${CA_OPTIONS_HELP}
  --json                     print the paths and flags as JSON
  --flags docker|kaniko      print only those flags, shell-quoted, on one line: for
                             eval "docker build $(org-ca build-context --dir DIR --ca FILE --flags docker) ."
  -h, --help                 this help

Exit status: 0 written; 1 TLS verification is switched off here (see --on-verification-off); 2 usage or input error
(no --dir, a CA file that is missing, no certificate or no CA, a directory that cannot be made).`;

export const buildContextCommand: Command = {
  name: 'build-context',
  summary: 'write the in-build helper and CA secret files for docker build, buildah or kaniko in any CI',
  help: HELP,
  async run(argv) {
    const { values } = parseCommandArgs('build-context', argv, {
      ...CA_OPTIONS,
      dir: { type: 'string' },
      json: { type: 'boolean' },
      flags: { type: 'string' },
    });
    const flagsOnly = values.flags === undefined ? undefined : oneOf('--flags', values.flags, FLAG_SETS, 'docker');
    if (flagsOnly && values.json) throw new UsageError('build-context: give --flags or --json, not both');
    if (!values.dir) throw new UsageError("build-context: --dir DIR is required (see 'org-ca build-context --help')");
    const dir = await ensureDirectory(resolve(values.dir), { purpose: '--dir' });
    const helperDir = await prepareBuildContext(dir);
    const injection = values.ca ? await injectForCli(readCaOptions('build-context', values), dir) : undefined;
    const files = injection ? { caPath: injection.plan.files.ca, bundlePath: injection.plan.files.bundle } : {};
    const outputs = buildOutputs({ helperDir, ...files, env: process.env });
    for (const line of [...(injection?.warnings ?? []), ...outputs.skipped])
      process.stderr.write(`org-ca build-context: ${line}\n`);
    const kaniko = files.caPath ? kanikoFlags(DEFAULT_REGISTRIES, files.caPath, shellQuote) : '';
    if (flagsOnly) {
      // For `eval "docker build $(org-ca build-context … --flags docker) …"`: one line, each word shell-quoted.
      process.stdout.write(`${flagsOnly === 'docker' ? outputs.dockerFlags : kaniko}\n`);
      return EXIT.ok;
    }
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ helperDir, ...files, secretFiles: outputs.secretFiles, buildContexts: outputs.buildContexts, dockerFlags: outputs.dockerFlags, kanikoFlags: kaniko }, null, 2)}\n`,
      );
      return EXIT.ok;
    }
    const lines = [
      `helper: ${join(helperDir, 'with-org-ca')}`,
      ...(files.caPath
        ? [`ca: ${files.caPath}`, `bundle: ${files.bundlePath}`]
        : ['no --ca: the helper runs commands unchanged']),
      `docker build / buildah bud flags: ${outputs.dockerFlags}`,
      ...(kaniko ? [`kaniko flags (base-image pulls): ${kaniko}`] : []),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return EXIT.ok;
  },
};
