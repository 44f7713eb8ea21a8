import * as core from '@actions/core';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { makeTempDirectory } from '../fs/ensure-directory.js';
import { checkImage } from '../leak/check.js';
import { dockerSave } from '../leak/sources/docker.js';
import { readBuildContext } from '../lint/context.js';
import { lintDockerfile, type LintResult } from '../lint/lint.js';
import { lintAnnotations, lintSarifResults, lintSarifRules, renderLintText } from '../lint/lint-report.js';
import { artifactUri } from '../output/sarif-uri.js';
import {
  annotations,
  emptyReport,
  failed,
  failureReport,
  fixMarkdown,
  renderMarkdown,
  renderSarif,
  renderSweepMarkdown,
  renderSweepSarif,
  safeMessage,
} from '../leak/reporting/report.js';
import { checkImages } from '../leak/sweep.js';
import { isRepositoryReference } from '../leak/sources/registry/reference.js';
import { parseBoolean, parseLimits } from '../leak/scanning/limits.js';
import { eitherSpelling } from '../options/parse.js';
import { loadTargets } from '../leak/scanning/targets.js';
import { DEFAULT_LIMITS, type Report, type ScanLimits, type SweepReport } from '../leak/types.js';
import { leakCheckStatement, type Statement } from '../leak/reporting/attestation.js';
import { VERSION } from '../runtime/version.js';
import { log } from './log.js';
import { present } from '../lang/present.js';

/** The leak-check sub-action's inputs: read here only, validated early. */
export interface LeakInputs {
  readonly image: string;
  /** `image` as one reference a line: several, or a repository with no tag (every tag), make a run over many. */
  readonly images: readonly string[];
  readonly ca: string;
  readonly caFile: string;
  readonly fingerprints: readonly string[];
  readonly dockerfile: string;
  readonly target: string;
  /** Fail (not only warn) when a file inside the image could not be looked inside. */
  readonly strict: boolean;
  readonly limits: Partial<ScanLimits>;
  /** The Dockerfile's build context (default: its directory). */
  readonly context: string;
  /** Lint rules to ignore (ids or names). */
  readonly lintIgnore: readonly string[];
  /** Write an in-toto statement about the checked manifests (output attestation-file). */
  readonly attest: boolean;
  /** A layer-verdict cache directory (for actions/cache); empty: none. */
  readonly cacheDir: string;
}

export function parseLeakInputs(raw: (name: string) => string): LeakInputs {
  const inputs = {
    image: raw('image').trim(),
    images: raw('image')
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
    ca: raw('ca'),
    caFile: raw('ca-file').trim(),
    fingerprints: eitherSpelling(raw, 'fingerprint', 'ca-fingerprint')
      .split(/[\s,]+/)
      .filter(Boolean),
    dockerfile: raw('dockerfile').trim(),
    target: raw('target').trim(),
    strict: parseBoolean('strict', raw('strict')),
    attest: parseBoolean('attest', raw('attest')),
    cacheDir: raw('cache-dir').trim(),
    limits: parseLimits((name) => raw(name)),
    context: raw('context').trim(),
    lintIgnore: raw('lint-ignore')
      .split(/[\s,]+/)
      .filter(Boolean),
  };
  if (!inputs.image && !inputs.dockerfile)
    throw new Error("Nothing to check: set 'image' (an image or archive) and/or 'dockerfile'.");
  if (inputs.attest && isSweep(inputs))
    throw new Error(
      `'attest' names one image, and 'image' names ${inputs.images.length > 1 ? `${inputs.images.length} images` : 'every tag of a repository'}: attest them one step each`,
    );
  return inputs;
}

/** Several images, or every tag of a repository: one run over many, with a verdict per image. */
export function isSweep(inputs: Pick<LeakInputs, 'images'>): boolean {
  return inputs.images.length > 1 || (inputs.images.length === 1 && isRepositoryReference(inputs.images[0]!));
}

/**
 * Always reports: on a leak, a clean image, an unreadable image or a bad input alike, the step sets `leaks`,
 * `report-file` and `sarif-file` and writes the job summary, so that a following `upload-sarif` with `if: always()`
 * gets a real file; then it fails if anything was found or could not be checked.
 */
