/**
 * The pull-side trust outputs for builders that the action cannot configure on the runner itself (pure).
 */
import { kanikoNames } from './hosts.js';

/** A TOML basic string: JSON's escapes (\" \\ \n \uXXXX) are all valid TOML escapes (toml.io/en/v1.0.0#string). */
function tomlString(value: string): string {
  return JSON.stringify(value);
}

/**
 * For docker/setup-buildx-action's `buildkitd-config-inline`: one `[registry."HOST"]` table with `ca = [PATH]` per
 * registry, BuildKit's documented schema (moby/buildkit docs/buildkitd.toml.md). PATH is a path on the runner:
 * with the docker-container driver, buildx copies every file named under `ca` into the BuildKit container
 * (/etc/buildkit/certs/HOST/) and rewrites the path (docker/buildx docs/guides/custom-registry-config.md).
 */
export function buildkitdConfigInline(registries: readonly string[], caPath: string): string {
  return registries.map((host) => `[registry.${tomlString(host)}]\n  ca = [${tomlString(caPath)}]\n`).join('\n');
}

/**
 * Kaniko's `--registry-certificate HOST=PATH` flags, one per registry, shell-quoted on one line. PATH must be where
 * the CA is inside the Kaniko container (mount the runner's ca-path there at the same path).
 */
export function kanikoFlags(registries: readonly string[], caPath: string, quote: (word: string) => string): string {
  const flags: string[] = [];
  for (const registry of registries)
    for (const name of kanikoNames(registry)) flags.push(quote(`--registry-certificate=${name}=${caPath}`));
  return flags.join(' ');
}
