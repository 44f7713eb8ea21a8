import { colonFingerprint, type Certificate } from '../ca/certificate.js';
import { INSPECTED, type Classification, type Verdict } from '../detect/classify.js';
import type { OnUnknown, OnUnreachable, When } from '../options/values.js';
import type { Reason } from './reasons.js';

/** Why the step acted or not: `reason` is the stable code for workflows, `message` the sentence for people. */
export interface Decision {
  readonly act: boolean;
  readonly reason: Reason;
  readonly message: string;
}

/** Pure: whether to inject, from the `when` input and the runner's kind (RUNNER_ENVIRONMENT). */
export function decideByRunner(when: Exclude<When, 'auto'>, runnerEnvironment: string | undefined): Decision {
  switch (when) {
    case 'never':
      return { act: false, reason: 'when-never', message: "when is 'never': nothing was changed." };
    case 'always':
      return { act: true, reason: 'when-always', message: "when is 'always': the org CA is injected on any runner." };
    case 'self-hosted':
      if (runnerEnvironment === 'github-hosted') {
        return {
          act: false,
          reason: 'github-hosted-runner',
          message:
            'GitHub-hosted runner (RUNNER_ENVIRONMENT=github-hosted): its traffic is not inspected by your organisation, so nothing was changed.',
        };
      }
      // GitHub-hosted runners always set RUNNER_ENVIRONMENT; older self-hosted/GHES runners may not.
      return {
        act: true,
        reason: 'self-hosted-runner',
        message: `Self-hosted runner (RUNNER_ENVIRONMENT=${runnerEnvironment ?? 'unset'}): the org CA is injected.`,
      };
  }
}

/** Before any probe: `when` other than auto is decided by the runner kind alone; auto no-ops on GitHub-hosted runners. */
export function decideBeforeProbe(when: When, runnerEnvironment: string | undefined): Decision | undefined {
  if (when !== 'auto') return decideByRunner(when, runnerEnvironment);
  if (runnerEnvironment === 'github-hosted') {
    return {
      act: false,
      reason: 'github-hosted-runner',
      message:
        'GitHub-hosted runner (RUNNER_ENVIRONMENT=github-hosted): its traffic is not inspected by your organisation, so nothing was probed or changed.',
    };
  }
  return undefined;
}

/** What the decision needs of one probe (ProbeVerdict fits). */
export interface ProbeOutcome {
  readonly url: string;
  readonly verdict: Verdict;
  readonly classification?: Classification;
}

export interface ProbeDecisionInput {
  readonly outcomes: readonly ProbeOutcome[];
  /** The CA given to the action, if any (its primary certificate names it in messages). */
  readonly ca?: { readonly subject: string; readonly fingerprint: string };
  readonly onUnknown: OnUnknown;
  readonly onUnreachable: OnUnreachable;
}

export interface ProbeDecision extends Decision {
  /** Set when the step must fail: the one-line message. */
  readonly failure?: string;
  readonly warnings: readonly string[];
  /** Some probe saw a chain that does not anchor in the public roots. */
  readonly inspected: boolean;
  /** The leaf issuer of the first inspected probe, as a browser shows it; '' when none. */
  readonly issuer: string;
  /** For `inspected-os-trusted`: the OS-store roots to inject as the org CA. */
  readonly osAnchors: readonly Certificate[];
}

function named(subject: string, fingerprint: string): string {
  return `'${subject}' (SHA-256 ${colonFingerprint(fingerprint)})`;
}

/** 'X' (SHA-256 …, sent along) when the server sent the unknown root; else its name and the top of what was sent. */
export function unknownIssuer(c: Classification): string {
  return c.top.subject === c.top.issuer
    ? `${named(c.top.issuer, c.top.fingerprint)}, sent along by the server`
    : `'${c.top.issuer}' (not sent; the chain as sent tops out at ${named(c.top.subject, c.top.fingerprint)})`;
}

/** The problems that make auto mode refuse: a foreign issuer, or one other than the CA given. */
function problemsOf(input: ProbeDecisionInput): string[] {
  const given = input.ca ? `; the CA given is ${named(input.ca.subject, input.ca.fingerprint)}` : '';
  const problems: string[] = [];
  for (const o of input.outcomes) {
    const c = o.classification;
    if (!c) continue;
    if (o.verdict === 'unknown') {
      problems.push(`${o.url} is re-signed by an unknown issuer ${unknownIssuer(c)}${given}`);
    } else if (o.verdict === 'os-trusted' && input.ca) {
      problems.push(
        `${o.url} is re-signed by ${named(c.anchor!.subject, c.anchor!.fingerprint)} from the OS store, not by the CA given${given}`,
      );
    }
  }
  return problems;
}

/** Whether the verdicts so far fix the outcome, so the remaining probes need not be awaited (a failure is final). */
export function probesSettled(
  partial: readonly (ProbeOutcome | undefined)[],
  input: Omit<ProbeDecisionInput, 'outcomes'>,
): boolean {
  if (input.onUnknown !== 'fail') return false;
  return problemsOf({ ...input, outcomes: partial.filter((o): o is ProbeOutcome => o !== undefined) }).length > 0;
}