export async function run(): Promise<void> {
  let leaks = 0;
  let problems = 0;
  let image = '';
  let strict = false;
  let report: Report | undefined;
  let sweep: SweepReport | undefined;
  let attestation: (() => Statement) | undefined;
  let error: string | undefined;
  let lint: { file: string; result: LintResult; workspace?: string } | undefined;
  const sections: string[] = [];
  try {
    const inputs = parseLeakInputs((name) => core.getInput(name, { trimWhitespace: name !== 'ca' }));
    image = inputs.image;
    strict = inputs.strict;
    if (inputs.dockerfile) {
      const context = readBuildContext(inputs.context || dirname(inputs.dockerfile) || '.', {
        dockerfile: inputs.dockerfile,
      });
      const result = lintDockerfile(readFileSync(inputs.dockerfile, 'utf8'), {
        ...present({ target: inputs.target }),
        context,
        ignore: inputs.lintIgnore,
      });
      lint = {
        file: inputs.dockerfile,
        result,
        ...present({ workspace: process.env.GITHUB_WORKSPACE }),
      };
      log.text(renderLintText(inputs.dockerfile, result));
      for (const a of lintAnnotations(result))
        (a.level === 'error' ? log.error : log.notice)(a.message, {
          title: a.title,
          file: inputs.dockerfile,
          startLine: a.line,
        });
      const errors = result.findings.filter((f) => f.severity === 'error' && !f.ignored).length;
      leaks += errors;
      sections.push(`### Dockerfile lint: ${errors} finding(s) in the stages of target '${result.target}'`);
    }
    if (inputs.image && isSweep(inputs)) {
      const spec = loadTargets({ ca: inputs.ca, caFile: inputs.caFile, fingerprints: inputs.fingerprints });
      sweep = await core.group(`Checking ${inputs.images.length} image reference(s)`, () =>
        checkImages(
          inputs.images,
          { spec, dockerSave, limits: inputs.limits, ...present({ cacheDir: inputs.cacheDir }) },
          inputs.strict,
        ),
      );
      for (const i of sweep.images) {
        for (const a of annotations(i.report, inputs.strict))
          (a.level === 'error' ? log.error : log.warning)(a.message, { title: `${a.title} (${i.image})` });
        leaks += i.report.findings.length;
        problems += i.report.unscanned.length + (i.report.error !== undefined ? 1 : 0);
      }
    } else if (inputs.image) {
      const spec = loadTargets({ ca: inputs.ca, caFile: inputs.caFile, fingerprints: inputs.fingerprints });
      report = await core.group(`Checking ${inputs.image}`, () =>
        checkImage({
          image: inputs.image,
          spec,
          dockerSave,
          limits: inputs.limits,
          ...present({ cacheDir: inputs.cacheDir }),
        }),
      );
      const checked = report;
      if (inputs.attest) {
        const context = { spec, limits: { ...DEFAULT_LIMITS, ...inputs.limits }, strict, version: VERSION };
        attestation = () => leakCheckStatement(checked, { ...context, now: new Date() });
      }
      for (const a of annotations(report, inputs.strict))
        (a.level === 'error' ? log.error : log.warning)(a.message, { title: a.title });
      leaks += report.findings.length;
      problems += report.unscanned.length;
    }
  } catch (e) {
    error = safeMessage(e);
  }
  try {
    // A Dockerfile-only run has no image report, but the same files: SARIF carries the lint findings.
    const written: Report = error !== undefined ? failureReport(image, error) : (report ?? emptyReport(''));
    const temp = await makeTempDirectory(process.env.RUNNER_TEMP || tmpdir(), 'org-ca-leak-', {
      purpose: process.env.RUNNER_TEMP ? 'RUNNER_TEMP' : 'TMPDIR',
      mode: 0o700,
    });
    const reportFile = join(temp, 'leak-report.json');
    const sarifFile = join(temp, 'leak-report.sarif');
    const dockerfile = present({ dockerfile: lint ? { file: lint.file, ...lint.result } : undefined });
    writeFileSync(
      reportFile,
      JSON.stringify(
        sweep && error === undefined ? { ...sweep, ...dockerfile } : { ...written, ...dockerfile },
        null,
        2,
      ) + '\n',
    );
    const lintSarif = lint
      ? { rules: lintSarifRules(), results: lintSarifResults(artifactUri(lint.file, lint.workspace), lint.result) }
      : undefined;
    const sarif =
      sweep && error === undefined
        ? renderSweepSarif(sweep, strict, lintSarif)
        : renderSarif(written, lintSarif, strict);
    writeFileSync(sarifFile, JSON.stringify(sarif, null, 2) + '\n');
    core.setOutput('report-file', reportFile);
    core.setOutput('sarif-file', sarifFile);
    if (attestation && error === undefined) {
      const statement = attestation();
      const attestationFile = join(temp, 'leak-check.intoto.json');
      const predicateFile = join(temp, 'leak-check.predicate.json');
      writeFileSync(attestationFile, JSON.stringify(statement, null, 2) + '\n');
      writeFileSync(predicateFile, JSON.stringify(statement.predicate, null, 2) + '\n');
      core.setOutput('attestation-file', attestationFile);
      core.setOutput('predicate-file', predicateFile);
      core.setOutput('predicate-type', statement.predicateType);
    }
    core.setOutput('leaks', String(leaks));
    if (sweep && error === undefined) sections.unshift(renderSweepMarkdown(sweep, strict));
    else if (error !== undefined || report) sections.unshift(renderMarkdown(written, strict));
    if (leaks > 0 || problems > 0) sections.push(fixMarkdown({ leaks, unscanned: problems }));
    if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(sections.join('\n\n'), true).write();
  } catch (e) {
    error ??= `could not write the report: ${e instanceof Error ? e.message : String(e)}`;
  }
  const unopened = report && strict ? (report.notLookedInside ?? []).length : 0;
  if (error !== undefined) log.setFailed(error);
  else if (
    leaks > 0 ||
    (report && failed(report, strict)) ||
    problems > 0 ||
    sweep?.images.some((i) => i.verdict !== 'clean')
  ) {
    log.setFailed(
      `org-ca leak check failed: ${leaks} leak(s)${problems ? `, ${problems} part(s) of the image not scanned` : ''}${unopened ? `, ${unopened} file(s) not looked inside (strict)` : ''}.`,
    );
  }
}
