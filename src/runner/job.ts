/**
 * What the hooks do for each job: the same decision as the action (the `when` rule, then probe → classify → decide),
 * with the verdict cached per runner; on "act", the CA files in RUNNER_TEMP and the variables in GITHUB_ENV, in
 * paths the job's steps can open (host or job container). job-completed removes the files.
 */
import { appendFileSync, chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ensureDirectory } from '../fs/ensure-directory.js';
import { systemHost } from '../store/privileged-commands.js';
import { defaultJournalPath } from '../store/store-journal.js';
import { ancestry, ownerRunning } from '../fs/job-owner.js';
import { withHostLock } from '../fs/host-lock.js';
import {
  registryJournalFiles,
  registryLockPath,
  revertLeftoverJournals,
  undoReport,
} from '../registry-trust/trust-journal.js';
import { opsFor } from '../registry-trust/privileges.js';
import { removeFromStores } from '../store/store.js';
import { join } from 'node:path';
import { homedir } from 'node:os';
import { loadCa } from '../ca/load.js';
import type { ValidatedCa } from '../ca/validate.js';
import { decideBeforeProbe, decideByProbes, probesSettled } from '../decision/decide.js';
import { detect } from '../detect/detect.js';
import { publicRoots, systemRoots } from '../detect/trust.js';
import { formatVariables } from '../env-formats/format.js';
import { resolveNative } from '../native/os-store-check.js';
import { prepareInjection, VerificationOffError } from '../tools/inject.js';
import type { Platform } from '../tools/registry.js';
import { freshVerdict, readVerdict, verdictKey, writeVerdict, type CachedVerdict } from './cache.js';
import type { RunnerConfig } from './config.js';
import { present } from '../lang/present.js';

/** The files' directory inside RUNNER_TEMP: fixed, so job-completed finds it without state. */
export const JOB_FILES_DIR = 'org-ca-hook';
/** Where the runner mounts the host's _work/_temp inside a job container. */
export const CONTAINER_TEMP = '/__w/_temp';

export class PolicyFailure extends Error {
  override readonly name = 'PolicyFailure';
}

export interface JobOutcome {
  readonly lines: readonly string[];
  readonly exported: readonly string[];
}

type Env = Readonly<Record<string, string | undefined>>;

/** Pure: a host path under RUNNER_TEMP as a container step sees it. */
export function containerPath(value: string, hostTemp: string): string {
  const base = hostTemp.replace(/\/+$/, '');
  return value.split(`${base}/`).join(`${CONTAINER_TEMP}/`);
}

/** $XDG_CACHE_HOME/org-ca/runner-verdicts (default ~/.cache): the runner user's, which the hook runs as. */
export function verdictCacheDirectory(env: Env): string {
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'org-ca', 'runner-verdicts');
}

async function decide(
  config: RunnerConfig,
  ca: ValidatedCa,
  env: Env,
  lines: string[],
): Promise<Omit<CachedVerdict, 'key' | 'at'>> {
  const early = decideBeforeProbe(config.when, env.RUNNER_ENVIRONMENT);
  if (early) return { ...early, warnings: [] };
  const policy = {
    ca: { subject: ca.primary.subject, fingerprint: ca.primary.fingerprint },
    onUnknown: config.onUnknown,
    onUnreachable: config.onUnreachable,
  };
  const key = verdictKey({
    probeUrls: config.probeUrls,
    env,
    caFingerprint: ca.primary.fingerprint,
    policy: `${config.onUnknown}/${config.onUnreachable}`,
  });
  // One file per key: a runner whose jobs take different routes keeps a verdict for each. The hooks directory is
  // root's when root installed them, so the verdicts live in the runner user's own cache directory.
  const cacheDir = verdictCacheDirectory(env);
  const cachePath = join(cacheDir, `verdict-${key.slice(0, 16)}.json`);
  const now = Date.now();
  const cached = freshVerdict(readVerdict(cachePath), key, now, config.cacheTtlMs);
  if (cached) {
    lines.push(
      `org-ca: probe verdict from ${Math.round((now - cached.at) / 1000)} s ago reused (cache ${Math.round(config.cacheTtlMs / 1000)} s).`,
    );
    return cached;
  }
  const verdicts = await detect({
    urls: config.probeUrls,
    env,
    timeoutMs: config.probeTimeoutMs,
    trust: { org: ca.certs, public: publicRoots(), system: systemRoots },
    now: new Date(now),
    settled: (partial) => probesSettled(partial, policy),
  });
  const decision = decideByProbes({ outcomes: verdicts, ...policy });
  const verdict = {
    act: decision.act,
    reason: decision.reason,
    message: decision.message,
    ...present({ failure: decision.failure }),
    warnings: decision.warnings,
  };
  try {
    await ensureDirectory(cacheDir, { purpose: 'the verdict cache', mode: 0o700 });
    writeVerdict(cachePath, { key, at: now, ...verdict });
  } catch (error) {
    lines.push(
      `::warning::org-ca: the verdict could not be cached in ${cacheDir} (${(error as Error).message}); the next job probes again.`,
    );
  }
  return verdict;
}

