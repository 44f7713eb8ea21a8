/**
 * Registry credentials the way the docker CLI keeps them (~/.docker/config.json, or $DOCKER_CONFIG/config.json):
 * `credHelpers[host]`, then `credsStore`, then `auths[host].auth`. Helpers are run with the docker-credential-*
 * protocol: `docker-credential-NAME get`, the server URL on stdin, `{"Username","Secret"}` on stdout
 * (https://github.com/docker/docker-credential-helpers). Secrets are never logged.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

export function dockerConfigPath(env: Readonly<Record<string, string | undefined>>): string {
  return join(env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker'), 'config.json');
}

/** The keys the docker CLI may have stored a registry under. */
function keysFor(registry: string): string[] {
  if (registry === 'docker.io' || registry === 'registry-1.docker.io' || registry === 'index.docker.io') {
    return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
  }
  return [registry, `https://${registry}`, `https://${registry}/`, `http://${registry}`];
}

function fromHelper(helper: string, serverUrl: string, env: NodeJS.ProcessEnv): Credentials | undefined {
  let out: string;
  try {
    out = execFileSync(`docker-credential-${helper}`, ['get'], {
      input: serverUrl,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: 30000,
    }).toString();
  } catch (error) {
    const stdout = (error as { stdout?: Buffer }).stdout?.toString() ?? '';
    // The protocol's answer for "no credentials": exit 1 with this text; anything else is a real failure.
    if (/credentials not found/i.test(stdout)) return undefined;
    const why =
      (error as NodeJS.ErrnoException).code === 'ENOENT'
        ? 'not found on PATH'
        : `failed (${(error as Error).message.split('\n')[0]})`;
    throw new Error(`the credential helper docker-credential-${helper} ${why}, asked for ${serverUrl}`, {
      cause: error,
    });
  }
  let parsed: { Username?: string; Secret?: string };
  try {
    parsed = JSON.parse(out) as { Username?: string; Secret?: string };
  } catch {
    throw new Error(
      `the credential helper docker-credential-${helper} answered something other than JSON for ${serverUrl}`,
    );
  }
  if (!parsed.Secret) return undefined;
  return { username: parsed.Username ?? '', password: parsed.Secret };
}

/** Credentials for `registry` from a docker config file, or undefined (anonymous). */
export function credentialsFor(
  registry: string,
  configPath: string,
  env: NodeJS.ProcessEnv = process.env,
): Credentials | undefined {
  if (!existsSync(configPath)) return undefined;
  let config: DockerConfig;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8')) as DockerConfig;
  } catch {
    throw new Error(`'${configPath}' is not valid JSON: expected a docker CLI config file`);
  }
  const keys = keysFor(registry);
  const helper = keys.map((k) => config.credHelpers?.[k]).find(Boolean);
  if (helper) return fromHelper(helper, keys[0]!, env);
  if (config.credsStore) {
    const found = fromHelper(config.credsStore, keys[0]!, env);
    if (found) return found;
  }
  for (const key of keys) {
    const entry = config.auths?.[key];
    if (!entry) continue;
    if (entry.auth) {
      const text = Buffer.from(entry.auth, 'base64').toString('utf8');
      const cut = text.indexOf(':');
      if (cut < 0) throw new Error(`the auth entry for '${key}' in '${configPath}' is not base64 of user:password`);
      return { username: text.slice(0, cut), password: text.slice(cut + 1) };
    }
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  }
  return undefined;
}
