/**
 * The JSON documents of an image input, checked for shape before anything reads them: a `null` where a descriptor
 * belongs, `Env` as a string or a number where a digest belongs must end in one line that names the file and the
 * field, never in a JavaScript TypeError deep inside the planner. A dozen lines of combinators cover the handful of
 * documents we read (OCI image-spec index, manifest, config; docker save's manifest.json); extra fields are allowed,
 * as the specs require of readers.
 */

export class ShapeError extends Error {
  override readonly name = 'ShapeError';
}

/** Checks `value` found at `field` (e.g. `manifests[2].digest`) and returns it typed, or throws ShapeError. */
export type Shape<T> = (value: unknown, field: string) => T;

/** How a wrong value is described: its JSON type, and a short quote of a scalar (never a long one: it may be a secret). */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string')
    return value.length <= 40 ? `the string ${JSON.stringify(value)}` : `a string of ${value.length} characters`;
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'boolean') return `the boolean ${value}`;
  if (value === undefined) return 'missing';
  return 'an object';
}

function fail(field: string, value: unknown, expected: string): never {
  throw new ShapeError(`${field || 'the document'} is ${describeValue(value)}, expected ${expected}`);
}

function join(field: string, key: string): string {
  return /^[A-Za-z_][\w]*$/.test(key) ? (field ? `${field}.${key}` : key) : `${field}[${JSON.stringify(key)}]`;
}

export const string: Shape<string> = (v, field) => (typeof v === 'string' ? v : fail(field, v, 'a string'));

export const boolean: Shape<boolean> = (v, field) => (typeof v === 'boolean' ? v : fail(field, v, 'true or false'));

export const count: Shape<number> = (v, field) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : fail(field, v, 'a whole number ≥ 0');

/** `algorithm:encoded` (image-spec descriptor.md), the encoding limited to what a file name can safely be. */
export const digest: Shape<string> = (v, field) =>
  typeof v === 'string' && /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(v)
    ? v
    : fail(field, v, "a digest such as 'sha256:<64 hex digits>'");

/** The field may be absent; `null` is still wrong. */
export function optional<T>(shape: Shape<T>): Shape<T | undefined> {
  return (v, field) => (v === undefined ? undefined : shape(v, field));
}

/** Absent or `null` (Go's encoding/json writes a nil slice or map as null: moby#47210, moby#47065). */
export function nullable<T>(shape: Shape<T>): Shape<T | undefined> {
  return (v, field) => (v === undefined || v === null ? undefined : shape(v, field));
}

export function listOf<T>(item: Shape<T>, what: string): Shape<T[]> {
  return (v, field) => {
    if (!Array.isArray(v)) fail(field, v, `a list of ${what}`);
    return v.map((x, i) => item(x, `${field}[${i}]`));
  };
}

/** A JSON object used as a map (annotations, labels): a prototype-free record, so no key can reach Object.prototype. */
export function mapOf<T>(value: Shape<T>, what: string): Shape<Record<string, T>> {
  return (v, field) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) fail(field, v, `an object of ${what}`);
    const out = Object.create(null) as Record<string, T>;
    for (const [k, x] of Object.entries(v)) out[k] = value(x, join(field, k));
    return out;
  };
}

type Fields = Record<string, Shape<unknown>>;
/** Keys whose shape may give `undefined`: object() leaves them out, so they are optional fields. */
type OptionalKeys<F extends Fields> = { [K in keyof F]: undefined extends ReturnType<F[K]> ? K : never }[keyof F];
export type ShapeOf<F extends Fields> = { [K in Exclude<keyof F, OptionalKeys<F>>]: ReturnType<F[K]> } & {
  [K in OptionalKeys<F>]?: Exclude<ReturnType<F[K]>, undefined>;
};

export function object<F extends Fields>(fields: F, what = 'an object'): Shape<ShapeOf<F>> {
  return (v, field) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) fail(field, v, what);
    const record = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [key, shape] of Object.entries(fields)) {
      const x = shape(Object.hasOwn(record, key) ? record[key] : undefined, join(field, key));
      if (x !== undefined) out[key] = x;
    }
    return out as ShapeOf<F>;
  };
}

