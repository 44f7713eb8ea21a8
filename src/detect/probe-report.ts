/** How probe verdicts are shown: text for logs and the CLI, JSON for scripts, Markdown for the job summary. Pure. */
import { colonFingerprint, type Certificate } from '../ca/certificate.js';
import { describeClassification } from './classify.js';
import type { ProbeVerdict } from './detect.js';
import { escapeMarkdown } from '../output/markdown.js';
import { logLine } from '../output/log-line.js';
import { defined, present } from '../lang/present.js';

export interface ChainEntryJson {
  readonly subject: string;
  readonly issuer: string;
  readonly sha256: string;
  readonly notBefore: string;
  readonly notAfter: string;
}

export interface ProbeJson {
  readonly url: string;
  readonly verdict: string;
  readonly route: string;
  readonly reason?: string;
  readonly failure?: string;
  /** The leaf's issuer: what a person sees in a browser. */
  readonly issuer?: string;
  readonly anchor?: ChainEntryJson;
  /** As the server presented it, leaf first. */
  readonly chain: readonly ChainEntryJson[];
  readonly notes: readonly string[];
  readonly elapsedMs: number;
}

function entry(cert: Certificate): ChainEntryJson {
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    sha256: cert.fingerprint,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
  };
}

export function routeText(v: ProbeVerdict): string {
  if (!v.route) return 'not probed';
  return v.route.kind === 'proxy' ? `via proxy ${v.route.display} (${v.route.variable})` : `direct (${v.route.why})`;
}

function notesOf(v: ProbeVerdict): string[] {
  return [...(v.route?.notes ?? []), ...(v.classification?.notes ?? [])];
}

export function toJson(verdicts: readonly ProbeVerdict[]): ProbeJson[] {
  return verdicts.map((v) => ({
    url: v.url,
    verdict: v.verdict,
    route: routeText(v),
    ...defined({ issuer: v.classification?.leafIssuer }),
    ...present({
      reason: v.classification ? describeClassification(v.classification) : undefined,
      failure: v.failure ? `${v.failure.kind}: ${v.failure.message}` : undefined,
      anchor: v.classification?.anchor ? entry(v.classification.anchor) : undefined,
    }),
    chain: v.chain.map(entry),
    notes: notesOf(v),
    elapsedMs: v.elapsedMs,
  }));
}

/** One line per probe: what the action logs. */
export function verdictLine(v: ProbeVerdict): string {
  const why = v.classification
    ? describeClassification(v.classification)
    : `${v.verdict}: ${v.failure?.kind ?? 'no answer'}: ${v.failure?.message ?? ''}`;
  return `${v.url} ${routeText(v)} → ${why}`;
}

/** The human report of `org-ca detect`: verdict, then the chain as presented. */
export function formatText(verdicts: readonly ProbeVerdict[]): string {
  const out: string[] = [];
  for (const v of verdicts) {
    out.push(`${v.url}  ${v.verdict.toUpperCase()}  ${routeText(v)}  (${v.elapsedMs} ms)`);
    out.push(
      `  ${v.classification ? describeClassification(v.classification) : `${v.failure?.kind}: ${v.failure?.message}`}`,
    );
    if (v.chain.length) out.push('  chain as presented:');
    v.chain.forEach((cert, i) => {
      out.push(
        `    [${i}] ${cert.subject}`,
        `        issuer   ${cert.issuer}`,
        `        SHA-256  ${colonFingerprint(cert.fingerprint)}`,
        `        valid    ${cert.notBefore.toISOString()} → ${cert.notAfter.toISOString()}`,
      );
    });
    const anchor = v.classification?.anchor;
    if (anchor && !v.chain.some((c) => c.fingerprint === anchor.fingerprint)) {
      out.push(
        `  anchor (not sent, from the trust store): ${anchor.subject}`,
        `        SHA-256  ${colonFingerprint(anchor.fingerprint)}`,
      );
    }
    for (const note of notesOf(v)) out.push(`  note: ${note}`);
    out.push('');
  }
  // Subjects, issuers and proxy answers are the network's words: one printable line each.
  return out.map(logLine).join('\n');
}

const VERDICT_MARK: Readonly<Record<string, string>> = {
  direct: '🟢 direct',
  'org-ca': '🟠 org-ca',
  'os-trusted': '🟠 os-trusted',
  unknown: '🔴 unknown',
  unreachable: '⚪ unreachable',
};

/** The job summary section: a table of verdicts, then each chain. Untrusted text (names from certificates) escaped. */
export function markdownSection(verdicts: readonly ProbeVerdict[]): string {
  const lines = [
    '### TLS inspection probes',
    '',
    '| URL | Path | Verdict | Leaf issuer | Anchor / reason |',
    '|---|---|---|---|---|',
  ];
  for (const v of verdicts) {
    const anchor = v.classification?.anchor;
    const last =
      v.verdict === 'unknown' && v.classification
        ? `tops out at ${escapeMarkdown(v.classification.top.subject)}, SHA-256 \`${colonFingerprint(v.classification.top.fingerprint)}\``
        : anchor
          ? `${escapeMarkdown(anchor.subject)}, SHA-256 \`${colonFingerprint(anchor.fingerprint)}\``
          : escapeMarkdown(v.failure ? `${v.failure.kind}: ${v.failure.message}` : '');
    lines.push(
      `| ${escapeMarkdown(v.url)} | ${escapeMarkdown(routeText(v))} | ${VERDICT_MARK[v.verdict]} | ${escapeMarkdown(v.classification?.leafIssuer ?? '')} | ${last} |`,
    );
  }
  lines.push('');
  for (const v of verdicts) {
    if (!v.chain.length) continue;
    lines.push(
      `<details><summary>Chain presented for ${escapeMarkdown(v.url)} (${v.chain.length} certificate${v.chain.length > 1 ? 's' : ''})</summary>`,
      '',
    );
    lines.push('| # | Subject | Issuer | SHA-256 | Valid |', '|---|---|---|---|---|');
    v.chain.forEach((c, i) => {
      lines.push(
        `| ${i} | ${escapeMarkdown(c.subject)} | ${escapeMarkdown(c.issuer)} | \`${colonFingerprint(c.fingerprint)}\` | ${c.notBefore.toISOString().slice(0, 10)} → ${c.notAfter.toISOString().slice(0, 10)} |`,
      );
    });
    for (const note of notesOf(v)) lines.push('', `> ${escapeMarkdown(note)}`);
    lines.push('', '</details>', '');
  }
  return lines.join('\n');
}
