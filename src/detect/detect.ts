/** Probe, then classify each answer: what both the action and `org-ca detect` run. */
import type { Certificate } from '../ca/certificate.js';
import { classifyChain, type Classification, type Verdict } from './classify.js';
import { probeAll, type ProbeResult } from './probe.js';
import type { Env } from './route.js';
import { present } from '../lang/present.js';

export const DEFAULT_PROBE_URLS: readonly string[] = ['https://github.com', 'https://registry.npmjs.org'];
export const DEFAULT_PROBE_TIMEOUT_MS = 5000;

export interface ProbeVerdict extends ProbeResult {
  readonly verdict: Verdict;
  readonly classification?: Classification;
}

export interface JudgeTrust {
  readonly org: readonly Certificate[];
  readonly public: readonly Certificate[];
  /** Read on demand: only a chain that anchors in neither the org CA nor the public roots needs the OS store. */
  readonly system: () => readonly Certificate[];
}

/** A probe's answer → its verdict. Pure but for the lazy OS-store read. */
export function judge(result: ProbeResult, trust: JudgeTrust, now: Date): ProbeVerdict {
  if (result.failure || result.chain.length === 0) return { ...result, verdict: 'unreachable' };
  const sets = { org: trust.org, public: trust.public, system: [] };
  let classification = classifyChain(result.chain, sets, now);
  if (classification.verdict === 'unknown')
    classification = classifyChain(result.chain, { ...sets, system: trust.system() }, now);
  return { ...result, verdict: classification.verdict, classification };
}

export interface DetectOptions {
  readonly urls: readonly string[];
  readonly env: Env;
  readonly timeoutMs: number;
  readonly trust: JudgeTrust;
  readonly now: Date;
  /** Ends the remaining probes once the verdicts so far decide (undefined = still running). */
  readonly settled?: (partial: readonly (ProbeVerdict | undefined)[]) => boolean;
}

export async function detect(options: DetectOptions): Promise<ProbeVerdict[]> {
  const judged = new Map<ProbeResult, ProbeVerdict>();
  const verdictOf = (r: ProbeResult): ProbeVerdict => {
    let v = judged.get(r);
    if (!v) {
      v = judge(r, options.trust, options.now);
      judged.set(r, v);
    }
    return v;
  };
  const settled = options.settled;
  const results = await probeAll(options.urls, {
    env: options.env,
    timeoutMs: options.timeoutMs,
    ...present({
      stopWhen: settled
        ? (partial: readonly (ProbeResult | undefined)[]) => settled(partial.map((r) => (r ? verdictOf(r) : undefined)))
        : undefined,
    }),
  });
  return results.map(verdictOf);
}
