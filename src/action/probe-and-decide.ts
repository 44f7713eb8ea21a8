/**
 * The first phase of the main step: whether to act. `when` other than auto decides alone; auto probes the job's
 * network path. The I/O shell around the pure decideBeforeProbe / decideByProbes: it logs, and returns everything
 * main.ts needs for the outputs and the summary (it sets no output itself).
 */
import * as core from '@actions/core';
import { validateCa, type ValidatedCa } from '../ca/validate.js';
import { detect } from '../detect/detect.js';
import { markdownSection, verdictLine } from '../detect/probe-report.js';
import { publicRoots, systemRoots } from '../detect/trust.js';
import { decideBeforeProbe, decideByProbes, probesSettled, type Decision } from '../decision/decide.js';
import type { Inputs } from './inputs.js';
import type { RunnerContext } from './runner.js';
import { log } from './log.js';
import { present } from '../lang/present.js';

export interface ActDecision {
  readonly decision: Decision;
  /** The CA to inject when it acts: the one given (already validated), or roots exported from the OS store. */
  readonly ca?: ValidatedCa;
  /** The CA given, validated, whether or not the step acts: the summary describes it also when the step fails. */
  readonly given?: ValidatedCa;
  /** Set when the step must fail. */
  readonly failure?: string;
  /** For the `inspected` and `issuer` outputs: what the probes saw (false and '' when nothing was probed). */
  readonly inspected: boolean;
  readonly issuer: string;
  /** Job summary sections (the probe table). */
  readonly sections: readonly string[];
}

/** `given` is the CA input, already loaded and validated by the caller (whatever `when` says). */
export async function probeAndDecide(
  inputs: Inputs,
  context: RunnerContext,
  given: ValidatedCa | undefined,
): Promise<ActDecision> {
  const early = decideBeforeProbe(inputs.when, context.environment);
  if (early)
    return {
      decision: early,
      ...present({ ca: early.act && given ? given : undefined, given }),
      inspected: false,
      issuer: '',
      sections: [],
    };

  const now = new Date();
  const trust = { org: given?.certs ?? [], public: publicRoots(inputs.publicRoots || undefined), system: systemRoots };
  const policy = {
    ...present({ ca: given ? { subject: given.primary.subject, fingerprint: given.primary.fingerprint } : undefined }),
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
    for (const v of found) log.info(verdictLine(v));
    return found;
  });

  const decision = decideByProbes({ outcomes: verdicts, ...policy });
  const seen = {
    inspected: decision.inspected,
    issuer: decision.issuer,
    sections: [markdownSection(verdicts)],
    ...present({ given }),
  };
  if (decision.failure) return { decision, failure: decision.failure, ...seen };
  for (const warning of decision.warnings) log.warning(warning);
  if (!decision.act) return { decision, ...seen };
  if (given) return { decision, ca: given, ...seen };
  // No CA given, and the proxy's root is trusted by the OS store: that root becomes the org CA (a pin still applies).
  const exported = validateCa(decision.osAnchors, {
    now,
    ...present({ pin: inputs.caFingerprint }),
  });
  return { decision, ca: exported, ...seen };
}
