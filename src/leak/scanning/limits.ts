import { describeBytes } from './nested/budget.js';
import { DEFAULT_LIMITS, type ScanLimits } from '../types.js';

/**
 * The user-settable bounds, one table for the CLI flags and the sub-action inputs (same names, `--` for flags).
 * Pure: raw strings in, a partial ScanLimits out, or an error quoting the bad value.
 */
export const LIMIT_OPTIONS = [
  { name: 'max-depth', key: 'maxDepth', kind: 'count', help: 'how many archives deep to look inside files' },
  {
    name: 'max-layer-bytes',
    key: 'maxLayerBytes',
    kind: 'bytes',
    help: 'bound on one uncompressed layer (over it the check fails)',
  },
  {
    name: 'max-image-bytes',
    key: 'maxImageBytes',
    kind: 'bytes',
    help: 'bound on all uncompressed layers together (over it the check fails)',
  },
  {
    name: 'max-nested-layer-bytes',
    key: 'maxNestedLayerBytes',
    kind: 'bytes',
    help: 'bytes expanded from the files inside one layer',
  },
  {
    name: 'max-nested-image-bytes',
    key: 'maxNestedImageBytes',
    kind: 'bytes',
    help: 'bytes expanded from the files inside all layers',
  },
  {
    name: 'max-spill-bytes',
    key: 'maxSpillBytes',
    kind: 'bytes',
    help: 'bytes of archives written to TMPDIR to be opened, over the check: 4x the image, at least',
  },
] as const satisfies readonly { name: string; key: keyof ScanLimits; kind: 'count' | 'bytes'; help: string }[];

export type LimitName = (typeof LIMIT_OPTIONS)[number]['name'];

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** `4G`, `512MiB`, `100mb`, `1073741824`: binary units (a K is 1024). */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Math.floor(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

export function parseLimits(raw: (name: LimitName) => string | undefined, flagPrefix = ''): Partial<ScanLimits> {
  const out: Partial<Record<keyof ScanLimits, number>> = {};
  for (const o of LIMIT_OPTIONS) {
    const text = raw(o.name)?.trim();
    if (!text) continue;
    if (o.kind === 'count') {
      if (!/^\d+$/.test(text) || Number(text) > 64)
        throw new Error(`${flagPrefix}${o.name} '${text}' is not a whole number from 0 to 64`);
      out[o.key] = Number(text);
    } else {
      const n = parseBytes(text);
      if (n === undefined)
        throw new Error(
          `${flagPrefix}${o.name} '${text}' is not a size: expected bytes or a number with K, M, G or T (e.g. 16G)`,
        );
      out[o.key] = n;
    }
  }
  return out;
}

/** The defaults as the help and docs/leak-check.md say them. */
export function describeDefault(name: LimitName): string {
  const o = LIMIT_OPTIONS.find((x) => x.name === name)!;
  const v = DEFAULT_LIMITS[o.key];
  return o.kind === 'bytes' ? describeBytes(v).replace(/ (\w)iB$/, '$1') : String(v);
}

/** `true`/`false` as the runner spells booleans (YAML 1.2 core schema, as the Actions toolkit's getBooleanInput). */
export function parseBoolean(name: string, text: string): boolean {
  const t = text.trim();
  if (t === '') return false;
  if (/^(true|True|TRUE)$/.test(t)) return true;
  if (/^(false|False|FALSE)$/.test(t)) return false;
  throw new Error(`${name} '${t}' is not a boolean: expected true or false`);
}
