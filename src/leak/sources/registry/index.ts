/**
 * The registry source of the leak check: resolves credentials, then reads the reference's manifests and small blobs
 * into an in-memory Source whose image layers the scanner streams from the registry (see pull.ts). The org CA being checked for is also what the connection trusts:
 * behind inspection, the registry's chain ends in it.
 */
import { RegistryRunMemo } from './memo.js';
import { credentialsFor, dockerConfigPath, type Credentials } from './credentials.js';
import { RegistryClient, RegistryError, readText } from './client.js';
import { readRegistryImage, type PullResult } from './pull.js';
import { apiHost, parseRegistryReference } from './reference.js';
import { defined, present } from '../../../lang/present.js';

export { isRegistryReference, isRepositoryReference } from './reference.js';
export { RegistryError } from './client.js';

export interface RegistrySourceOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Explicit credentials (--username / --password-stdin) win over the docker config file. */
  readonly credentials?: Credentials;
  /** A docker CLI config file (default: $DOCKER_CONFIG/config.json or ~/.docker/config.json). */
  readonly dockerConfig?: string;
  readonly platform?: string;
  readonly parallel?: number;
  readonly retries?: number;
  readonly backoffMs?: number;
  readonly timeoutMs?: number;
  readonly maxRequests?: number;
  /** What a run over many images learnt of the registry once (tags, the referrers API), so each image need not ask. */
  readonly memo?: RegistryRunMemo;
}

/** DER certificates as PEM, for the TLS trust store. */
export function pemOf(certs: readonly { readonly der: Uint8Array }[]): string[] {
  return certs.map(
    (c) =>
      `-----BEGIN CERTIFICATE-----\n${Buffer.from(c.der).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`,
  );
}

export async function openRegistryImage(
  image: string,
  extraCa: readonly string[],
  options: RegistrySourceOptions = {},
): Promise<PullResult> {
  const reference = parseRegistryReference(image);
  return readRegistryImage({ reference, ...clientOptions(reference.registry, extraCa, options) });
}

/** Credentials (given, else the docker config's), proxy environment and bounds, as every request of a check uses them. */
function clientOptions(registry: string, extraCa: readonly string[], options: RegistrySourceOptions) {
  const env = options.env ?? process.env;
  let credentials = options.credentials;
  if (!credentials) {
    try {
      credentials = credentialsFor(registry, options.dockerConfig ?? dockerConfigPath(env), { ...process.env, ...env });
    } catch (error) {
      throw new RegistryError(`credentials for ${registry}: ${(error as Error).message}`);
    }
  }
  return {
    extraCa,
    env,
    ...present({ credentials, platform: options.platform, parallel: options.parallel, memo: options.memo }),
    ...defined({
      retries: options.retries,
      backoffMs: options.backoffMs,
      timeoutMs: options.timeoutMs,
      maxRequests: options.maxRequests,
    }),
  };
}

/** Tags the referrers tag schema and cosign use for a digest's referrers: checked with their subject, not as images. */
const REFERRER_TAG = /^(sha256|sha512)-[0-9a-f]{64,128}(\.[a-z]+)?$/;
/** Bounds on a repository's tag list: pages followed, and tags (a registry that never ends its list fails closed). */
const MAX_TAG_PAGES = 100;
const MAX_TAGS = 10_000;

/**
 * Every tag of `registry:HOST/REPO`, by the distribution API's tag list (`/v2/<repo>/tags/list`, paginated by its
 * Link header), with the same credentials, proxy and retries as the check; referrer tags left out.
 */
export async function listRepositoryTags(
  image: string,
  extraCa: readonly string[],
  options: RegistrySourceOptions = {},
): Promise<string[]> {
  const reference = parseRegistryReference(image, { repositoryOnly: true });
  const label = `${reference.registry}/${reference.repository}`;
  const client = new RegistryClient({
    ...clientOptions(reference.registry, extraCa, options),
    host: apiHost(reference.registry),
    repository: reference.repository,
  });
  const tags: string[] = [];
  let path: string | undefined = `/v2/${reference.repository}/tags/list?n=1000`;
  for (let page = 0; path; page++) {
    if (page >= MAX_TAG_PAGES) throw new RegistryError(`${label}: its tag list goes on past ${MAX_TAG_PAGES} pages`);
    const res = await client.get(path, 'application/json');
    if (res.status !== 200) {
      res.body.destroy();
      throw new RegistryError(`tag list of ${label}: the registry answered ${res.status}`);
    }
    let doc: { tags?: unknown };
    try {
      doc = JSON.parse(await readText(res.body, 4 * 1024 * 1024)) as { tags?: unknown };
    } catch {
      throw new RegistryError(`tag list of ${label} is not JSON`);
    }
    const page_ = doc.tags ?? [];
    if (
      !Array.isArray(page_) ||
      !page_.every((t) => typeof t === 'string' && /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(t))
    )
      throw new RegistryError(`tag list of ${label} holds something that is not a tag`);
    tags.push(...(page_ as string[]));
    if (tags.length > MAX_TAGS) throw new RegistryError(`${label} has over ${MAX_TAGS} tags; name them with --images`);
    // Link: </v2/<repo>/tags/list?n=1000&last=x>; rel="next" (distribution-spec: content discovery).
    const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.headers.link ?? '')?.[1];
    // Only the path and query are followed: the list never sends credentials to another host.
    const nextUrl = next ? new URL(next, `https://${apiHost(reference.registry)}`) : undefined;
    path = nextUrl ? `${nextUrl.pathname}${nextUrl.search}` : undefined;
  }
  options.memo?.tags.set(label, new Set(tags));
  return [...new Set(tags)].filter((t) => !REFERRER_TAG.test(t)).sort();
}

export { RegistryRunMemo };
