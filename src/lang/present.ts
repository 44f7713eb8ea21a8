/**
 * Optional fields are never written as `undefined` (exactOptionalPropertyTypes): an absent field and one set to
 * `undefined` differ to `in`, `Object.keys`, spreads over defaults and HTTP header objects. `present` builds the
 * optional part of an object in one place instead of a conditional spread per field.
 */

/** Whatever is not there: unset, or an input or variable that reads as the empty string. */
type Absent = undefined | '';

/** The fields whose value is there, typed as optional fields that hold no `undefined`. */
export type Present<T> = { [K in keyof T]?: Exclude<T[K], undefined> };

/**
 * Keeps the fields whose value is neither `undefined` nor `''` (an unset input or environment variable).
 * `0`, `false` and `null` are values and are kept.
 */
export function present<T extends Record<string, unknown>>(fields: T): Present<T> {
  return keep(fields, (value) => !isAbsent(value));
}

function isAbsent(value: unknown): value is Absent {
  return value === undefined || value === '';
}

/** Keeps the fields whose value is not `undefined`: for values where `''` means something (a password, a link target). */
export function defined<T extends Record<string, unknown>>(fields: T): Present<T> {
  return keep(fields, (value) => value !== undefined);
}

function keep<T extends Record<string, unknown>>(fields: T, there: (value: unknown) => boolean): Present<T> {
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) if (there(value)) kept[key] = value;
  return kept as Present<T>;
}
