/**
 * The registry source of the leak check: resolves credentials, then reads the reference's manifests and small blobs
 * into an in-memory Source whose image layers the scanner streams from the registry (see pull.ts). The org CA being checked for is also what the connection trusts:
 * behind inspection, the registry's chain ends in it.
 */
import { credentialsFor, dockerConfigPath, type Credentials } from './credentials.js';
import { RegistryError } from './client.js';
import { readRegistryImage, type PullResult } from './pull.js';
import { parseRegistryReference } from './reference.js';
import { defined, present } from '../../../lang/present.js';

export { isRegistryReference } from './reference.js';
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
  const env = options.env ?? process.env;
  let credentials = options.credentials;
  if (!credentials) {
    try {
      credentials = credentialsFor(reference.registry, options.dockerConfig ?? dockerConfigPath(env), {
        ...process.env,
        ...env,
      });
    } catch (error) {
      throw new RegistryError(`credentials for ${reference.registry}: ${(error as Error).message}`);
    }
  }
  return readRegistryImage({
    reference,
    extraCa,
    env,
    ...present({ credentials, platform: options.platform, parallel: options.parallel }),
    ...defined({
      retries: options.retries,
      backoffMs: options.backoffMs,
      timeoutMs: options.timeoutMs,
      maxRequests: options.maxRequests,
    }),
  });
}
