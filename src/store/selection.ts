/** Which stores a call touches: the operating system's, and the browsers' NSS databases of the current user. */
export interface StoreSelection {
  readonly os: boolean;
  readonly browsers: boolean;
}

export const NO_STORES: StoreSelection = { os: false, browsers: false };

export class StoreSelectionError extends Error {
  override readonly name = 'StoreSelectionError';
}

/**
 * `os`, `browsers` or `os,browsers`; for the action's `system-store` input also `true` (= os) and `false`/empty
 * (none). `name` is how the caller's user spells the setting, for the message.
 */
export function parseStoreSelection(name: string, value: string, allowBoolean: boolean): StoreSelection {
  const v = value.trim().toLowerCase();
  if (allowBoolean && (v === '' || v === 'false')) return NO_STORES;
  if (allowBoolean && v === 'true') return { os: true, browsers: false };
  const words = v
    .split(',')
    .map((w) => w.trim())
    .filter(Boolean);
  if (words.length === 0 || words.some((w) => w !== 'os' && w !== 'browsers')) {
    throw new StoreSelectionError(
      `Invalid ${name} '${value.trim()}'. Expected ${allowBoolean ? 'false, true, ' : ''}os, browsers or os,browsers.`,
    );
  }
  return { os: words.includes('os'), browsers: words.includes('browsers') };
}
