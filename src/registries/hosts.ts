/**
 * The registries whose pulls the builders must trust the org CA for: the `registries` input, parsed (pure).
 *
 * A registry is named the way every builder names its per-registry trust directory: `HOST` or `HOST:PORT`
 * (Docker: /etc/docker/certs.d/HOST[:PORT]; containers/image: containers-certs.d(5); BuildKit: `[registry."HOST"]`).
 */

/** The keyword that stands for the common public registries, so that one more host does not mean retyping them. */
export const DEFAULTS_KEYWORD = 'defaults';
export const NONE_KEYWORD = 'none';

/**
 * The common public registries. Docker Hub appears under both names builders use: BuildKit and containers/image key
 * their trust by `docker.io`, while the API host is registry-1.docker.io. Blob downloads that a registry redirects
 * elsewhere (Docker Hub → its CDN) are fetched with the registry's own client and trust (measured: see the README),
 * so CDN hosts are not listed.
 */
export const DEFAULT_REGISTRIES: readonly string[] = [
  'docker.io',
  'registry-1.docker.io',
  'ghcr.io',
  'quay.io',
  'gcr.io',
  'registry.k8s.io',
  'public.ecr.aws',
  'mcr.microsoft.com',
];

export class RegistryInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryInputError';
  }
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9a-f:.]+\\])(?::(\\d{1,5}))?$`);

/** One registry name, normalised to lower case; throws with the value quoted when it is not HOST[:PORT]. */
export function parseRegistry(value: string): string {
  const v = value.trim().toLowerCase();
  const match = HOST.exec(v);
  const port = match?.[1] === undefined ? undefined : Number(match[1]);
  if (!match || (port !== undefined && (port < 1 || port > 65535))) {
    const hint = /^[a-z]+:\/\//.test(v) || v.includes('/') ? ' (no scheme or path: the trust directory is named by host and port only)' : '';
    throw new RegistryInputError(`Invalid registry '${value.trim()}'. Expected HOST or HOST:PORT (e.g., ghcr.io, registry.example.com:5000)${hint}.`);
  }
  return v;
}

/**
 * The `registries` input: hosts separated by commas, spaces or new lines; `defaults` expands to the common public
 * registries (and is what an empty input means); `none` alone turns pull-side trust off.
 */
export function parseRegistries(value: string): string[] {
  const tokens = value.split(/[\s,]+/).filter(Boolean);
  if (tokens.length === 0) return [...DEFAULT_REGISTRIES];
  if (tokens.some((t) => t.toLowerCase() === NONE_KEYWORD)) {
    if (tokens.length > 1) throw new RegistryInputError(`Invalid registries '${value.trim()}': 'none' cannot be combined with registries.`);
    return [];
  }
  const out: string[] = [];
  for (const token of tokens) {
    const names = token.toLowerCase() === DEFAULTS_KEYWORD ? DEFAULT_REGISTRIES : [parseRegistry(token)];
    for (const name of names) if (!out.includes(name)) out.push(name);
  }
  return out;
}

/**
 * Kaniko (go-containerregistry) names Docker Hub `index.docker.io`, so its flag map needs that key as well
 * (name.DefaultRegistry in google/go-containerregistry pkg/name).
 */
export function kanikoNames(registry: string): string[] {
  return registry === 'docker.io' ? ['docker.io', 'index.docker.io'] : [registry];
}
