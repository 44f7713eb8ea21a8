import * as core from '@actions/core';
import { chmodSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { loadCa } from '../ca/load.js';
import { prepareInjection } from '../tools/inject.js';
import type { Decision } from './decide.js';
import { decideWhen } from './detect-step.js';
import { getInputs } from './inputs.js';
import { runnerContext } from './runner.js';
import { setBuildOutputs } from './build-outputs.js';
import { saveFilesDir } from './state.js';
import { renderSummary, type SummaryReport } from './summary.js';
import { setRegistryOutputs, setUpRegistryTrust } from '../registries/action.js';

function setNotInjected(decision: Decision): void {
  core.setOutput('injected', 'false');
  core.setOutput('reason', decision.reason);
}

async function writeSummary(report: SummaryReport): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await core.summary.addRaw(renderSummary(report), true).write();
}

export async function run(): Promise<void> {
  try {
    const inputs = getInputs();
    const context = runnerContext(process.env);
    const { decision, ca: decidedCa, failure, sections } = await decideWhen(inputs, context);
    if (!decision.act) {
      // A failure carries the same sentence: say it once, as the error.
      if (!failure) core.info(decision.message);
      setNotInjected(decision);
      setBuildOutputs(context.temp);
      setRegistryOutputs(inputs.registries);
      await writeSummary({ decision, sections });
      if (failure) core.setFailed(failure);
      return;
    }

    const ca = decidedCa ?? loadCa({ ca: inputs.ca, caFile: inputs.caFile, fingerprint: inputs.caFingerprint }, new Date());
    for (const warning of ca.warnings) core.warning(warning);

    const dir = mkdtempSync(join(context.temp, 'org-ca-'));
    // World-readable like the files in it: apt fetches as `_apt`, job containers may run as another user.
    chmodSync(dir, 0o755);
    // Saved before anything is written, so the post step cleans up even after a failure half-way.
    saveFilesDir(dir);
    const injection = await prepareInjection({
      certs: ca.certs,
      env: process.env,
      platform: context.platform,
      ...(inputs.tools ? { tools: inputs.tools } : {}),
      dir,
      ...(context.workspace ? { workspace: context.workspace } : {}),
      onVerificationOff: inputs.onVerificationOff,
    });
    for (const warning of injection.warnings) core.warning(warning);
    for (const note of injection.plan.notes) core.info(note);

    core.startGroup(`Exported ${injection.plan.variables.length} variables for the rest of the job`);
    for (const variable of injection.plan.variables) {
      core.exportVariable(variable.name, variable.value);
      core.info(`${variable.name}=${variable.value}  (${variable.readers}; ${variable.semantics})`);
    }
    core.endGroup();
    core.info(decision.message);
    core.setOutput('injected', 'true');
    core.setOutput('reason', decision.reason);
    core.setOutput('ca-path', injection.plan.files.ca);
    core.setOutput('bundle-path', injection.plan.files.bundle);
    core.setOutput('fingerprint', ca.primary.fingerprint);
    setBuildOutputs(context.temp, injection.plan.files);
    setUpRegistryTrust(inputs.registries, injection.plan.files.ca);
    await writeSummary({ decision, ca, injection, sections });
  } catch (error) {
    core.setFailed(error instanceof Error ? error.message : String(error));
  }
}
