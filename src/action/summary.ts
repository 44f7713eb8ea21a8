import { colonFingerprint } from '../ca/certificate.js';
import type { ValidatedCa } from '../ca/validate.js';
import type { Injection } from '../tools/inject.js';
import type { FileKind } from '../tools/registry.js';
import type { Decision } from '../decision/decide.js';
import { escapeMarkdown, markdownCode } from '../output/markdown.js';
import { redactValue } from '../output/redact.js';

export interface SummaryReport {
  readonly decision: Decision;
  /** Set when the step fails on its decision (an unknown issuer, a CA mismatch, unreachable with on-unreachable: fail). */
  readonly failure?: string;
  readonly ca?: ValidatedCa;
  readonly injection?: Injection;
  /** Extra sections (probe verdicts, build outputs) rendered by their own modules. */
  readonly sections?: readonly string[];
}

const NODE_CAVEAT =
  'NODE_EXTRA_CA_CERTS is read once when a Node process starts, so it reaches the later steps of this job, not this one; ' +
  'code that passes its own `ca` option to TLS ignores it. The runner refuses NODE_OPTIONS from GITHUB_ENV, so nothing here relies on it.';

const SEMANTICS_TEXT: Readonly<Record<FileKind, string>> = {
  ca: 'appends → org CA alone',
  bundle: 'replaces default roots → combined bundle',
  wgetrc: 'replaces → a wgetrc naming the combined bundle',
  wget2rc: 'replaces → a wget2rc naming the combined bundle',
  truststore: "replaces cacerts → the JDK's roots + org CA (JKS)",
  setting: 'keeps the OS verifier',
};

function headline(report: SummaryReport): string {
  if (report.failure) return `**Failed** — ${escapeMarkdown(report.failure)}`;
  return `**${report.decision.act ? 'Injected' : 'Not injected'}** — ${escapeMarkdown(report.decision.message)}`;
}

/**
 * Pure: the job summary as HTML/Markdown, in the order a reader needs it: the decision, the CA (subject, SHA-256,
 * expiry), the probes; then the variables, collapsed, and the notes. Certificate metadata only, never content.
 */
export function renderSummary(report: SummaryReport): string {
  const lines: string[] = ['## org-ca', '', headline(report), ''];
  if (report.ca) {
    const p = report.ca.primary;
    lines.push(
      '| CA subject | SHA-256 | Expires | Issuer | Certificates given |',
      '|---|---|---|---|---|',
      `| ${escapeMarkdown(p.subject)} | ${markdownCode(colonFingerprint(p.fingerprint))} | ${p.notAfter.toISOString().slice(0, 10)} | ${escapeMarkdown(p.issuer)} | ${report.ca.certs.length} |`,
      '',
    );
    for (const warning of report.ca.warnings) lines.push(`> ⚠️ ${escapeMarkdown(warning)}`, '');
  }
  for (const section of report.sections ?? []) lines.push(section, '');
  if (report.injection) {
    const { plan, bundle } = report.injection;
    // A blank line after <summary> and before </details>: GitHub renders the Markdown table inside only then.
    lines.push(`<details><summary>${plan.variables.length} variables exported for the rest of the job</summary>`, '');
    lines.push('| Variable | For | Semantics | Points at |', '|---|---|---|---|');
    for (const v of plan.variables) {
      const semantics = SEMANTICS_TEXT[v.file];
      lines.push(
        `| ${markdownCode(v.name)} | ${escapeMarkdown(v.readers)} | ${semantics} | ${markdownCode(redactValue(v.name, v.value))} |`,
      );
    }
    lines.push('', '</details>', '');
    lines.push(
      `Combined bundle: ${bundle.count} certificates (${bundle.added.map((a) => `${escapeMarkdown(a.label)}: ${a.count}`).join(', ')}).`,
      '',
    );
    if (report.injection.truststoreBase)
      lines.push(`Java truststore: ${escapeMarkdown(report.injection.truststoreBase)} + the org CA.`, '');
    for (const note of [...plan.notes, ...report.injection.warnings]) lines.push(`- ${escapeMarkdown(note)}`);
    lines.push(`- ${escapeMarkdown(NODE_CAVEAT)}`, '');
  }
  return lines.join('\n');
}

/** Pure: the summary of a step that failed before deciding (a bad input, verification switched off): why, in one line. */
export function renderFailureSummary(message: string): string {
  return ['## org-ca', '', `**Failed** — ${escapeMarkdown(message)}`, ''].join('\n');
}
