/**
 * The registries whose pulls the builders must trust the org CA for: the `registries` input, parsed (pure).
 *
 * A registry is named the way every builder names its per-registry trust directory: `HOST` or `HOST:PORT`
 * (Docker: /etc/docker/certs.d/HOST[:PORT]; containers/image: containers-certs.d(5); BuildKit: `[registry."HOST"]`).
 */

/** The keyword that stands for the common public registries, so that one more host does not mean retyping them. */
export const DEFAULTS_KEYWORD = 'defaults';
export const NONE_KEYWORD = 'none';
/** The default: the common public registries, and only on a runner where a builder that reads certs.d is installed. */
export const AUTO_KEYWORD = 'auto';

/**
 * The parsed `registries` input. `whenBuilderPresent` is what `auto` adds: trust directories are changed only for the
 * builders found on the runner (src/registry-trust/runner-builders.ts), so a job that builds no image changes nothing
 * outside itself.
 */
export interface RegistrySelection {
  readonly hosts: readonly string[];
  readonly whenBuilderPresent: boolean;
}

/**
 * The common public registries. Docker Hub appears under both names builders use: BuildKit and containers/image key
 * their trust by `docker.io`, while the API host is registry-1.docker.io. Blob downloads that a registry redirects
 * elsewhere (Docker Hub → its CDN) are fetched with the registry's own client and trust (see docs/image-builds.md),
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
  override readonly name = 'RegistryInputError';
}

const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const HOST = new RegExp(`^(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9a-f:.]+\\])(?::(\\d{1,5}))?$`);

/** One registry name, normalised to lower case; throws with the value quoted when it is not HOST[:PORT]. */
export function parseRegistry(value: string): string {
  const v = value.trim().toLowerCase();
  const match = HOST.exec(v);
  const port = match?.[1] === undefined ? undefined : Number(match[1]);
  if (!match || (port !== undefined && (port < 1 || port > 65535))) {
    const hint =
      /^[a-z]+:\/\//.test(v) || v.includes('/')
        ? ' (no scheme or path: the trust directory is named by host and port only)'
        : '';
    throw new RegistryInputError(
      `Invalid registry '${value.trim()}'. Expected HOST or HOST:PORT (e.g., ghcr.io, registry.example.com:5000)${hint}.`,
    );
  }
  return v;
}

/**
 * The `registries` input: hosts separated by commas, spaces or new lines; `defaults` expands to the common public
 * registries; `auto` (and an empty input) means the defaults only where a builder is present; `none` alone turns
 * pull-side trust off.
 */
export function parseRegistries(value: string): RegistrySelection {
  const tokens = value.split(/[\s,]+/).filter(Boolean);
  if (tokens.length === 0) return { hosts: [...DEFAULT_REGISTRIES], whenBuilderPresent: true };
  for (const keyword of [NONE_KEYWORD, AUTO_KEYWORD]) {
    if (tokens.some((t) => t.toLowerCase() === keyword) && tokens.length > 1) {
      throw new RegistryInputError(
        `Invalid registries '${value.trim()}': '${keyword}' cannot be combined with registries. Expected 'auto', 'none', or hosts (with 'defaults' for the common public ones).`,
      );
    }
  }
  const only = tokens[0]?.toLowerCase();
  if (only === NONE_KEYWORD) return { hosts: [], whenBuilderPresent: false };
  if (only === AUTO_KEYWORD) return { hosts: [...DEFAULT_REGISTRIES], whenBuilderPresent: true };
  const out: string[] = [];
  for (const token of tokens) {
    const names = token.toLowerCase() === DEFAULTS_KEYWORD ? DEFAULT_REGISTRIES : [parseRegistry(token)];
    for (const name of names) if (!out.includes(name)) out.push(name);
  }
  return { hosts: out, whenBuilderPresent: false };
}

/**
 * Kaniko (go-containerregistry) names Docker Hub `index.docker.io`, so its flag map needs that key as well
 * (name.DefaultRegistry in google/go-containerregistry pkg/name).
 */
export function kanikoNames(registry: string): string[] {
  return registry === 'docker.io' ? ['docker.io', 'index.docker.io'] : [registry];
}
