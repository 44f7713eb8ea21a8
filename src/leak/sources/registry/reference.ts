import { present } from '../../../lang/present.js';
/**
 * Registry references for the leak check: `registry:HOST/REPO:TAG`, `registry:HOST/REPO@sha256:…`, or the familiar
 * `docker://` spelling (skopeo's transport names). Pure.
 */
export interface RegistryReference {
  /** HOST[:PORT] as written (docker.io is mapped to its API host for requests). */
  readonly registry: string;
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: string;
}

export class ReferenceError extends Error {
  override readonly name = 'ReferenceError';
}

const PREFIX = /^(registry:|docker:\/\/)/;

export function isRegistryReference(image: string): boolean {
  return PREFIX.test(image);
}

/** Docker Hub's API host, and its `library/` namespace for official images. */
export function apiHost(registry: string): string {
  return registry === 'docker.io' || registry === 'index.docker.io' ? 'registry-1.docker.io' : registry;
}

export function parseRegistryReference(image: string, options: { repositoryOnly?: boolean } = {}): RegistryReference {
  const text = image.replace(PREFIX, '');
  const expected = `expected registry:HOST/REPOSITORY:TAG or registry:HOST/REPOSITORY@sha256:DIGEST (e.g., registry:ghcr.io/org/app:1.2)`;
  const m =
    /^([^/]+)\/([a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[0-9a-f]{64}))?$/.exec(
      text,
    );
  if (!m) throw new ReferenceError(`Invalid registry reference '${image}': ${expected}.`);
  const [, host, repo, tag, digest] = m;
  // A first component without '.', ':' or 'localhost' is a Docker Hub namespace, not a host (distribution/reference).
  if (!/[.:]/.test(host!) && host !== 'localhost') {
    throw new ReferenceError(
      `Invalid registry reference '${image}': '${host}' is not a registry host; name it in full (e.g., registry:docker.io/${host}/${repo}).`,
    );
  }
  if (!tag && !digest && !options.repositoryOnly)
    throw new ReferenceError(
      `Invalid registry reference '${image}': no tag or digest (a whole repository is checked only among several images, or alone: every tag); ${expected}.`,
    );
  const repository =
    (host === 'docker.io' || host === 'index.docker.io') && !repo!.includes('/') ? `library/${repo}` : repo!;
  return { registry: host!, repository, ...present({ tag, digest }) };
}

export function describeReference(ref: RegistryReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** `registry:HOST/REPO` with neither tag nor digest: every tag of the repository (a sweep). */
export function isRepositoryReference(image: string): boolean {
  if (!isRegistryReference(image)) return false;
  try {
    const ref = parseRegistryReference(image, { repositoryOnly: true });
    return !ref.tag && !ref.digest;
  } catch {
    return false;
  }
}
