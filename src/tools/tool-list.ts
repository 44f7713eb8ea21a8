import { OptionError } from '../options/parse.js';
import { TOOL_IDS } from './registry.js';

/** A list of tool ids separated by commas, spaces or new lines; `all` or empty means every tool (undefined). */
export function parseToolList(value: string, name = 'tools'): string[] | undefined {
  const ids = value
    .split(/[\s,]+/)
    .map((id) => id.trim().toLowerCase())
    .filter(Boolean);
  if (ids.length === 0 || ids.includes('all')) return undefined;
  const unknown = ids.filter((id) => !TOOL_IDS.includes(id));
  if (unknown.length) {
    throw new OptionError(
      `${name}: unknown tool '${unknown[0]}'. Expected 'all' or a list of: ${TOOL_IDS.join(', ')}.`,
    );
  }
  return [...new Set(ids)];
}
