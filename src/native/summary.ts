import { escapeHtml } from '../action/summary.js';
import type { NativePlan } from './plan.js';

/** Pure: the job-summary section listing the native switches that were exported. */
export function nativeSection(plan: NativePlan): string {
  const lines = ['### Native verifiers (the OS store holds the CA)', '', '| Variable | Value | For |', '|---|---|---|'];
  for (const v of plan.variables) lines.push(`| \`${escapeHtml(v.name)}\` | \`${escapeHtml(v.value)}\` | ${escapeHtml(v.readers)} |`);
  for (const note of plan.notes) lines.push('', `- ${escapeHtml(note)}`);
  return lines.join('\n');
}
