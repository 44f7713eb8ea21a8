import { OptionError } from '../options/parse.js';
import { DEFAULT_PROBE_URLS } from './detect.js';
import { parseTarget, TargetError } from './route.js';

/** Probe URLs separated by commas, spaces or new lines; each must be https:// (a bare host gets it). */
export function parseProbeUrls(value: string): string[] {
  const given = value.split(/[\s,]+/).filter(Boolean);
  const items = given.length ? given : DEFAULT_PROBE_URLS;
  try {
    return items.map((item) => parseTarget(item).url);
  } catch (error) {
    throw new OptionError(`probe-urls: ${error instanceof TargetError ? error.message : String(error)}`);
  }
}
