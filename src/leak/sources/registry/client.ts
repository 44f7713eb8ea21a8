/**
 * A small OCI distribution client: HTTPS only, through HTTPS_PROXY/NO_PROXY as curl-style clients route
 * (src/detect/route.ts), trusting the system roots plus the org CA (the runner is behind inspection) with
 * verification always on; anonymous, basic and bearer-token auth; redirects (blob CDNs) followed without the
 * registry's Authorization; 429/5xx and dropped connections retried with backoff. Every failure is one line.
 */
import type { Readable } from 'node:stream';
import tls from 'node:tls';
import type { Env } from '../../../detect/route.js';
import type { Credentials } from './credentials.js';
import type { RegistryFetchSpec } from '../../types.js';
import { httpGet, HttpError, type HttpAnswer } from './http-get.js';
import { defined, present } from '../../../lang/present.js';

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
}

export interface ClientOptions {
  /** HOST[:PORT] the requests go to. */
  readonly host: string;
  readonly repository: string;
  /** PEM certificates trusted besides the system roots (the org CA). */
  readonly extraCa: readonly string[];
  readonly env: Env;
  readonly credentials?: Credentials;
  readonly retries?: number;
  readonly timeoutMs?: number;
  /** Backoff base in ms (tests make it short). */
  readonly backoffMs?: number;
  /** An Authorization already negotiated (by the main thread, for a worker streaming a blob). */
  readonly authorization?: string;
}

export interface Response {
  readonly status: number;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: Readable;
  readonly url: string;
}

/**
 * The system roots plus the org CA, as one secure context per thread and trust: building it parses ~150 roots (about
 * 35 ms), and every request is a connection of its own.
 */
const contexts = new Map<string, tls.SecureContext>();
function trustedContext(extra: readonly string[]): tls.SecureContext {
  const key = extra.join('\n');
  let context = contexts.get(key);
  if (!context) {
    // getCACertificates('default') includes NODE_EXTRA_CA_CERTS; tls.rootCertificates is the bundled Mozilla set.
    const defaults =
      typeof tls.getCACertificates === 'function' ? tls.getCACertificates('default') : [...tls.rootCertificates];
    context = tls.createSecureContext({ ca: [...defaults, ...extra] });
    contexts.set(key, context);
  }
  return context;
}

function once(
  url: URL,
  headers: Record<string, string>,
  env: Env,
  trust: tls.SecureContext,
  timeoutMs: number,
): Promise<HttpAnswer> {
  // One wording whether the handshake or the answer is what never came.
  const timeoutError = (): Error => new RegistryError(`no answer from ${url.host} within ${timeoutMs} ms`);
  return httpGet(url, headers, { env, trust, timeoutMs, timeoutError });
}

