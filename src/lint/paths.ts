import { posix } from 'node:path';
import { isSystemBundlePath, SYSTEM_BUNDLE_DIRS, SYSTEM_BUNDLE_FILES } from '../tools/system-bundles.js';

/**
 * Where trust lives in an image, and what a CA file looks like by name. Pure string work on absolute POSIX paths.
 */

/** Directories that trust-store tools read additions from (update-ca-certificates, update-ca-trust, trust anchor). */
export const TRUST_SOURCE_DIRS: readonly string[] = [
  '/usr/local/share/ca-certificates', // Debian/Ubuntu/Alpine update-ca-certificates
  '/usr/share/ca-certificates', // Debian: listed in /etc/ca-certificates.conf
  '/etc/pki/ca-trust/source', // RHEL/Fedora update-ca-trust (and anchors/, blacklist/)
  '/usr/share/pki/ca-trust-source', // RHEL/Fedora, and openSUSE/SLES update-ca-certificates
  '/etc/pki/trust/anchors', // openSUSE/SLES
  '/etc/ca-certificates/trust-source', // Arch trust anchor
  '/usr/local/share/certs', // FreeBSD-style, seen in images
];

/** What each tool regenerates from those sources: the distribution bundles plus the Java stores they feed. */
export const REGENERATED_BY_UPDATE: readonly string[] = [
  ...SYSTEM_BUNDLE_FILES,
  ...SYSTEM_BUNDLE_DIRS,
  '/etc/ssl/certs/java/cacerts',
  '/etc/pki/java/cacerts',
  '/etc/pki/ca-trust/extracted',
];

/** A path segment that marks a place where certificates are trusted (dockerd/podman registry CAs included). */
const TRUST_SEGMENTS = new Set([
  'ca-certificates',
  'ca-trust',
  'ca-trust-source',
  'anchors',
  'trust-source',
  'certs.d',
  'cacerts',
]);

export function normalise(path: string): string {
  const n = posix.normalize(path.startsWith('/') ? path : `/${path}`);
  return n.length > 1 ? n.replace(/\/+$/, '') : n;
}

/** Resolves `path` against a working directory, as WORKDIR, COPY destinations and `cd` do. */
export function resolvePath(path: string, cwd: string): string {
  if (path === '' || path === '.') return normalise(cwd);
  return normalise(path.startsWith('/') ? path : posix.join(cwd, path));
}

export function isUnder(path: string, dir: string): boolean {
  return dir === '/' ? path.startsWith('/') : path === dir || path.startsWith(`${dir}/`);
}

export function isTrustSource(path: string): boolean {
  return TRUST_SOURCE_DIRS.some((d) => isUnder(path, d));
}

/** A place whose files a system trust store, a Java store or a container engine trusts. */
export function isTrustPath(path: string): boolean {
  // Hooks, configuration and distrust lists live beside the anchors but add no trust.
  if (
    isUnder(path, '/etc/ca-certificates/update.d') ||
    /\/(blacklist|blocklist)(\/|$)/.test(path) ||
    /\.(conf|sh)$/.test(path)
  )
    return false;
  if (isTrustSource(path) || isSystemBundlePath(path)) return true;
  if (isUnder(path, '/etc/ssl/certs') || isUnder(path, '/etc/pki') || isUnder(path, '/usr/share/pki')) return true;
  const segments = path.split('/');
  if (segments.some((s) => TRUST_SEGMENTS.has(s))) return true;
  // A JDK's security directory (…/lib/security, …/jre/lib/security), home of cacerts.
  return /\/lib\/security(\/|$)/.test(path);
}

export { isSystemBundlePath };

/** Certificate file extensions; keystores included. */
const CERT_EXTENSION = /\.(pem|crt|cer|cert|der|p7b|p7c|jks|bks|keystore|truststore|ca-bundle)$/i;
/**
 * Words that make a certificate file name a CA's (split on separators and camelCase: rootCA → root, ca). Words a
 * server's own certificate also uses (proxy, chain as in certbot's chain.pem, bundle, internal) are left out.
 */
const CA_WORDS = new Set([
  'ca',
  'cas',
  'cacert',
  'cacerts',
  'root',
  'roots',
  'rootca',
  'trust',
  'truststore',
  'anchor',
  'anchors',
  'zscaler',
  'netskope',
  'nscacert',
  'mitm',
  'mitmproxy',
  'inspection',
  'corp',
  'corporate',
  'company',
  'enterprise',
  'org',
  'issuing',
  'intermediate',
  'pki',
  'netfree',
  'fortinet',
  'fortigate',
  'paloalto',
  'bluecoat',
  'forcepoint',
]);

function nameWords(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.toLowerCase());
}

export function hasCertExtension(name: string): boolean {
  return CERT_EXTENSION.test(name);
}

/** Whether a file name reads as a CA certificate (a server's cert.pem or tls.crt does not). */
export function isCaLikeName(path: string): boolean {
  const base = posix.basename(path);
  if (/^cacerts?$/i.test(base) || /^ca-certificates\.crt$/i.test(base)) return true;
  if (!hasCertExtension(base) && !/\.(pem|crt|cer)\b/i.test(base)) return false;
  const stem = base.replace(/(\.(pem|crt|cer|cert|der|p7b|p7c|jks|bks|keystore|truststore|ca-bundle))+$/i, '');
  return nameWords(stem).some((w) => CA_WORDS.has(w));
}

/** Go's filepath.Match-style glob (BuildKit's COPY patterns) to a RegExp over a whole path. */
export function globRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') {
        re += '.*';
        i++;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end === -1) re += '\\[';
      else {
        re += `[${pattern
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function hasGlob(path: string): boolean {
  return /[*?[]/.test(path);
}

/** Whether a copy/remove source (file, directory or glob) covers `path`. */
export function covers(source: string, path: string): boolean {
  if (hasGlob(source)) {
    const re = globRegExp(source);
    // A glob matching a directory covers what is under it.
    let p = path;
    for (;;) {
      if (re.test(p)) return true;
      if (p === '/' || p === '') return false;
      p = posix.dirname(p);
    }
  }
  return isUnder(path, source);
}

/** Downloads that are public bundles, not an org CA (Mozilla's list as curl ships it). */
const PUBLIC_BUNDLE_URLS = [/^https?:\/\/curl\.(se|haxx\.se)\/ca\/cacert(-[\d-]+)?\.pem$/i];

export function isPublicBundleUrl(url: string): boolean {
  return PUBLIC_BUNDLE_URLS.some((re) => re.test(url));
}

export function urlBasename(url: string): string {
  try {
    return posix.basename(new URL(url).pathname) || 'index.html';
  } catch {
    return posix.basename(url);
  }
}

export function isUrl(word: string): boolean {
  return /^(https?|ftp):\/\//i.test(word);
}

/**
 * A destination without a trailing slash is a file unless it already exists as a directory in the image. The
 * Dockerfile cannot say; these are directories in every image that has them (trust stores, a JDK's security dir).
 */
export function isKnownDirectory(path: string): boolean {
  if (path === '/' || path === '/tmp' || path === '/root' || path === '/etc/ssl/certs') return true;
  if (/\/lib\/security$/.test(path)) return true;
  return isTrustPath(path) && posix.extname(path) === '' && posix.basename(path) !== 'cacerts';
}
