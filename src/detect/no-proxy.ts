/**
 * NO_PROXY matching, pure. There is no standard: each client family has its own rules, and the two that matter on a
 * runner differ in small ways, so both are written down here and the probe says when they disagree.
 *
 * curl (lib/noproxy.c; https://curl.se/libcurl/c/CURLOPT_NOPROXY.html), which Python urllib, wget and Node's
 * undici follow closely:
 *   - `*` alone (the whole list) disables the proxy for every host;
 *   - a name matches itself and every subdomain; a leading or trailing dot is ignored, so `.example.com` also
 *     matches `example.com`;
 *   - no ports: `example.com:8443` matches nothing;
 *   - IP literals compare as addresses, with CIDR (`10.0.0.0/8`, since 7.86.0); IPv6 entries without brackets.
 * Go (golang.org/x/net/http/httpproxy, https://pkg.go.dev/golang.org/x/net/http/httpproxy#Config), used by
 * Docker, BuildKit, gh, Terraform and every Go tool:
 *   - an entry `*` disables the proxy for every host;
 *   - `example.com` matches itself and subdomains, `.example.com` and `*.example.com` only subdomains;
 *   - a host or IP entry may carry a port (`example.com:8443`, `1.2.3.4:80`, `[::1]:443`), then only that port;
 *   - IP literals and CIDR blocks compare as addresses;
 *   - `localhost` and loopback addresses are never proxied, whatever the list says.
 */
import { isIP } from 'node:net';
import { present } from '../lang/present.js';

export type NoProxyFlavor = 'curl' | 'go';

/** Strips IPv6 brackets and a trailing dot, lower-cases: the form both families compare. */
function normaliseHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.') && isIP(h) === 0) h = h.slice(0, -1);
  return h;
}

function ipv4Bits(ip: string): bigint {
  return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

/** Expands an IPv6 literal (with `::` and an optional dotted IPv4 tail) to 128 bits. */
function ipv6Bits(ip: string): bigint {
  let text = ip.split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4Bits(dotted[1]!);
    text = text.slice(0, -dotted[1]!.length) + `${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headParts = head ? head.split(':') : [];
  const tailParts = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array<string>(8 - headParts.length - tailParts.length).fill('0');
  return [...headParts, ...fill, ...tailParts].reduce(
    (acc, part) => (acc << 16n) | BigInt(parseInt(part || '0', 16)),
    0n,
  );
}

/** Whether `host` (an IP literal) lies in `network`/`bits`; bits absent = exact match. Families never mix. */
function inCidr(host: string, network: string, bits: number | undefined): boolean {
  const family = isIP(host);
  if (family === 0 || isIP(network) !== family) return false;
  const width = family === 4 ? 32 : 128;
  const prefix = bits ?? width;
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > width) return false;
  const toBits = family === 4 ? ipv4Bits : ipv6Bits;
  const shift = BigInt(width - prefix);
  return toBits(host) >> shift === toBits(network) >> shift;
}

function entries(list: string): string[] {
  return list
    .split(',')
    .map((e) => e.trim().toLowerCase())
    .filter(Boolean);
}

function curlMatches(host: string, list: string): boolean {
  if (list.trim() === '*') return true;
  const ip = isIP(host) !== 0;
  for (const raw of entries(list)) {
    if (ip) {
      const [network, bits] = raw.split('/');
      if (inCidr(host, network!, bits === undefined ? undefined : Number(bits))) return true;
      continue;
    }
    const token = raw.replace(/\.$/, '').replace(/^\./, '');
    if (!token) continue;
    if (host === token || host.endsWith(`.${token}`)) return true;
  }
  return false;
}

/** Splits `host:port`, `[v6]:port`, or a bare host; a bare IPv6 literal has no port. */
function splitEntry(entry: string): { host: string; port?: string } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { host: bracketed[1]!, ...present({ port: bracketed[2] }) };
  const colon = entry.lastIndexOf(':');
  if (colon > 0 && entry.indexOf(':') === colon && /^\d+$/.test(entry.slice(colon + 1))) {
    return { host: entry.slice(0, colon), port: entry.slice(colon + 1) };
  }
  return { host: entry };
}

function isLoopback(host: string): boolean {
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return ipv6Bits(host) === 1n;
  return false;
}

function goMatches(host: string, port: string, list: string): boolean {
  if (host === 'localhost' || isLoopback(host)) return true;
  const ip = isIP(host) !== 0;
  for (const raw of entries(list)) {
    if (raw === '*') return true;
    const cidr = /^([^/]+)\/(\d+)$/.exec(raw);
    if (cidr && isIP(cidr[1]!) !== 0) {
      if (ip && inCidr(host, cidr[1]!, Number(cidr[2]))) return true;
      continue;
    }
    const entry = splitEntry(raw);
    if (!entry.host) continue;
    const portOk = entry.port === undefined || entry.port === port;
    if (isIP(entry.host) !== 0) {
      if (ip && inCidr(host, entry.host, undefined) && portOk) return true;
      continue;
    }
    // Go compares domain entries as strings, against IP hosts too (harmless: an IP never ends in ".name").
    let name = entry.host.startsWith('*.') ? entry.host.slice(1) : entry.host;
    const matchHost = !name.startsWith('.');
    if (matchHost) name = `.${name}`;
    if ((host.endsWith(name) || (matchHost && host === name.slice(1))) && portOk) return true;
  }
  return false;
}

/** Whether a client of `flavor` goes to `host:port` directly because of the NO_PROXY `list`. */
export function bypassesProxy(flavor: NoProxyFlavor, host: string, port: number | string, list: string): boolean {
  const h = normaliseHost(host);
  if (!h) return false;
  return flavor === 'curl' ? curlMatches(h, list) : goMatches(h, String(port), list);
}
