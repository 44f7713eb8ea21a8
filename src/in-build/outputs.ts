/**
 * The outputs that carry the org CA into image builds without leaving it in the image (pure; no I/O).
 *
 * The CA travels only as a BuildKit secret (mounted for one RUN, "not persisted in the final image or its metadata":
 * https://docs.docker.com/build/building/secrets/), the helper as a named build context (bind-mounted, never copied
 * into a layer), and the only build args are Docker's predefined proxy args, which BuildKit keeps out of the image
 * history (https://docs.docker.com/reference/dockerfile/#predefined-args). No certificate content is ever a build
 * arg: build args are recorded in history and, with provenance mode=max, in the attestation.
 */

import { shellQuote } from '../output/shell-quote.js';

/** `RUN --mount=type=secret,id=org_ca` reads the CA alone at /run/secrets/org_ca. */
export const CA_SECRET_ID = 'org_ca';
/** The runner's combined bundle, for stages whose image has no system bundle of its own. */
export const BUNDLE_SECRET_ID = 'org_ca_bundle';
/** `--mount=type=bind,from=org-ca,target=/org-ca` reaches the helper through this build context. */
export const CONTEXT_NAME = 'org-ca';
export const HELPER_NAME = 'with-org-ca';

/** Docker's predefined ARGs: usable without an ARG line and excluded from `docker history`. */
export const PROXY_BUILD_ARGS: readonly string[] = [
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
];

export interface BuildOutputsInput {
  /** The build-context directory that holds the helper (never the CA). */
  readonly helperDir: string;
  /** Present only when the action injected: the CA alone and the combined bundle, as PEM files. */
  readonly caPath?: string;
  readonly bundlePath?: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface BuildArg {
  readonly name: string;
  readonly value: string;
}

export interface BuildOutputs {
  /** For build-push-action `secret-files`: `org_ca=<path>` and `org_ca_bundle=<path>`, one a line; empty when not injected. */
  readonly secretFiles: string;
  /** For `build-contexts`: `org-ca=<dir>`. */
  readonly buildContexts: string;
  /** For `build-args`: the proxy variables of the runner, one `NAME=value` a line. */
  readonly buildArgs: string;
  /** The same as ready flags for `docker buildx build` / `buildah bud` in a `run:` step, shell-quoted. */
  readonly dockerFlags: string;
  /** Proxy variables left out, with why; for the log. */
  readonly skipped: readonly string[];
}

/** A proxy URL with `user:password@` would put a credential into provenance attestations: leave it out. */
function hasCredentials(value: string): boolean {
  try {
    const url = new URL(value.includes('://') ? value : `http://${value}`);
    return url.username !== '' || url.password !== '';
  } catch {
    return /^[^/]*@/.test(value);
  }
}

export function proxyBuildArgs(env: Readonly<Record<string, string | undefined>>): {
  args: BuildArg[];
  skipped: string[];
} {
  const args: BuildArg[] = [];
  const skipped: string[] = [];
  for (const name of PROXY_BUILD_ARGS) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    if (/[\r\n]/.test(value)) {
      skipped.push(`${name}: holds a line break, which a build-args list cannot carry`);
    } else if (!name.toLowerCase().startsWith('no_') && hasCredentials(value)) {
      skipped.push(
        `${name}: the proxy URL carries credentials, which build args would record in provenance; pass it as a secret instead`,
      );
    } else {
      args.push({ name, value });
    }
  }
  return { args, skipped };
}

export function buildOutputs(input: BuildOutputsInput): BuildOutputs {
  const secrets: Array<[string, string]> = [];
  if (input.caPath) secrets.push([CA_SECRET_ID, input.caPath]);
  if (input.caPath && input.bundlePath) secrets.push([BUNDLE_SECRET_ID, input.bundlePath]);
  const { args, skipped } = proxyBuildArgs(input.env);

  const flags: string[] = [];
  for (const [id, path] of secrets) flags.push('--secret', shellQuote(`id=${id},src=${path}`));
  flags.push('--build-context', shellQuote(`${CONTEXT_NAME}=${input.helperDir}`));
  for (const arg of args) flags.push('--build-arg', shellQuote(`${arg.name}=${arg.value}`));

  return {
    secretFiles: secrets.map(([id, path]) => `${id}=${path}`).join('\n'),
    buildContexts: `${CONTEXT_NAME}=${input.helperDir}`,
    buildArgs: args.map((arg) => `${arg.name}=${arg.value}`).join('\n'),
    dockerFlags: flags.join(' '),
    skipped,
  };
}
