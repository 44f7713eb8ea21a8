import * as core from '@actions/core';
import { loadGivenCa, noCaGiven } from '../ca/load.js';
import { makeTempDirectory } from '../fs/ensure-directory.js';
import { prepareInjection } from '../tools/inject.js';
import { prepareBuild, type PreparedBuild } from './build-outputs.js';
import { getInputs } from './inputs.js';
import { buildOutputValues, setActionOutputs } from './outputs.js';
import { probeAndDecide } from './probe-and-decide.js';
import { runnerContext } from './runner.js';
import { saveBuildContextDir, saveFilesDir } from './state.js';
import { renderFailureSummary, renderSummary } from './summary.js';
import { addToSystemStores } from './system-store.js';
import { resolveNative } from '../native/os-store-check.js';
import { nativeSection } from '../native/summary-section.js';
import { registryOutputValues, setUpRegistryTrust } from './registry-trust.js';
import { log } from './log.js';
import { JVM_OPTION_VARIABLES, redactValue, secretsIn } from '../output/redact.js';
import { present } from '../lang/present.js';

async function writeSummary(markdown: string): Promise<void> {
  if (!process.env.GITHUB_STEP_SUMMARY) return;
  await core.summary.addRaw(markdown, true).write();
}

/** The build context is written whether or not the CA is injected: saved for the post step, its warnings logged. */
async function build(temp: string, files?: { readonly ca: string; readonly bundle: string }): Promise<PreparedBuild> {
  const prepared = await prepareBuild(temp, process.env, files);
  saveBuildContextDir(prepared.helperDir);
  for (const note of prepared.outputs.skipped) log.warning(`build-args: left out ${note}`);
  return prepared;
}

/**
 * The main step. Every output is set here, once, from what the other modules return (as docker/build-push-action's
 * main.ts does): probeAndDecide says whether to act, prepareInjection writes the files, prepareBuild the build context.
 */
/**
 * Exports a variable after telling the runner to mask its secret parts: a JVM option variable keeps the job's own
 * `-D…Password=…`, and the runner then masks it in every later log line too.
 */
function exportQuietly(name: string, value: string): void {
  // The job's own part of the value (org-ca's truststore password is the JDK's public default, not a secret).
  for (const secret of secretsIn(name, process.env[name] ?? '')) core.setSecret(secret);
  core.exportVariable(name, value);
}

/** Proxy credentials in the job's environment are masked before anything could print them. */
function maskProxyCredentials(env: NodeJS.ProcessEnv): void {
  for (const name of [
    'HTTPS_PROXY',
    'https_proxy',
    'HTTP_PROXY',
    'http_proxy',
    'ALL_PROXY',
    'all_proxy',
    ...JVM_OPTION_VARIABLES,
  ]) {
    for (const secret of secretsIn(name, env[name] ?? '')) core.setSecret(secret);
  }
}

export async function run(): Promise<void> {
  try {
    maskProxyCredentials(process.env);
    const inputs = getInputs();
    const context = runnerContext(process.env);
    // Loaded and judged first, whatever `when` says: a private key pasted into the secret fails on every runner kind.
    const given = loadGivenCa({ ca: inputs.ca, caFile: inputs.caFile, fingerprint: inputs.caFingerprint }, new Date());
    const acting = await probeAndDecide(inputs, context, given);
    const { decision, failure, sections } = acting;
    const seen = { inspected: acting.inspected ? 'true' : 'false', issuer: acting.issuer } as const;
    if (!decision.act) {
      // A failure carries the same sentence: say it once, as the error.
      if (!failure) log.info(decision.message);
      // `when: never` is "leave this job alone": not even the no-op build helper is written.
      const prepared = inputs.when === 'never' ? undefined : await build(context.temp);
      const buildValues = prepared
        ? buildOutputValues(prepared.outputs)
        : { 'secret-files': '', 'build-contexts': '', 'build-args': '', 'docker-flags': '' };
      setActionOutputs({
        injected: 'false',
        reason: decision.reason,
        ...seen,
        ...buildValues,
        ...registryOutputValues(inputs.registries.hosts),
      });
      await writeSummary(
        renderSummary({
          decision,
          ...present({ failure, ca: acting.given }),
          sections,
        }),
      );
      if (failure) log.setFailed(failure);
      return;
    }

    if (!acting.ca) throw noCaGiven();
    const ca = acting.ca;
    for (const warning of ca.warnings) log.warning(warning);

    // Before the native check: a CA this step puts into the OS store is one the native switches can then use.
    await addToSystemStores(inputs.systemStore, ca.certs);
    // strategy native/both: the OS-store switches, only where the OS bundle holds the CA (read here, not assumed).
    const native = resolveNative(inputs.strategy, ca.certs, ca.primary.subject, process.env);
    if (native.fallback) log.warning(native.fallback);
    for (const note of native.notes) if (note !== native.fallback) log.info(note);
    for (const variable of native.variables) {
      exportQuietly(variable.name, variable.value);
      log.info(
        `${variable.name}=${redactValue(variable.name, variable.value)}  (${variable.readers}: reads the OS store)`,
      );
    }
    const nativeSections = native.variables.length ? [nativeSection(native)] : [];
    if (!native.useEnvFiles) {
      log.info(decision.message);
      const prepared = await build(context.temp);
      setActionOutputs({
        injected: 'true',
        reason: decision.reason,
        ...seen,
        fingerprint: ca.primary.fingerprint,
        ...buildOutputValues(prepared.outputs),
        ...registryOutputValues(inputs.registries.hosts),
      });
      await writeSummary(renderSummary({ decision, ca, sections: [...nativeSections, ...sections] }));
      return;
    }

    // World-readable (0755) like the files in it: apt fetches as `_apt`, job containers may run as another user.
    const dir = await makeTempDirectory(context.temp, 'org-ca-', { purpose: 'RUNNER_TEMP' });
    // Saved before anything is written, so the post step cleans up even after a failure half-way.
    saveFilesDir(dir);
    const injection = await prepareInjection({
      certs: ca.certs,
      env: process.env,
      platform: context.platform,
      ...present({ tools: inputs.tools }),
      dir,
      dirPurpose: 'RUNNER_TEMP',
      ...present({ workspace: context.workspace }),
      onVerificationOff: inputs.onVerificationOff,
    });
    for (const warning of injection.warnings) log.warning(warning);
    for (const note of injection.plan.notes) log.info(note);

    core.startGroup(`Exported ${injection.plan.variables.length} variables for the rest of the job`);
    for (const variable of injection.plan.variables) {
      exportQuietly(variable.name, variable.value);
      log.info(
        `${variable.name}=${redactValue(variable.name, variable.value)}  (${variable.readers}; ${variable.semantics})`,
      );
    }
    core.endGroup();
    log.info(decision.message);
    const prepared = await build(context.temp, injection.plan.files);
    await setUpRegistryTrust(inputs.registries, injection.plan.files.ca);
    setActionOutputs({
      injected: 'true',
      reason: decision.reason,
      ...seen,
      'ca-path': injection.plan.files.ca,
      'bundle-path': injection.plan.files.bundle,
      fingerprint: ca.primary.fingerprint,
      ...buildOutputValues(prepared.outputs),
      ...registryOutputValues(inputs.registries.hosts, injection.plan.files.ca),
    });
    await writeSummary(renderSummary({ decision, ca, injection, sections: [...nativeSections, ...sections] }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log.setFailed(message);
    // The summary says why too, where people look first; a summary that cannot be written must not hide the error.
    await writeSummary(renderFailureSummary(message)).catch(() => undefined);
  }
}
