import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { sniff } from '../sniff.js';
import { indexDirectory, indexTar, readMember, type Source } from './archive.js';
import { TarError } from '../tar.js';
import { present } from '../../lang/present.js';

/**
 * What the user's `image` spelling names, and whether what is on disk is that. The check fails closed on the
 * question "what is this input?" as much as on its bytes: a directory that is not an image is never silently read as
 * a root file system (its gzip layers would never be decompressed), a transport the user wrote must match what is
 * there, and an empty or half-written export is an error that says how to redo it.
 */
export class ImageInputError extends Error {
  override readonly name = 'ImageInputError';
}

/** The transports the user can write, as skopeo/buildah/podman spell them (containers-transports(5)), plus `rootfs:`. */
export type Transport = 'oci' | 'oci-archive' | 'docker-archive' | 'dir' | 'rootfs';

/** How the files of an input are arranged: which metadata says what the layers are. */
export type Layout =
  | 'oci' // index.json (+ oci-layout) over blobs/<alg>/<hex>
  | 'docker-save' // manifest.json (a list) over <id>/layer.tar or <digest>.tar; Docker 25+ also has index.json
  | 'dir'; // containers/image dir: transport: manifest.json (one manifest), version, blobs named by hex digest

export type ImageInput =
  | {
      readonly kind: 'path';
      readonly spelling: string;
      readonly transport?: Transport;
      readonly path: string;
      readonly ref?: string;
    }
  | { readonly kind: 'daemon'; readonly spelling: string; readonly reference: string };

export type OpenedInput =
  | { readonly kind: 'image'; readonly source: Source; readonly layouts: readonly Layout[]; readonly ref?: string }
  | { readonly kind: 'rootfs-dir'; readonly dir: string }
  | { readonly kind: 'rootfs-tar'; readonly file: string };

interface TransportRule {
  /** What the transport names, for "expects …". */
  readonly expects: string;
  /** Which of the things an input can be this transport accepts. */
  readonly accepts: ReadonlySet<Found['what']>;
}

/** What a path turns out to be, from its type and a look at its top-level names (never its bodies, except a sniff). */
type Found =
  | { readonly what: 'empty-dir' }
  | { readonly what: 'oci-dir'; readonly source: Source }
  | { readonly what: 'docker-save-dir'; readonly source: Source }
  | { readonly what: 'dir-transport'; readonly source: Source }
  | { readonly what: 'layout-without-index'; readonly clue: string }
  | { readonly what: 'plain-dir' }
  | { readonly what: 'oci-archive'; readonly source: Source }
  | { readonly what: 'docker-archive'; readonly source: Source }
  | { readonly what: 'docker-save-25-archive'; readonly source: Source }
  | { readonly what: 'archive-without-index'; readonly clue: string }
  | { readonly what: 'plain-tar' }
  | { readonly what: 'compressed'; readonly compression: 'gzip' | 'zstd' }
  | { readonly what: 'not-tar' }
  | { readonly what: 'special' };

const TRANSPORTS: Readonly<Record<Transport, TransportRule>> = {
  oci: { expects: 'an OCI image layout directory (index.json over blobs/)', accepts: new Set(['oci-dir']) },
  'oci-archive': {
    expects: 'a tar file of an OCI image layout (index.json over blobs/)',
    accepts: new Set(['oci-archive', 'docker-save-25-archive']),
  },
  'docker-archive': {
    expects: 'a docker save tar file (manifest.json)',
    accepts: new Set(['docker-archive', 'docker-save-25-archive']),
  },
  dir: {
    expects: "a directory written by skopeo/buildah's dir: transport (manifest.json and version)",
    accepts: new Set(['dir-transport']),
  },
  rootfs: {
    expects: 'a root file system: a directory or a tar of one (docker export)',
    accepts: new Set(['plain-dir', 'empty-dir', 'plain-tar', 'compressed']),
  },
};

/** A bare path: anything that is unambiguously an image, never a directory or tar that is not one. */
const BARE: ReadonlySet<Found['what']> = new Set([
  'oci-dir',
  'docker-save-dir',
  'dir-transport',
  'oci-archive',
  'docker-archive',
  'docker-save-25-archive',
]);

/** Transports of other tools that name something this check cannot read directly, with the way to get a file. */
const FOREIGN: Readonly<Record<string, (spelling: string, rest: string) => string>> = {
  docker: (spelling, rest) =>
    `'${spelling}' is an image in a registry; the check reads local files only: copy it first (e.g. skopeo copy docker:${rest} oci-archive:image.tar), then check oci-archive:image.tar.`,
  'containers-storage': (spelling, rest) =>
    `'${spelling}' is in podman/buildah's local store: save it first (e.g. podman save --format oci-archive -o image.tar ${rest}), then check oci-archive:image.tar.`,
};

