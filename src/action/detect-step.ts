/**
 * The `when` phase of the main step: decides whether to act, probing the network in auto mode. I/O shell around the
 * pure decideBeforeProbe / decideByProbes; owns the `inspected` and `issuer` outputs.
 */
import * as core from '@actions/core';
import { validateCa, type ValidatedCa } from '../ca/validate.js';
import { detect } from '../detect/detect.js';
import { markdownSection, verdictLine } from '../detect/report.js';
import { publicRoots, systemRoots } from '../detect/trust.js';
import { decideBeforeProbe, decideByProbes, probesSettled, type Decision } from './decide.js';
import type { Inputs } from './inputs.js';
import type { RunnerContext } from './runner.js';

export interface WhenOutcome {
  readonly decision: Decision;
  /** The CA to inject when it acts: the one given (already validated), or roots exported from the OS store. */
  readonly ca?: ValidatedCa;
  /** Set when the step must fail. */
  readonly failure?: string;
  /** Job summary sections (the probe table). */
  readonly sections: readonly string[];
}

function setDetectionOutputs(inspected: boolean, issuer: string): void {
  core.setOutput('inspected', inspected ? 'true' : 'false');
  core.setOutput('issuer', issuer);
}

/** `given` is the CA input, already loaded and validated by the caller (whatever `when` says). */
export async function decideWhen(inputs: Inputs, context: RunnerContext, given: ValidatedCa | undefined): Promise<WhenOutcome> {
  const early = decideBeforeProbe(inputs.when, context.environment);
  if (early) {
    setDetectionOutputs(false, '');
    return { decision: early, ...(early.act && given ? { ca: given } : {}), sections: [] };
  }

  const now = new Date();
  const trust = { org: given?.certs ?? [], public: publicRoots(inputs.publicRoots || undefined), system: systemRoots };
  const policy = {
    ...(given ? { ca: { subject: given.primary.subject, fingerprint: given.primary.fingerprint } } : {}),
    onUnknown: inputs.onUnknown,
    onUnreachable: inputs.onUnreachable,
  };
  const verdicts = await core.group(`Probing ${inputs.probeUrls.length} URL(s) for TLS inspection`, async () => {
    const found = await detect({
      urls: inputs.probeUrls,
      env: process.env,
      timeoutMs: inputs.probeTimeoutMs,
      trust,
      now,
      settled: (partial) => probesSettled(partial, policy),
    });
    for (const v of found) core.info(verdictLine(v));
    return found;
  });

  const decision = decideByProbes({ outcomes: verdicts, ...policy });
  setDetectionOutputs(decision.inspected, decision.issuer);
  const sections = [markdownSection(verdicts)];
  if (decision.failure) return { decision, failure: decision.failure, sections };
  for (const warning of decision.warnings) core.warning(warning);
  if (!decision.act) return { decision, sections };
  if (given) return { decision, ca: given, sections };
  // No CA given, and the proxy's root is trusted by the OS store: that root becomes the org CA (a pin still applies).
  const exported = validateCa(decision.osAnchors, { now, ...(inputs.caFingerprint ? { pin: inputs.caFingerprint } : {}) });
  return { decision, ca: exported, sections };
}
