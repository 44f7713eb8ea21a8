import type { LintFinding, LintResult } from './lint.js';
import { RULES } from './rules.js';
import { present } from '../lang/present.js';

/** Renderings of a lint result: terminal text, annotations (data) and SARIF 2.1.0. Pure. */

function label(f: LintFinding): string {
  return f.ignored ? `ignored (${f.ignored.reason})` : f.severity;
}

export function renderLintText(file: string, result: LintResult): string {
  const stages = result.stages.map((s) => `${s.name}${s.inRelease ? ' (release)' : ''}`).join(', ');
  const lines = [`org-ca lint: ${file}: target '${result.target}', stages: ${stages}`];
  for (const f of result.findings) {
    lines.push(`${file}:${f.line}: ${label(f)} ${f.rule} ${f.name} [stage '${f.stage}']: ${f.message}`);
    lines.push(`    fix: ${f.fix}`);
  }
  lines.push(...result.notes.map((n) => `note: ${n}`));
  const errors = result.findings.filter((f) => f.severity === 'error' && !f.ignored).length;
  const ignored = result.findings.filter((f) => f.ignored).length;
  const info = result.findings.filter((f) => f.severity === 'info' && !f.ignored).length;
  const counts = `${errors} error(s), ${info} info, ${ignored} ignored`;
  lines.push(
    result.failed
      ? `FAILED: ${counts}: the release image would hold a CA.`
      : `OK: ${counts}: nothing puts a CA into the release image.`,
  );
  return lines.join('\n');
}

export interface LintAnnotation {
  readonly level: 'error' | 'notice';
  readonly title: string;
  readonly message: string;
  readonly line: number;
}

/** One annotation per finding that is not ignored: errors for the release image, notices for other stages. */
export function lintAnnotations(result: LintResult): LintAnnotation[] {
  return result.findings
    .filter((f) => !f.ignored)
    .map((f) => ({
      level: f.severity === 'error' ? 'error' : 'notice',
      title: `${f.severity === 'error' ? 'CA would leak' : 'CA in a build stage only'}: ${f.rule} ${f.name}`,
      message: `${f.message} Fix: ${f.fix}`,
      line: f.line,
    }));
}

/** SARIF 2.1.0; an ignored finding carries a `suppressions` entry (inSource for comments, external for --ignore). */
/** The lint's rules as SARIF reportingDescriptors (shared with the leak-check sub-action's combined SARIF). */
export function lintSarifRules(): object[] {
  return RULES.map((r) => ({
    id: r.id,
    name: r.name,
    shortDescription: { text: r.what },
    fullDescription: { text: r.why },
    help: { text: r.fix },
    defaultConfiguration: { level: 'error' },
  }));
}

/** One SARIF result per finding; information-level ones as notes, ignored ones with their suppression. */
export function lintSarifResults(uri: string, result: LintResult): object[] {
  return result.findings.map((f) => ({
    ruleId: f.rule,
    level: f.severity === 'error' ? 'error' : 'note',
    message: {
      text: `${f.message} (stage '${f.stage}'${f.inRelease ? ', release image' : ', not in the release image'}). Fix: ${f.fix}`,
    },
    locations: [{ physicalLocation: { artifactLocation: { uri }, region: { startLine: f.line } } }],
    partialFingerprints: { 'orgCaLint/v1': `${f.rule}|${f.stage}|${f.message}` },
    ...present({
      suppressions: f.ignored
        ? [{ kind: f.ignored.by === 'inline' ? 'inSource' : 'external', justification: f.ignored.reason }]
        : undefined,
    }),
  }));
}

export function renderLintSarif(file: string, result: LintResult): object {
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      { tool: { driver: { name: 'org-ca lint', rules: lintSarifRules() } }, results: lintSarifResults(file, result) },
    ],
  };
}
