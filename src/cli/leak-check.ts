import { readFileSync, writeFileSync } from 'node:fs';
import { checkImage } from '../leak/check.js';
import { checkImages } from '../leak/sweep.js';
import { isRepositoryReference } from '../leak/sources/registry/reference.js';
import { dockerSave } from '../leak/sources/docker.js';
import {
  failed,
  failureReport,
  renderSarif,
  renderSweepSarif,
  renderSweepText,
  renderText,
  safeMessage,
} from '../leak/reporting/report.js';
import { DEFAULT_LIMITS, type Report, type TargetSpec } from '../leak/types.js';
import { AttestationError, leakCheckStatement } from '../leak/reporting/attestation.js';
import { VERSION } from '../runtime/version.js';
import { describeDefault, LIMIT_OPTIONS, parseLimits } from '../leak/scanning/limits.js';
import { loadTargets } from '../leak/scanning/targets.js';
import { CA_FLAG_NAMES } from './ca-options.js';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command-kit.js';
import { present } from '../lang/present.js';
import { parseShard, parseShardCount, shardMatrix } from '../leak/fanout/shares.js';
import { checkShard, renderShardText, serializeShardReport } from '../leak/fanout/shard-report.js';

const HELP = `Usage: org-ca leak-check IMAGE... (--ca FILE | --fingerprint SHA256...) [--json] [--sarif FILE] [--report FILE]
                          [--attest FILE] [--predicate FILE] [--shard I/N|auto --report FILE]
       org-ca leak-check --plan N

Fails (exit 1) when the org CA is anywhere in a release image: every layer (also files deleted by later layers),
the image config (Env, Labels, Entrypoint, Cmd, history) and attestations; or when a part cannot be read.

IMAGE is one of (a prefix must match what is there, else the check fails and says what to write):
  a docker save archive (legacy or Docker 25+ layout)   image.tar, docker-archive:image.tar[:name:tag]
  an OCI archive                                        image.tar, oci-archive:image.tar[:tag]
  an OCI layout directory (index.json over blobs/)      out/, oci:out[:tag]
  a skopeo/buildah dir: transport directory             dir:out
  a root file system directory or tar (docker export)   rootfs:out, rootfs:fs.tar
  a local Docker image (saved with docker save)         myapp:1.2, docker-daemon:myapp:1.2
  an image in a registry (HTTPS_PROXY honoured)         registry:ghcr.io/org/app:1.2, docker://HOST/REPO@sha256:…
A directory is read as a root file system only when written rootfs:DIR. An empty directory, a layout without
index.json, or an index pointing at missing blobs fails. --json, --report and --sarif are written in every case.

Options:
  --ca FILE               the CA: PEM, DER, base64 or .p7b; - reads standard input
  --fingerprint SHA256    its SHA-256 instead (or as well); repeatable, or comma-separated
  --json                  print the report as JSON on standard output
  --sarif FILE            write SARIF 2.1.0 (for github/codeql-action/upload-sarif)
  --report FILE           write the JSON report to FILE
  --images FILE           more images, one reference a line (- reads standard input); with several images, or
                          registry:HOST/REPO with no tag (every tag of the repository), each image gets its verdict,
                          a layer they share is read once, and --json/--report give the verdicts per image and layer
  --attest FILE           write an in-toto Statement v1 about the checked manifests (by digest); not for a root file
                          system, which has no digest (docs/attestation.md)
  --predicate FILE        write its predicate alone, for actions/attest predicate-path or cosign attest --predicate
  --shard I/N             read only shard I of N of the run (I from 1): the layers in its share (by digest) and the
                          config and manifests of the images it owns; --report writes a shard report, and
                          'org-ca report merge' joins all N into the run's report (docs/leak-check.md#fan-out)
  --shard auto            the same, I and N from the CI: CI_NODE_INDEX/CI_NODE_TOTAL (GitLab), CIRCLE_NODE_*,
                          BUILDKITE_PARALLEL_JOB*, or JOB_COMPLETION_INDEX (Kubernetes: write auto/N)
  --plan N                print the shards of a run in N jobs as JSON for a GitHub Actions strategy.matrix
  --cache-dir DIR         a layer-verdict cache: a layer judged before (same digest, CA and limits) is not read
                          again; trust only a cache your own branch wrote (docs/leak-check.md#layer-cache)
  --no-cache              read every layer, even with --cache-dir (or ORG_CA_CACHE_DIR) set
  --parallel N            worker threads for layers and big archives (default: the number of CPUs)
  --username USER         registry user (default: from the docker config / credential helper)
  --password-stdin        read the registry password or token from standard input
  --platform OS/ARCH      check only this platform of a registry index (default: every platform)
  --max-registry-requests N  bound on the manifest and referrer requests to a registry (default 1024; over it the
                          check fails: a registry that keeps naming more manifests is never read forever)
  --strict                fail when a file inside the image could not be looked inside (default: warn)
${LIMIT_OPTIONS.map((o) => `  --${`${o.name} ${o.kind === 'bytes' ? 'SIZE' : 'N'}`.padEnd(28)} ${o.help} (default ${describeDefault(o.name)})`).join('\n')}
  -h, --help              this help

Inside the image, files that hold other files are opened and searched too, recursively: zip and its family (jar,
war, ear, whl, egg, nupkg, apk, vsix), tar, .deb (ar), rpm and cpio, gzip, bzip2, xz, zstd, zlib (git objects) and
brotli (.br) files, git packs, and base64 in text that holds such files (Helm releases). A finding
inside one names the whole path (/app/app.jar!/BOOT-INF/lib/x.jar!/truststore.jks). SIZE takes K, M, G, T (1024).

Exit status: 0 the CA is nowhere in the image; 1 a leak was found or a part could not be read (never counted
clean); 2 usage or input error (no --ca/--fingerprint, a bad fingerprint, a CA file that holds no certificate).`;

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
        attest: { type: 'string' },
        predicate: { type: 'string' },
        'cache-dir': { type: 'string' },
        images: { type: 'string' },
        'no-cache': { type: 'boolean' },
        parallel: { type: 'string' },
        strict: { type: 'boolean' },
        ...Object.fromEntries(LIMIT_OPTIONS.map((o) => [o.name, { type: 'string' as const }])),
        username: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        platform: { type: 'string' },
        'max-registry-requests': { type: 'string' },
        shard: { type: 'string' },
        plan: { type: 'string' },
      },
      true,
    );
    if (values.plan !== undefined) {
      const others = Object.keys(values).filter((k) => k !== 'plan');
      if (positionals.length || others.length)
        throw new UsageError(
          `leak-check: --plan N takes nothing else (got ${[...positionals, ...others.map((o) => `--${o}`)].join(' ')})`,
        );
      process.stdout.write(JSON.stringify(shardMatrix(parseShardCount(values.plan))) + '\n');
      return EXIT.ok;
    }
    const images = [...positionals, ...(values.images !== undefined ? readImageList(values.images) : [])];
    if (images.length === 0)
      throw new UsageError("leak-check: expected an IMAGE (or --images FILE; see 'org-ca leak-check --help')");
    const parallel = values.parallel === undefined ? undefined : Number(values.parallel);
    if (parallel !== undefined && !(Number.isInteger(parallel) && parallel >= 1))
      throw new UsageError(`leak-check: --parallel '${values.parallel}' is not a positive integer`);
    if (!values.ca && !values.fingerprint?.length) {
      throw new UsageError(
        "leak-check: nothing to look for: give --ca FILE (the CA) or --fingerprint SHA256 (see 'org-ca leak-check --help')",
      );
    }
    let limits;
    try {
      limits = parseLimits((name) => (values as Record<string, unknown>)[name] as string | undefined, '--');
    } catch (error) {
      throw new UsageError(`leak-check: ${(error as Error).message}`);
    }
    const strict = values.strict === true;
    if (values['password-stdin'] && values.ca === '-')
      throw new UsageError('leak-check: --password-stdin and --ca - cannot both read standard input');
    if (values['password-stdin'] && !values.username)
      throw new UsageError('leak-check: --password-stdin needs --username');
    const password = values['password-stdin'] ? readFileSync(0, 'utf8').replace(/\r?\n$/, '') : undefined;
    const credentials =
      values.username !== undefined && password !== undefined ? { username: values.username, password } : undefined;
    const maxRequests = values['max-registry-requests'];
    if (maxRequests !== undefined && !/^[1-9]\d{0,6}$/.test(maxRequests))
      throw new UsageError(
        `leak-check: --max-registry-requests '${maxRequests}' is not a whole number from 1 to 9999999`,
      );
    const registry = {
      ...present({
        credentials,
        platform: values.platform,
        maxRequests: maxRequests ? Number(maxRequests) : undefined,
      }),
    };
    const readSpec = (): TargetSpec => {
      const ca = values.ca === '-' ? { ca: readFileSync(0, 'utf8') } : values.ca ? { caFile: values.ca } : {};
      return loadTargets({ ...ca, fingerprints: values.fingerprint ?? [] }, CA_FLAG_NAMES);
    };
    const cacheDir = values['no-cache'] ? undefined : values['cache-dir'] || process.env.ORG_CA_CACHE_DIR || undefined;
    if (values.shard !== undefined) {
      const shard = parseShard(values.shard, process.env);
      if (values.sarif !== undefined || values.attest !== undefined || values.predicate !== undefined)
        throw new UsageError(
          "leak-check: --shard writes a shard report; --sarif, --attest and --predicate belong to 'org-ca report merge'",
        );
      if (values.report === undefined && !values.json)
        throw new UsageError("leak-check: --shard needs --report FILE (or --json): 'org-ca report merge' reads it");
      const sharded = await checkShard(
        images,
        { spec: readSpec(), dockerSave, limits, registry, ...present({ parallel, cacheDir }) },
        strict,
        shard,
      );
      const text = serializeShardReport(sharded);
      if (values.report) writeFileSync(values.report, text);
      process.stdout.write(values.json ? text : renderShardText(sharded) + '\n');
      return sharded.verdict === 'clean' ? EXIT.ok : EXIT.failed;
    }
    if (images.length > 1 || isRepositoryReference(images[0]!)) {
      if (values.attest !== undefined || values.predicate !== undefined)
        throw new UsageError('leak-check: --attest and --predicate name one image: check the images one at a time');
      const spec = readSpec();
      const sweep = await checkImages(
        images,
        { spec, dockerSave, limits, registry, ...present({ parallel, cacheDir }) },
        strict,
      );
      if (values.sarif) writeFileSync(values.sarif, JSON.stringify(renderSweepSarif(sweep, strict), null, 2) + '\n');
      if (values.report) writeFileSync(values.report, JSON.stringify(sweep, null, 2) + '\n');
      process.stdout.write(values.json ? JSON.stringify(sweep, null, 2) + '\n' : renderSweepText(sweep, strict) + '\n');
      return sweep.images.every((i) => i.verdict === 'clean') ? EXIT.ok : EXIT.failed;
    }
    const image = images[0]!;
    let report: Report;
    let failure: Error | undefined;
    let spec: TargetSpec | undefined;
    try {
      spec = readSpec();
      report = await checkImage({ image, spec, dockerSave, limits, registry, ...present({ parallel, cacheDir }) });
    } catch (error) {
      // The same files as on success, saying why, so a pipeline's SARIF upload still gets one; then the one line,
      // with the exit code of the error itself (2 for input errors).
      failure = error instanceof Error ? error : new Error(String(error));
      report = failureReport(image, safeMessage(error));
    }
    if (values.sarif)
      writeFileSync(values.sarif, JSON.stringify(renderSarif(report, undefined, strict), null, 2) + '\n');
    if (values.report) writeFileSync(values.report, JSON.stringify(report, null, 2) + '\n');
    if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
    if (failure !== undefined) throw failure;
    if (report.error !== undefined) throw new Error(report.error);
    if (!values.json) process.stdout.write(renderText(report, strict) + '\n');
    if (values.attest !== undefined || values.predicate !== undefined) {
      try {
        const context = {
          spec: spec!,
          limits: { ...DEFAULT_LIMITS, ...limits },
          strict,
          version: VERSION,
          now: new Date(),
        };
        const statement = leakCheckStatement(report, context);
        if (values.attest) writeFileSync(values.attest, JSON.stringify(statement, null, 2) + '\n');
        if (values.predicate) writeFileSync(values.predicate, JSON.stringify(statement.predicate, null, 2) + '\n');
      } catch (error) {
        if (error instanceof AttestationError) throw new UsageError(`leak-check: ${error.message}`);
        throw error;
      }
    }
    return failed(report, strict) ? EXIT.failed : EXIT.ok;
  },
};

/** --images FILE: one reference a line; blank lines and # comments are skipped; - reads standard input. */
function readImageList(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `leak-check: --images '${file}' cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}
