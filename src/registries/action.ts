/**
 * The action's shell for pull-side trust: runs after the CA was injected (never when the action decided not to act),
 * sets the builder outputs, and hands the journal to the post step.
 */
import * as core from '@actions/core';
import { randomBytes } from 'node:crypto';
import { currentJobOwner, ownerRunning } from '../fs/job-owner.js';
import { shellQuote } from '../build/outputs.js';
import { applyRegistryTrust } from './apply.js';
import { buildkitdConfigInline, kanikoFlags } from './builders.js';
import {
  prepareJournalFile,
  registryJournalFiles,
  registryJournalPath,
  revertJournalFile,
  revertLeftoverJournals,
  undoReport,
  writeJournalFile,
  type UndoResult,
} from './journal.js';
import { opsFor } from './privileges.js';
import { registryJournal, saveRegistryJournal } from '../action/state.js';

/** The outputs for builders the action cannot configure itself (main.ts sets them); empty when nothing was injected. */
export function registryOutputValues(registries: readonly string[], caPath?: string): { 'buildkitd-config-inline': string; 'kaniko-flags': string } {
  return {
    'buildkitd-config-inline': caPath && registries.length ? buildkitdConfigInline(registries, caPath) : '',
    'kaniko-flags': caPath && registries.length ? kanikoFlags(registries, caPath, shellQuote) : '',
  };
}

export async function setUpRegistryTrust(registries: readonly string[], caPath: string, env: Readonly<Record<string, string | undefined>> = process.env): Promise<void> {
  if (registries.length === 0) {
    core.info("registries is 'none': no builder's registry trust was changed.");
    return;
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  if (process.platform !== 'linux') {
    core.info('Registry trust directories are set up on Linux runners only; use the buildkitd-config-inline output here.');
    return;
  }
  const runId = randomBytes(4).toString('hex');
  const journalPath = registryJournalPath(runId, env, uid);
  const madeByOrgCa = new Set<string>();
  try {
    // Journals left by jobs whose post step and job-completed hook never ran are reverted first; those of jobs still
    // running on this host are left to them, and the directories they made are shared rather than made twice.
    for (const outcome of revertLeftoverJournals(registryJournalFiles(env, uid), 'next-run', { running: ownerRunning, ancestors: [] }, opsFor)) {
      if ('error' in outcome) {
        if (outcome.path === journalPath) throw new Error(outcome.error);
        core.warning(`A journal left by an earlier run: ${outcome.error}`);
      } else if ('running' in outcome) {
        // ORG_CA_REGISTRY_JOURNAL names one file: two jobs at once cannot both keep their record in it.
        if (outcome.path === journalPath) throw new Error(`${journalPath} (ORG_CA_REGISTRY_JOURNAL) belongs to a job still running on this host (process ${outcome.running.pid}); give each runner its own`);
        core.info(`Registry trust of a job still running on this host (process ${outcome.running.pid}) left to it: ${outcome.path}.`);
        for (const entry of outcome.journal.entries) if (entry.type === 'dir') madeByOrgCa.add(entry.path);
      } else {
        report('A journal left by an earlier run', outcome.reverted);
        if (outcome.path === journalPath && outcome.reverted.retry.length) {
          // Writing this run's journal over it would drop the record of what is still there.
          throw new Error(`${journalPath} still lists ${outcome.reverted.retry.map((e) => e.path).join(', ')}, which could not be removed with this job's rights`);
        }
      }
    }
    await prepareJournalFile(journalPath);
  } catch (error) {
    // Registry trust is an addition to what the job already got (the variables are exported): without a journal it
    // is skipped, with the reason, rather than failing the job or writing what could not be taken out again.
    core.warning(`Registry trust was not set up: ${error instanceof Error ? error.message : String(error)}. Builders' registry pulls will not trust the org CA; use the buildkitd-config-inline output, or fix the journal path (ORG_CA_REGISTRY_JOURNAL).`);
    return;
  }
  saveRegistryJournal(journalPath);
  const owner = currentJobOwner();
  const result = applyRegistryTrust({
    registries,
    caPath,
    runId,
    ...(owner ? { owner } : {}),
    madeByOrgCa,
    env,
    uid,
    save: (journal) => writeJournalFile(journalPath, journal),
  });
  for (const warning of result.warnings) core.warning(warning);
  core.startGroup(`Registry pulls: the org CA added for ${result.written.length} registry director${result.written.length === 1 ? 'y' : 'ies'}`);
  for (const path of result.written) core.info(path);
  for (const note of result.notes) core.info(note);
  core.endGroup();
  if (result.newDockerHosts.length) {
    core.notice(
      `Docker Engine's BuildKit builder learns which registries have a /etc/docker/certs.d directory when dockerd starts ` +
        `(measured on Engine 20.10), so for ${result.newDockerHosts.join(', ')} restart the daemon before building ` +
        "(e.g. sudo systemctl restart docker), or create these directories when the runner is provisioned. " +
        'docker pull of Docker Hub images never reads certs.d: it needs the CA in the OS store and a daemon restart.',
      { title: 'org-ca: Docker Engine needs a restart for new registries' },
    );
  }
}

function report(what: string, result: UndoResult | undefined): void {
  if (!result) return;
  const { removed, shared, left } = undoReport(result);
  if (removed) core.info(`${what}: ${removed}`);
  if (shared) core.info(`${what}: ${shared}`);
  for (const line of left) core.warning(`${what}: ${line}`);
}

/** The post step's half: removes exactly what setUpRegistryTrust created; never fails the job. */
export function undoRegistryTrust(): void {
  const journalPath = registryJournal();
  if (!journalPath) return;
  try {
    report('Post step', revertJournalFile(journalPath, opsFor));
  } catch (error) {
    core.warning(`Could not read what registry trust wrote (${error instanceof Error ? error.message : String(error)}): check /etc/docker/certs.d and /etc/containers/certs.d for org-ca-*.crt files.`);
  }
}