export async function jobStarted(config: RunnerConfig, env: Env, platform: Platform): Promise<JobOutcome> {
  const lines: string[] = [];
  const githubEnv = env.GITHUB_ENV;
  const hostTemp = env.RUNNER_TEMP;
  if (!githubEnv || !hostTemp)
    throw new Error(
      'GITHUB_ENV and RUNNER_TEMP are not set: this command runs as the Actions runner job-started hook.',
    );
  const ca = loadCa({ caFile: config.caFile }, new Date());
  const decision = await decide(config, ca, env, lines);
  if (decision.failure) throw new PolicyFailure(decision.failure);
  for (const warning of decision.warnings) lines.push(`::warning::org-ca: ${warning}`);
  lines.push(`org-ca: ${decision.message}`);
  if (!decision.act) return { lines, exported: [] };

  const dir = join(hostTemp, JOB_FILES_DIR);
  rmSync(dir, { recursive: true, force: true });
  // World-readable like the files in it: a job container may run as another user.
  await ensureDirectory(dir, { purpose: 'RUNNER_TEMP', mode: 0o755 });
  chmodSync(dir, 0o755);
  const native = resolveNative(config.strategy, ca.certs, ca.primary.subject, env);
  if (native.fallback) lines.push(`::warning::org-ca: ${native.fallback}`);
  let variables = [...native.variables.map(({ name, value }) => ({ name, value }))];
  if (native.useEnvFiles) {
    try {
      const injection = await prepareInjection({
        certs: ca.certs,
        env,
        platform,
        ...present({ tools: config.tools }),
        dir,
        ...present({ workspace: env.GITHUB_WORKSPACE }),
        onVerificationOff: config.onVerificationOff,
      });
      for (const warning of injection.warnings) lines.push(`::warning::org-ca: ${warning}`);
      variables = [...injection.plan.variables.map(({ name, value }) => ({ name, value })), ...variables];
      if (config.jobPaths === 'container' && injection.plan.files.wgetrc) {
        const wgetrc = injection.plan.files.wgetrc;
        writeFileSync(wgetrc, containerPath(readFileSync(wgetrc, 'utf8'), hostTemp));
      }
    } catch (error) {
      if (error instanceof VerificationOffError) throw new PolicyFailure(error.message);
      throw error;
    }
  }
  if (config.jobPaths === 'container')
    variables = variables.map((v) => ({ name: v.name, value: containerPath(v.value, hostTemp) }));
  appendFileSync(githubEnv, formatVariables(variables, 'github'));
  lines.push(
    `org-ca: ${variables.length} variables set for this job (${config.jobPaths} paths): ${variables.map((v) => v.name).join(', ')}.`,
  );
  return { lines, exported: variables.map((v) => v.name) };
}

/** Removes the job's files; never throws for a file already gone. */
export async function jobCompleted(env: Env): Promise<string[]> {
  // A trust-store journal left by a job whose post step never ran (cancelled, crashed runner): reverted here, so the
  // OS and browser stores never keep the CA past the job that added it.
  const journalPath = defaultJournalPath(env);
  const lines: string[] = [];
  if (existsSync(journalPath)) {
    const outcome = await removeFromStores({
      host: systemHost(),
      journalPath,
      ...present({ home: env.HOME }),
    });
    lines.push(
      ...outcome.changed.map((line) => `org-ca: ${line}`),
      ...outcome.notices.map((line) => `org-ca: ${line}`),
    );
  }
  // The same for registry trust under certs.d, for this job and any job that ended without reverting: a file is
  // removed only while it holds what org-ca wrote; the journals of other jobs still running are theirs.
  // Listed once to skip the lock when there is nothing, and again under it, where no other step changes them.
  if (registryJournalFiles(env).length) {
    const facts = { running: ownerRunning, ancestors: ancestry() };
    try {
      const outcomes = await withHostLock(
        registryLockPath(undefined, env),
        () => revertLeftoverJournals(registryJournalFiles(env), 'job-completed', facts, opsFor),
        (why) =>
          lines.push(`org-ca: registry trust is removed without the lock that orders jobs on this host: ${why}.`),
      );
      for (const outcome of outcomes) {
        if ('error' in outcome) lines.push(`org-ca: ${outcome.error}.`);
        if (!('reverted' in outcome)) continue;
        const { removed, shared, left } = undoReport(outcome.reverted);
        lines.push(...[removed, shared, ...left].filter((line) => line !== undefined).map((line) => `org-ca: ${line}`));
      }
    } catch (error) {
      lines.push(
        `org-ca: registry trust was not checked for leftovers: ${error instanceof Error ? error.message : String(error)}.`,
      );
    }
  }
  if (!env.RUNNER_TEMP) return [...lines, 'org-ca: RUNNER_TEMP is not set; nothing else to remove.'];
  const dir = join(env.RUNNER_TEMP, JOB_FILES_DIR);
  rmSync(dir, { recursive: true, force: true });
  return [...lines, `org-ca: removed ${dir}.`];
}