/** The first shape that accepts the value; the message names every accepted form. */
export function either<A, B>(a: Shape<A>, b: Shape<B>, expected: string): Shape<A | B> {
  return (v, field) => {
    try {
      return a(v, field);
    } catch {
      try {
        return b(v, field);
      } catch {
        return fail(field, v, expected);
      }
    }
  };
}

/** Parses `bytes` as JSON of `shape`; every failure is one line naming the file (and the field). */
export function parseDocument<T>(bytes: Buffer, file: string, shape: Shape<T>): T {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    throw new ShapeError(`${file}: not valid JSON (${why.slice(0, 160)})`);
  }
  return checkShape(doc, file, shape);
}

/** Checks an already parsed document; a ShapeError names the file and the field. */
export function checkShape<T>(doc: unknown, file: string, shape: Shape<T>): T {
  try {
    return shape(doc, '');
  } catch (error) {
    if (error instanceof ShapeError) throw new ShapeError(`${file}: ${error.message}`);
    throw error;
  }
}

// ---- The documents (https://github.com/opencontainers/image-spec: descriptor.md, image-index.md, manifest.md, config.md)

const platform = object(
  { os: string, architecture: string, variant: optional(string) },
  'an object with os and architecture',
);
const annotations = nullable(mapOf(string, 'strings'));

export const descriptor = object(
  {
    mediaType: string,
    digest,
    size: count,
    platform: optional(platform),
    annotations,
    urls: nullable(listOf(string, 'URLs')),
    data: optional(string),
    artifactType: optional(string),
  },
  'a descriptor (an object with mediaType, digest and size)',
);
export type Descriptor = ReturnType<typeof descriptor>;

/** An image index (index.json, a nested index or a manifest list). `manifests: null` is Docker 25's empty list. */
export const imageIndex = object(
  { mediaType: optional(string), manifests: nullable(listOf(descriptor, 'descriptors')) },
  'an image index (an object with manifests)',
);
export type ImageIndex = ReturnType<typeof imageIndex>;

export const imageManifest = object(
  { mediaType: optional(string), config: descriptor, layers: nullable(listOf(descriptor, 'descriptors')), annotations },
  'an image manifest (an object with config and layers)',
);
export type ImageManifest = ReturnType<typeof imageManifest>;

/** What a manifest blob is, by its own fields: an index (nested, or a manifest list), an image manifest, or neither. */
export function manifestKind(doc: unknown): 'index' | 'manifest' | 'schema1' | 'unknown' {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) return 'unknown';
  const d = doc as Record<string, unknown>;
  if ('manifests' in d) return 'index';
  if ('fsLayers' in d) return 'schema1';
  if ('config' in d || 'layers' in d) return 'manifest';
  return 'unknown';
}

const words = either(listOf(string, 'strings'), string, 'a list of strings or a string');

export const imageConfig = object(
  {
    config: nullable(
      object({
        Env: nullable(listOf(string, 'strings ("NAME=value")')),
        Labels: nullable(mapOf(string, 'strings')),
        Entrypoint: nullable(words),
        Cmd: nullable(words),
        WorkingDir: nullable(string),
      }),
    ),
    rootfs: optional(object({ diff_ids: nullable(listOf(digest, 'digests')) })),
    history: nullable(
      listOf(object({ created_by: optional(string), empty_layer: optional(boolean) }), 'history entries'),
    ),
  },
  'an image config (an object)',
);
export type ImageConfigDoc = ReturnType<typeof imageConfig>;

/** docker save's manifest.json (moby image/tarexport): one entry per saved image. */
export const dockerSaveManifest = listOf(
  object(
    { Config: string, RepoTags: nullable(listOf(string, 'strings')), Layers: nullable(listOf(string, 'paths')) },
    'an object with Config and Layers',
  ),
  'images (docker save format)',
);
export type DockerSaveManifest = ReturnType<typeof dockerSaveManifest>;
