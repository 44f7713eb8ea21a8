import * as core from '@actions/core';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkImage } from './check.js';
import { dockerSave } from './docker.js';
import { lintDockerfile, renderLintText } from './lint.js';
import { annotations, failed, renderMarkdown, renderSarif } from './report.js';
import { parseBoolean, parseLimits } from './limits.js';
import { loadTargets } from './targets.js';
import type { Report, ScanLimits } from './types.js';

/** The leak-check sub-action's inputs: read here only, validated early. */
export interface LeakInputs {
  readonly image: string;
  readonly ca: string;
  readonly caFile: string;
  readonly fingerprints: readonly string[];
  readonly dockerfile: string;
  readonly target: string;
  /** Fail (not only warn) when a file inside the image could not be looked inside. */
  readonly strict: boolean;
  readonly limits: Partial<ScanLimits>;
}

export function parseLeakInputs(raw: (name: string) => string): LeakInputs {
  const inputs = {
    image: raw('image').trim(),
    ca: raw('ca'),
    caFile: raw('ca-file').trim(),
    fingerprints: raw('fingerprint').split(/[\s,]+/).filter(Boolean),
    dockerfile: raw('dockerfile').trim(),
    target: raw('target').trim(),
    strict: parseBoolean('strict', raw('strict')),
    limits: parseLimits((name) => raw(name)),
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
      const lint = lintDockerfile(readFileSync(inputs.dockerfile, 'utf8'), inputs.target || undefined);
      core.info(renderLintText(inputs.dockerfile, lint));
      for (const f of lint.findings) core.error(`${f.message} Fix: ${f.fix}`, { title: `CA would leak: ${f.rule}`, file: inputs.dockerfile, startLine: f.line });
      leaks += lint.findings.length;
      sections.push(`### Dockerfile lint: ${lint.findings.length} finding(s) in the stages of target '${lint.target}'`);
    }
    let report: Report | undefined;
    if (inputs.image) {
      const spec = loadTargets({ ca: inputs.ca, caFile: inputs.caFile, fingerprints: inputs.fingerprints });
      report = await core.group(`Checking ${inputs.image}`, () => checkImage({ image: inputs.image, spec, dockerSave, limits: inputs.limits }));
      for (const a of annotations(report, inputs.strict)) (a.level === 'error' ? core.error : core.warning)(a.message, { title: a.title });
      leaks += report.findings.length;
      problems += report.unscanned.length;
      const reportFile = join(temp, 'leak-report.json');
      const sarifFile = join(temp, 'leak-report.sarif');
      writeFileSync(reportFile, JSON.stringify(report, null, 2) + '\n');
      writeFileSync(sarifFile, JSON.stringify(renderSarif(report, inputs.strict), null, 2) + '\n');
      core.setOutput('report-file', reportFile);
      core.setOutput('sarif-file', sarifFile);
      sections.unshift(renderMarkdown(report, inputs.strict));
    }
    core.setOutput('leaks', String(leaks));
    if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(sections.join('\n\n'), true).write();
    const unopened = report && inputs.strict ? report.notLookedInside.length : 0;
    if (leaks > 0 || (report && failed(report, inputs.strict)) || problems > 0) {
      core.setFailed(`org-ca leak check failed: ${leaks} leak(s)${problems ? `, ${problems} part(s) of the image not scanned` : ''}${unopened ? `, ${unopened} file(s) not looked inside (strict)` : ''}.`);
    }
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
