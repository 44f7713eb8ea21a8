/**
 * The action's shell for pull-side trust: runs after the CA was injected (never when the action decided not to act),
 * sets the builder outputs, and hands the journal to the post step.
 */
import * as core from '@actions/core';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { withHostLock } from '../fs/host-lock.js';
import { currentJobOwner, ownerRunning, sameOwner, type JobOwner } from '../fs/job-owner.js';
import { shellQuote } from '../output/shell-quote.js';
import { applyRegistryTrust, type ApplyResult } from '../registry-trust/apply.js';
import { buildkitdConfigInline, kanikoFlags } from '../registry-trust/builders.js';
import {
  filesListedElsewhere,
  journalsIn,
  prepareJournalFile,
  registryJournalFiles,
  registryJournalPath,
  registryLockPath,
  revertJournalFile,
  revertLeftoverJournals,
  undoReport,
  writeJournalFile,
  type UndoResult,
} from '../registry-trust/trust-journal.js';
import { newRunId, trustLocations } from '../registry-trust/locations.js';
import type { RegistrySelection } from '../registry-trust/hosts.js';
import { hostProbe, locationsReadBy, runnerBuilders, type BuilderProbe } from '../registry-trust/runner-builders.js';
import { opsFor } from '../registry-trust/privileges.js';
import { registryJournal, saveRegistryJournal } from './state.js';
import { log } from './log.js';
import { present } from '../lang/present.js';

/** The outputs for builders the action cannot configure itself (main.ts sets them); empty when nothing was injected. */
export function registryOutputValues(
  registries: readonly string[],
  caPath?: string,
): { 'buildkitd-config-inline': string; 'kaniko-flags': string } {
  return {
    'buildkitd-config-inline': caPath && registries.length ? buildkitdConfigInline(registries, caPath) : '',
    'kaniko-flags': caPath && registries.length ? kanikoFlags(registries, caPath, shellQuote) : '',
  };
}