/** File names of image archives (docker save, oci-archive, compressed copies of either). */
const ARCHIVE_NAME = /\.(tar|tar\.gz|tgz|tar\.zst|tar\.xz|oci)$/i;

/**
 * Splits the user's spelling into transport, path and reference. `oci:/x:tag`, `oci-archive:/x.tar:tag` and
 * `docker-archive:/x.tar:name:tag` carry a reference after the path: the path is the longest prefix that exists.
 */
export function parseImageInput(spelling: string, exists: (path: string) => boolean = existsSync): ImageInput {
  const m = /^([a-z][a-z0-9-]*):(.*)$/s.exec(spelling);
  const prefix = m?.[1];
  // skopeo's name for a local Docker image: the same as a bare reference.
  if (prefix === 'docker-daemon') return { kind: 'daemon', spelling, reference: m![2]! };
  // `docker:` alone is also an image name (docker:27-dind): only skopeo's `docker://` means a registry.
  if (prefix && Object.hasOwn(FOREIGN, prefix) && (prefix !== 'docker' || m[2]!.startsWith('//')))
    throw new ImageInputError(FOREIGN[prefix]!(spelling, m[2]!));
  const transport = prefix && Object.hasOwn(TRANSPORTS, prefix) ? (prefix as Transport) : undefined;
  const rest = transport ? m![2]! : spelling;
  if (transport === undefined && !exists(rest)) {
    // A Docker reference never starts with '/' or '.' (distribution/reference grammar): this is a path that does
    // not exist, and asking a daemon would bury the typo under "invalid reference" or "cannot connect".
    // Nor does anyone name an image `release.tar`: a missing file named like an archive is a typo, not a daemon image.
    if (/^(\/|\.\.?\/|~\/)/.test(spelling) || ARCHIVE_NAME.test(spelling)) {
      throw new ImageInputError(
        `'${spelling}' does not exist: expected a docker save or OCI archive, an OCI layout directory, rootfs:DIR, or a local Docker image reference.`,
      );
    }
    return { kind: 'daemon', spelling, reference: spelling };
  }
  if (transport && rest === '') throw new ImageInputError(`'${spelling}' names no path: expected ${transport}:PATH.`);
  let path = rest;
  let ref: string | undefined;
  if (!exists(rest) && transport !== 'rootfs' && transport !== 'dir') {
    for (let cut = rest.indexOf(':'); cut > 0; cut = rest.indexOf(':', cut + 1)) {
      if (exists(rest.slice(0, cut))) {
        path = rest.slice(0, cut);
        ref = rest.slice(cut + 1);
      }
    }
  }
  if (!exists(path))
    throw new ImageInputError(
      `'${path}' does not exist (from '${spelling}'): expected ${transport ? TRANSPORTS[transport].expects : 'an image archive or directory'}.`,
    );
  return { kind: 'path', spelling, ...present({ transport }), path, ...present({ ref }) };
}

function describe(found: Found): string {
  switch (found.what) {
    case 'empty-dir':
      return 'an empty directory';
    case 'oci-dir':
      return 'an OCI image layout directory';
    case 'docker-save-dir':
      return 'an extracted docker save directory';
    case 'dir-transport':
      return "a dir: transport directory (skopeo's manifest.json and version)";
    case 'layout-without-index':
      return `a directory with ${found.clue} but no index.json`;
    case 'plain-dir':
      return 'a directory that holds no image (no index.json, manifest.json or oci-layout)';
    case 'oci-archive':
      return 'an OCI archive (a tar with index.json)';
    case 'docker-archive':
      return 'a docker save archive (a tar with manifest.json, no index.json)';
    case 'docker-save-25-archive':
      return 'a Docker 25+ save archive (index.json and manifest.json)';
    case 'archive-without-index':
      return `a tar with ${found.clue} but neither index.json nor manifest.json`;
    case 'plain-tar':
      return 'a tar archive that holds no image (no index.json or manifest.json)';
    case 'compressed':
      return `a ${found.compression}-compressed file`;
    case 'not-tar':
      return 'a file that is not a tar archive';
    case 'special':
      return 'neither a regular file nor a directory';
  }
}