/**
 * Pure: auto mode's decision from the probes' verdicts (issue 3). In order: a foreign or mismatched issuer fails
 * (on-unknown), a chain anchored in the CA given injects it, one anchored in a non-public OS root injects that root
 * when no CA was given, a public chain changes nothing, and all-unreachable follows on-unreachable.
 */
export function decideByProbes(input: ProbeDecisionInput): ProbeDecision {
  const by = (v: Verdict): ProbeOutcome[] => input.outcomes.filter((o) => o.verdict === v);
  const inspectedOutcomes = input.outcomes.filter((o) => INSPECTED.includes(o.verdict));
  const inspected = inspectedOutcomes.length > 0;
  const issuer = inspectedOutcomes[0]?.classification?.leafIssuer ?? '';
  const base = { inspected, issuer, osAnchors: [] as Certificate[] };
  const warnings: string[] = [];
  const total = input.outcomes.length;

  const problems = problemsOf(input);
  // With a CA given, another signer is a mismatch (the message names both); without one, an unknown issuer.
  const problemReason: Reason = input.ca ? 'ca-mismatch' : 'unknown-issuer';
  if (problems.length) {
    if (input.onUnknown === 'fail') {
      const lead = input.ca
        ? 'TLS inspection by a CA other than the one given'
        : 'TLS inspection by an issuer nobody provided';
      // `ca: ${{ secrets.ORG_CA }}` with a misspelt secret name reads as an empty string, not as an error: say so.
      const empty = input.ca
        ? ''
        : ' No CA was given: ca and ca-file are both empty (a secret that does not exist reads as empty: check its name).';
      const failure = `${lead}: ${problems.join('. ')}.${empty} Give that CA (ca / ca-file) if it is your organisation's, or set on-unknown: 'warn' to continue.`;
      return { ...base, act: false, reason: problemReason, message: failure, failure, warnings };
    }
    warnings.push(...problems);
  }

  const org = by('org-ca');
  if (org.length) {
    return {
      ...base,
      act: true,
      reason: 'inspected-org-ca',
      message: `TLS inspection seen on ${org.length} of ${total} probe(s) (${org.map((o) => o.url).join(', ')}), re-signed by the CA given: it is injected.`,
      warnings,
    };
  }
  const os = by('os-trusted');
  if (os.length && !input.ca) {
    const anchors = [
      ...new Map(os.map((o) => [o.classification!.anchor!.fingerprint, o.classification!.anchor!])).values(),
    ];
    return {
      ...base,
      osAnchors: anchors,
      act: true,
      reason: 'inspected-os-trusted',
      message:
        `TLS inspection seen on ${os.length} of ${total} probe(s), re-signed by ${anchors.map((a) => named(a.subject, a.fingerprint)).join(', ')}, ` +
        'which the OS store trusts but is not public: no CA was given, so that root is exported from the OS store and injected.',
      warnings,
    };
  }
  if (problems.length) {
    return {
      ...base,
      act: false,
      reason: problemReason,
      message: `Nothing was injected: ${problems.join('. ')}.`,
      warnings,
    };
  }
  const direct = by('direct');
  if (direct.length) {
    const unreachable = by('unreachable');
    if (unreachable.length)
      warnings.push(
        `${unreachable.length} probe(s) got no answer (${unreachable.map((o) => o.url).join(', ')}); the others saw no inspection.`,
      );
    return {
      ...base,
      act: false,
      reason: 'not-inspected',
      message: `No TLS inspection: ${direct.length} of ${total} probe(s) anchor in public roots, so nothing was changed.`,
      warnings,
    };
  }

  const none = `No probe got an answer (${input.outcomes.map((o) => o.url).join(', ') || 'no probe URL'})`;
  switch (input.onUnreachable) {
    case 'fail': {
      const failure = `${none}, and on-unreachable is 'fail'.`;
      return { ...base, act: false, reason: 'unreachable', message: failure, failure, warnings };
    }
    case 'skip':
      return {
        ...base,
        act: false,
        reason: 'unreachable-skip',
        message: `${none}; on-unreachable is 'skip', so nothing was changed.`,
        warnings,
      };
    case 'inject':
      if (!input.ca) {
        warnings.push(`${none}, and no CA was given: nothing to inject.`);
        return {
          ...base,
          act: false,
          reason: 'unreachable-no-ca',
          message: `${none}, and no CA was given: nothing was changed.`,
          warnings,
        };
      }
      warnings.push(`${none}: injecting the CA given anyway (on-unreachable: 'inject', for air-gapped runners).`);
      return {
        ...base,
        act: true,
        reason: 'unreachable-inject',
        message: `${none}; on-unreachable is 'inject', so the CA given is injected.`,
        warnings,
      };
  }
}
