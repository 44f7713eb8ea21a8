/**
 * Which way a job's HTTPS request leaves the runner: directly, or through the proxy from the environment. Pure.
 * Lower-case variables win over upper-case ones, as in curl (https://curl.se/docs/manpage.html#ENVIRONMENT) and
 * Python urllib (https://docs.python.org/3/library/urllib.request.html#urllib.request.getproxies); Go reads
 * upper-case first, so a disagreement between the two is reported as a note.
 */
import { bypassesProxy } from './no-proxy.js';
import { present } from '../lang/present.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface Target {
  readonly url: string;
  /** Host as it appears in the URL, without IPv6 brackets. */
  readonly host: string;
  readonly port: number;
}

export interface ProxyRoute {
  readonly kind: 'proxy';
  /** The proxy URL without credentials, for logs and the summary. */
  readonly display: string;
  readonly protocol: 'http:' | 'https:';
  readonly host: string;
  readonly port: number;
  /** `Basic …` header value, from credentials in the proxy URL; never logged. */
  readonly authorization?: string;
  /** Which variable named the proxy. */
  readonly variable: string;
}

export interface DirectRoute {
  readonly kind: 'direct';
  /** Why direct: no proxy variable, or the NO_PROXY entry list that matched. */
  readonly why: string;
}

export type Route = (ProxyRoute | DirectRoute) & { readonly notes: readonly string[] };

export class TargetError extends Error {
  override readonly name = 'TargetError';
}

/** Parses a probe URL; only https is meaningful (the chain is the point). A bare host gets https:// and :443. */
export function parseTarget(raw: string): Target {
  const text = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new TargetError(`Invalid probe URL '${text}': expected an https:// URL (e.g., https://github.com).`);
  }
  if (url.protocol !== 'https:') {
    throw new TargetError(
      `Invalid probe URL '${text}': expected https:// (a TLS certificate chain is what is probed), got ${url.protocol}//.`,
    );
  }
  if (!url.hostname) throw new TargetError(`Invalid probe URL '${text}': no host.`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { url: url.href, host, port: url.port ? Number(url.port) : 443 };
}

function firstSet(env: Env, names: readonly string[]): { name: string; value: string } | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '') return { name, value: value.trim() };
  }
  return undefined;
}

/** Parses the proxy variable's value into a route; throws with the variable's name and the URL minus credentials. */
export function parseProxy(variable: string, value: string): ProxyRoute {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new TargetError(`${variable} is not a URL: expected http://[user:password@]host:port.`);
  }
  const display = `${url.protocol}//${url.host}`;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TargetError(
      `${variable} '${display}' uses ${url.protocol}//, which the probe cannot tunnel through: expected http:// or https://.`,
    );
  }
  const authorization =
    url.username || url.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
      : undefined;
  return {
    kind: 'proxy',
    display,
    protocol: url.protocol,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80,
    ...present({ authorization }),
    variable,
  };
}

/** The route curl-style clients take to `target` under `env`, with notes where Go tools would go another way. */
export function routeFor(target: Target, env: Env): Route {
  const proxy = firstSet(env, ['https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY']);
  const noProxy = firstSet(env, ['no_proxy', 'NO_PROXY']);
  const notes: string[] = [];
  const goProxy = firstSet(env, ['HTTPS_PROXY', 'https_proxy']);
  const goNoProxy = firstSet(env, ['NO_PROXY', 'no_proxy']);
  if (proxy && goProxy && proxy.value !== goProxy.value) {
    notes.push(
      `${proxy.name} and ${goProxy.name} differ: curl-style clients use ${proxy.name}, Go tools ${goProxy.name}.`,
    );
  }
  if (!proxy) return { kind: 'direct', why: 'no proxy variable set', notes };

  const curlDirect = noProxy ? bypassesProxy('curl', target.host, target.port, noProxy.value) : false;
  // Go reads no ALL_PROXY: with only that set, Go tools go directly.
  const goDirect = goProxy ? bypassesProxy('go', target.host, target.port, goNoProxy?.value ?? '') : true;
  if (curlDirect !== goDirect) {
    notes.push(
      `NO_PROXY rules differ for ${target.host}:${target.port}: curl, Python and Node clients go ${curlDirect ? 'directly' : 'through the proxy'}, ` +
        `Go tools (docker, BuildKit) ${goDirect ? 'directly' : 'through the proxy'}; this probe took the curl path.`,
    );
  }
  if (curlDirect) return { kind: 'direct', why: `${noProxy!.name} matches ${target.host}`, notes };
  return { ...parseProxy(proxy.name, proxy.value), notes };
}