/** The spelling that reads what was found, or the fix when nothing does. */
function remedy(found: Found, path: string): string {
  switch (found.what) {
    case 'oci-dir':
      return `write oci:${path}`;
    case 'docker-save-dir':
      return `write the bare path ${path}`;
    case 'dir-transport':
      return `write dir:${path}`;
    case 'oci-archive':
    case 'docker-save-25-archive':
      return `write oci-archive:${path}`;
    case 'docker-archive':
      return `write docker-archive:${path}`;
    case 'plain-dir':
    case 'plain-tar':
      return `to check it as a root file system, write rootfs:${path}`;
    case 'empty-dir':
      return 'an export that failed or did not finish leaves it empty (e.g. docker buildx build --output type=oci,tar=false,dest=DIR): rerun the export';
    case 'layout-without-index':
    case 'archive-without-index':
      return (
        'without index.json nothing says which blobs are layers, so compressed layers would be read as opaque files: ' +
        're-export the image (e.g. skopeo copy … oci:DIR, or buildx --output type=oci,tar=false,dest=DIR), or restore its index.json'
      );
    case 'compressed':
      return `decompress it first (e.g. ${found.compression === 'gzip' ? 'gunzip -k' : 'zstd -d'}), then check the .tar`;
    case 'not-tar':
    case 'special':
      return 'expected a docker save or OCI archive, an OCI layout directory, or rootfs:DIR';
  }
}

/** Reads just enough of `path` to say what it is. */
function inspect(path: string): Found {
  const st = statSync(path);
  if (st.isDirectory()) return inspectDirectory(path);
  if (!st.isFile()) return { what: 'special' };
  const fd = openSync(path, 'r');
  const head = Buffer.alloc(1024);
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const kind = sniff(head.subarray(0, n));
  if (kind === 'gzip' || kind === 'zstd') return { what: 'compressed', compression: kind };
  if (kind !== 'none') return { what: 'not-tar' };
  let source: Source;
  try {
    source = indexTar(path);
  } catch (error) {
    if (error instanceof TarError)
      throw new ImageInputError(`'${path}' is not a readable tar archive: ${error.message}.`);
    throw error;
  }
  const has = (name: string): boolean => source.members.has(name);
  if (has('index.json') && has('manifest.json')) return { what: 'docker-save-25-archive', source };
  if (has('index.json')) return { what: 'oci-archive', source };
  if (has('manifest.json')) return { what: 'docker-archive', source };
  const clue = imageClue(source);
  return clue ? { what: 'archive-without-index', clue } : { what: 'plain-tar' };
}

function inspectDirectory(path: string): Found {
  const top = readdirSync(path);
  if (top.length === 0) return { what: 'empty-dir' };
  const names = new Set(top);
  if (names.has('index.json')) return { what: 'oci-dir', source: indexDirectory(path) };
  if (names.has('manifest.json')) {
    const source = indexDirectory(path);
    // skopeo's dir: holds one manifest (an object) and a version file; docker save's manifest.json is a list.
    const first = readMember(source.members.get('manifest.json')!).toString('utf8').trimStart()[0];
    if (names.has('version') && first !== '[') return { what: 'dir-transport', source };
    return { what: 'docker-save-dir', source };
  }
  const clue = names.has('oci-layout') ? 'oci-layout' : names.has('blobs') ? 'blobs/' : undefined;
  return clue ? { what: 'layout-without-index', clue } : { what: 'plain-dir' };
}

/** Signs of an OCI layout that lost its index.json. */
function imageClue(source: Source): string | undefined {
  if (source.members.has('oci-layout')) return 'oci-layout';
  for (const name of source.members.keys()) if (/^blobs\/[a-z0-9]+\/[a-f0-9]{32,}$/.test(name)) return 'blobs/';
  return undefined;
}

function layoutsOf(found: Found): Layout[] {
  switch (found.what) {
    case 'oci-dir':
    case 'oci-archive':
      return found.source.members.has('manifest.json') ? ['oci', 'docker-save'] : ['oci'];
    case 'docker-save-25-archive':
      return ['oci', 'docker-save'];
    case 'docker-save-dir':
    case 'docker-archive':
      return ['docker-save'];
    case 'dir-transport':
      return ['dir'];
    default:
      return [];
  }
}

/** Opens a path input as what its transport (or, bare, its content) says, or throws one line naming the fix. */
export function openImageInput(input: Extract<ImageInput, { kind: 'path' }>): OpenedInput {
  const { path, transport, spelling } = input;
  const found = inspect(path);
  const accepted = transport ? TRANSPORTS[transport].accepts : BARE;
  if (!accepted.has(found.what)) {
    const what = describe(found);
    const fix = remedy(found, path);
    if (transport)
      throw new ImageInputError(
        `'${spelling}': ${transport}: expects ${TRANSPORTS[transport].expects}, but '${path}' is ${what}: ${fix}.`,
      );
    throw new ImageInputError(`'${path}' is ${what}: ${fix}.`);
  }
  if (transport === 'rootfs') {
    if (found.what === 'plain-dir' || found.what === 'empty-dir') return { kind: 'rootfs-dir', dir: path };
    return { kind: 'rootfs-tar', file: path };
  }
  if (!('source' in found)) throw new ImageInputError(`'${path}' is ${describe(found)}.`);
  return { kind: 'image', source: found.source, layouts: layoutsOf(found), ...present({ ref: input.ref }) };
}
