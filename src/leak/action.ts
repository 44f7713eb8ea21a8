import * as core from '@actions/core';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { checkImage } from './check.js';
import { dockerSave } from './docker.js';
import { readBuildContext } from '../lint/context.js';
import { lintDockerfile } from '../lint/lint.js';
import { lintAnnotations, renderLintText } from '../lint/report.js';
import { annotations, failed, renderMarkdown, renderSarif } from './report.js';
import { loadTargets } from './targets.js';
import type { Report } from './types.js';

/** The leak-check sub-action's inputs: read here only, validated early. */
export interface LeakInputs {
  readonly image: string;
  readonly ca: string;
  readonly caFile: string;
  readonly fingerprints: readonly string[];
  readonly dockerfile: string;
  readonly target: string;
  /** The Dockerfile's build context (default: its directory). */
  readonly context: string;
  /** Lint rules to ignore (ids or names). */
  readonly lintIgnore: readonly string[];
}

export function parseLeakInputs(raw: (name: string) => string): LeakInputs {
  const inputs = {
    image: raw('image').trim(),
    ca: raw('ca'),
    caFile: raw('ca-file').trim(),
    fingerprints: raw('fingerprint').split(/[\s,]+/).filter(Boolean),
    dockerfile: raw('dockerfile').trim(),
    target: raw('target').trim(),
    context: raw('context').trim(),
    lintIgnore: raw('lint-ignore').split(/[\s,]+/).filter(Boolean),
  };
  if (!inputs.image && !inputs.dockerfile) throw new Error("Nothing to check: set 'image' (an image or archive) and/or 'dockerfile'.");
  return inputs;
}

export async function run(): Promise<void> {
  try {
    const inputs = parseLeakInputs((name) => core.getInput(name, { trimWhitespace: name !== 'ca' }));
    const temp = mkdtempSync(join(process.env.RUNNER_TEMP || tmpdir(), 'org-ca-leak-'));
    let leaks = 0;
    let problems = 0;
    const sections: string[] = [];
    if (inputs.dockerfile) {
      const context = readBuildContext(inputs.context || dirname(inputs.dockerfile) || '.', { dockerfile: inputs.dockerfile });
      const lint = lintDockerfile(readFileSync(inputs.dockerfile, 'utf8'), { ...(inputs.target ? { target: inputs.target } : {}), context, ignore: inputs.lintIgnore });
      core.info(renderLintText(inputs.dockerfile, lint));
      for (const a of lintAnnotations(lint)) (a.level === 'error' ? core.error : core.notice)(a.message, { title: a.title, file: inputs.dockerfile, startLine: a.line });
      const errors = lint.findings.filter((f) => f.severity === 'error' && !f.ignored).length;
      leaks += errors;
      sections.push(`### Dockerfile lint: ${errors} finding(s) in the stages of target '${lint.target}'`);
    }
    let report: Report | undefined;
    if (inputs.image) {
      const spec = loadTargets({ ca: inputs.ca, caFile: inputs.caFile, fingerprints: inputs.fingerprints });
      report = await core.group(`Checking ${inputs.image}`, () => checkImage({ image: inputs.image, spec, dockerSave }));
      for (const a of annotations(report)) core.error(a.message, { title: a.title });
      leaks += report.findings.length;
      problems += report.unscanned.length;
      const reportFile = join(temp, 'leak-report.json');
      const sarifFile = join(temp, 'leak-report.sarif');
      writeFileSync(reportFile, JSON.stringify(report, null, 2) + '\n');
      writeFileSync(sarifFile, JSON.stringify(renderSarif(report), null, 2) + '\n');
      core.setOutput('report-file', reportFile);
      core.setOutput('sarif-file', sarifFile);
      sections.unshift(renderMarkdown(report));
    }
    core.setOutput('leaks', String(leaks));
    if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(sections.join('\n\n'), true).write();
    if (leaks > 0 || (report && failed(report)) || problems > 0) {
      core.setFailed(`org-ca leak check failed: ${leaks} leak(s)${problems ? `, ${problems} part(s) of the image not scanned` : ''}.`);
    }
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
