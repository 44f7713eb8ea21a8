import { escapeMarkdown, markdownCode } from '../output/markdown.js';
import { redactValue } from '../output/redact.js';
import type { NativePlan } from './switch-plan.js';

/** Pure: the job-summary section listing the native switches that were exported. */
export function nativeSection(plan: NativePlan): string {
  const lines = ['### Native verifiers (the OS store holds the CA)', '', '| Variable | Value | For |', '|---|---|---|'];
  for (const v of plan.variables)
    lines.push(
      `| ${markdownCode(v.name)} | ${markdownCode(redactValue(v.name, v.value))} | ${escapeMarkdown(v.readers)} |`,
    );
  for (const note of plan.notes) lines.push('', `- ${escapeMarkdown(note)}`);
  return lines.join('\n');
}