async function readText(res: Readable, max = 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of res) {
    n += (c as Buffer).length;
    if (n > max) throw new RegistryError(`an answer over ${max} bytes where a small JSON document was expected`);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** `Bearer realm="…",service="…",scope="…"` → its parameters. */
export function parseChallenge(header: string): { scheme: string; params: Record<string, string> } {
  const m = /^(\w+)\s*(.*)$/s.exec(header.trim());
  const params: Record<string, string> = {};
  for (const p of (m?.[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) params[p[1]!.toLowerCase()] = p[2]!;
  return { scheme: (m?.[1] ?? '').toLowerCase(), params };
}

export class RegistryClient {
  private authorization?: string | undefined;
  private readonly trust: tls.SecureContext;

  constructor(private readonly options: ClientOptions) {
    this.trust = trustedContext(options.extraCa);
    this.authorization = options.authorization;
  }

  /** What a worker needs to fetch from the same registry with the same route, trust and authorization. */
  fetchSpec(): RegistryFetchSpec {
    const o = this.options;
    // Only the proxy variables travel: nothing else of the environment is needed to route a request.
    const env = Object.fromEntries(
      Object.entries(o.env).filter((e): e is [string, string] => /proxy/i.test(e[0]) && typeof e[1] === 'string'),
    );
    return {
      host: o.host,
      repository: o.repository,
      extraCa: [...o.extraCa],
      env,
      ...present({
        authorization: this.authorization,
        credentials: o.credentials ? { username: o.credentials.username, password: o.credentials.password } : undefined,
      }),
      ...defined({ retries: o.retries, backoffMs: o.backoffMs, timeoutMs: o.timeoutMs }),
    };
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 60000;
  }

  /** GET a registry path (`/v2/<repo>/manifests/<ref>`), with auth, retries and redirects. Non-2xx are returned. */
  async get(path: string, accept?: string): Promise<Response> {
    const retries = this.options.retries ?? 4;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.follow(new URL(`https://${this.options.host}${path}`), accept);
      } catch (error) {
        const final = error instanceof RegistryError || (error instanceof HttpError && !error.retryable);
        if (attempt < retries && !final) {
          await this.backoff(attempt);
          continue;
        }
        throw new RegistryError(`GET https://${this.options.host}${path} failed: ${oneLine(error)}`);
      }
      if ((res.status === 429 || res.status >= 500) && attempt < retries) {
        res.body.destroy();
        const after = Number(res.headers['retry-after']);
        await this.backoff(attempt, Number.isFinite(after) ? Math.min(after * 1000, 30000) : undefined);
        continue;
      }
      return res;
    }
  }

  private async backoff(attempt: number, ms?: number): Promise<void> {
    const base = this.options.backoffMs ?? 500;
    await new Promise((r) => setTimeout(r, ms ?? base * 2 ** attempt));
  }

  private async follow(url: URL, accept?: string, authRetried = false): Promise<Response> {
    let current = url;
    for (let hops = 0; hops < 5; hops++) {
      const sameHost = current.host === this.options.host;
      const headers: Record<string, string> = { 'user-agent': 'org-ca-leak-check', ...present({ accept }) };
      if (sameHost && this.authorization) headers.authorization = this.authorization;
      const res = await once(current, headers, this.options.env, this.trust, this.timeoutMs);
      const status = res.status;
      if (status === 401 && sameHost && !authRetried && res.headers['www-authenticate']) {
        res.body.destroy();
        await this.authenticate(String(res.headers['www-authenticate']));
        return this.follow(url, accept, true);
      }
      if ([301, 302, 303, 307, 308].includes(status) && res.headers.location) {
        res.body.destroy();
        const next = new URL(res.headers.location, current);
        // Verification is never traded for a redirect: https only, the same trust as the registry.
        if (next.protocol !== 'https:')
          throw new RegistryError(`${current.host} redirected to a non-https URL (${next.protocol}//${next.host})`);
        current = next;
        continue;
      }
      return { status, headers: res.headers, body: res.body, url: current.href };
    }
    throw new RegistryError(`more than 5 redirects from ${url.href}`);
  }

  private async authenticate(header: string): Promise<void> {
    const { scheme, params } = parseChallenge(header);
    const creds = this.options.credentials;
    const basic = creds ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}` : undefined;
    if (scheme === 'basic') {
      if (!basic)
        throw new RegistryError(
          `${this.options.host} asks for a user name and password (401): pass --username/--password-stdin or log in with docker login`,
        );
      this.authorization = basic;
      return;
    }
    if (scheme !== 'bearer' || !params.realm)
      throw new RegistryError(`${this.options.host} asks for unsupported authentication '${header.split(' ')[0]}'`);
    const realm = new URL(params.realm);
    if (realm.protocol !== 'https:')
      throw new RegistryError(`${this.options.host}'s token service is not https (${realm.origin})`);
    if (params.service) realm.searchParams.set('service', params.service);
    realm.searchParams.set('scope', params.scope ?? `repository:${this.options.repository}:pull`);
    const res = await once(
      realm,
      { 'user-agent': 'org-ca-leak-check', ...present({ authorization: basic }) },
      this.options.env,
      this.trust,
      this.timeoutMs,
    );
    const text = await readText(res.body);
    if (res.status !== 200)
      throw new RegistryError(
        `the token service ${realm.host} answered ${res.status}${creds ? ' for the credentials given' : ' to an anonymous request'}`,
      );
    let token: string | undefined;
    try {
      const doc = JSON.parse(text) as { token?: string; access_token?: string };
      token = doc.token ?? doc.access_token;
    } catch {
      // handled below
    }
    if (!token) throw new RegistryError(`the token service ${realm.host} answered without a token`);
    this.authorization = `Bearer ${token}`;
  }
}

export function oneLine(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { reason?: string };
  const text = error instanceof Error ? error.message : String(error);
  const code = e?.code && !text.includes(e.code) ? ` (${e.code})` : '';
  return `${text.split('\n')[0]}${code}`;
}

export { readText };