export async function setUpRegistryTrust(
  selection: RegistrySelection,
  caPath: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  probe: BuilderProbe = hostProbe,
): Promise<void> {
  const registries = selection.hosts;
  if (registries.length === 0) {
    log.info("registries is 'none': no builder's registry trust was changed.");
    return;
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  if (process.platform !== 'linux') {
    if (!selection.whenBuilderPresent)
      log.info(
        'Registry trust directories are set up on Linux runners only; use the buildkitd-config-inline output here.',
      );
    return;
  }
  let locations = trustLocations(env, uid);
  if (selection.whenBuilderPresent) {
    const builders = runnerBuilders(env, probe);
    locations = locationsReadBy(locations, builders);
    // auto: a job that builds no image hears nothing of registries and changes nothing outside itself.
    if (locations.length === 0) {
      core.debug(
        'registries: auto found no Docker Engine socket and no buildah or podman on PATH: no registry trust was changed.',
      );
      return;
    }
    const found = [builders.dockerSocket && `a Docker Engine at ${builders.dockerSocket}`, builders.containersTool]
      .filter(Boolean)
      .join(' and ');
    log.info(
      `registries: auto found ${found}: the org CA is added for the common public registries (set registries: none to change nothing outside the job).`,
    );
  }
  const runId = newRunId();
  const journalPath = registryJournalPath(runId, env, uid);
  const owner = currentJobOwner();
  let result: ApplyResult;
  try {
    await prepareJournalFile(journalPath);
    // Held from reading the other journals until this run's is written: jobs starting or ending at the same moment
    // on this host never plan from a state another is changing.
    result = await withHostLock(
      registryLockPath(journalPath),
      () => {
        const others = takeLeftovers(journalPath, owner, env, uid);
        saveRegistryJournal(journalPath);
        return applyRegistryTrust({
          registries,
          caPath,
          runId,
          locations,
          ...present({ owner }),
          ...others,
          env,
          uid,
          save: (journal) => writeJournalFile(journalPath, journal),
        });
      },
      (why) => log.info(`Registry trust is set up without the lock that orders jobs on this host: ${why}.`),
    );
  } catch (error) {
    // Registry trust is an addition to what the job already got (the variables are exported): without a journal it
    // is skipped, with the reason, rather than failing the job or writing what could not be taken out again.
    log.warning(
      `Registry trust was not set up: ${error instanceof Error ? error.message : String(error)}. Builders' registry pulls will not trust the org CA; use the buildkitd-config-inline output, or fix the journal path (ORG_CA_REGISTRY_JOURNAL).`,
    );
    return;
  }
  for (const warning of result.warnings) log.warning(warning);
  core.startGroup(
    `Registry pulls: the org CA added for ${result.written.length} registry director${result.written.length === 1 ? 'y' : 'ies'}`,
  );
  for (const path of result.written) log.info(path);
  for (const note of result.notes) log.info(note);
  core.endGroup();
  if (result.newDockerHosts.length) {
    log.notice(
      `Docker Engine's BuildKit builder learns which registries have a /etc/docker/certs.d directory when dockerd starts ` +
        `(measured on Engine 20.10), so for ${result.newDockerHosts.join(', ')} restart the daemon before building ` +
        '(e.g. sudo systemctl restart docker), or create these directories when the runner is provisioned. ' +
        'docker pull of Docker Hub images never reads certs.d: it needs the CA in the OS store and a daemon restart.',
      { title: 'org-ca: Docker Engine needs a restart for new registries' },
    );
  }
}

/**
 * Reverts the journals left by jobs that ended without their post step or hook; those of jobs still running are left
 * to them, and what they list is returned, so this run shares their directories instead of making them twice.
 * Throws when this run cannot keep a journal of its own.
 */
function takeLeftovers(
  journalPath: string,
  owner: JobOwner | undefined,
  env: Readonly<Record<string, string | undefined>>,
  uid: number,
): { madeByOrgCa: Set<string>; othersFiles: Set<string> } {
  const madeByOrgCa = new Set<string>();
  for (const outcome of revertLeftoverJournals(
    registryJournalFiles(env, uid),
    'next-run',
    { running: ownerRunning, ancestors: [] },
    opsFor,
  )) {
    if ('error' in outcome) {
      if (outcome.path === journalPath) throw new Error(outcome.error);
      log.warning(`A journal left by an earlier run: ${outcome.error}`);
    } else if ('running' in outcome) {
      const whose =
        owner && sameOwner(outcome.running, owner)
          ? 'an earlier org-ca step of this job'
          : `a job still running on this host (process ${outcome.running.pid})`;
      // ORG_CA_REGISTRY_JOURNAL names one file: two runs at once cannot both keep their record in it.
      if (outcome.path === journalPath)
        throw new Error(
          `${journalPath} (ORG_CA_REGISTRY_JOURNAL) holds the journal of ${whose}; give each runner its own, and use org-ca once per job`,
        );
      log.info(`Registry trust of ${whose} is left to it: ${outcome.path}.`);
      for (const entry of outcome.journal.entries) if (entry.type === 'dir') madeByOrgCa.add(entry.path);
    } else {
      report('A journal left by an earlier run', outcome.reverted);
      if (outcome.path === journalPath && outcome.reverted.retry.length) {
        // Writing this run's journal over it would drop the record of what is still there.
        throw new Error(
          `${journalPath} still lists ${outcome.reverted.retry.map((e) => e.path).join(', ')}, which could not be removed with this job's rights`,
        );
      }
    }
  }
  return { madeByOrgCa, othersFiles: filesListedElsewhere(registryJournalFiles(env, uid), journalPath) };
}

function report(what: string, result: UndoResult | undefined): void {
  if (!result) return;
  const { removed, shared, left } = undoReport(result);
  if (removed) log.info(`${what}: ${removed}`);
  if (shared) log.info(`${what}: ${shared}`);
  for (const line of left) log.warning(`${what}: ${line}`);
}

/** The post step's half: removes exactly what setUpRegistryTrust created; never fails the job. */
export async function undoRegistryTrust(): Promise<void> {
  const journalPath = registryJournal();
  // Nothing was written, or a hook or later run took it out already.
  if (!journalPath || !existsSync(journalPath)) return;
  try {
    const undone = await withHostLock(
      registryLockPath(journalPath),
      () => revertJournalFile(journalPath, opsFor, filesListedElsewhere(journalsIn(dirname(journalPath)), journalPath)),
      (why) => log.info(`Registry trust is removed without the lock that orders jobs on this host: ${why}.`),
    );
    report('Post step', undone);
  } catch (error) {
    log.warning(
      `Could not read what registry trust wrote (${error instanceof Error ? error.message : String(error)}): check /etc/docker/certs.d and /etc/containers/certs.d for org-ca-*.crt files.`,
    );
  }
}
