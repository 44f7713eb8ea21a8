import dockerignoreModule from '@balena/dockerignore';
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, posix } from 'node:path';
import { readJks, isJavaKeystore } from '../ca/jks.js';
import { parseCertificates } from '../ca/parse.js';
import { certificateFromDer, isIssuedBy, type Certificate } from '../ca/certificate.js';
import type { ContextView } from './context-view.js';
import { globRegExp, hasCertExtension, hasGlob } from './paths.js';

/**
 * The build context as `docker build` sends it: every file under the directory except what .dockerignore excludes
 * (BuildKit's `<Dockerfile>.dockerignore` beside the Dockerfile wins over the context's own). Patterns are read by
 * @balena/dockerignore, which follows Docker's rules (anchored at the root, `**`, `!` exceptions, last match wins).
 * Certificate files are parsed with the project's CA parser; a file counts when it holds a CA certificate, or, given
 * the org CA, a certificate of its family.
 */
export interface OrgCa {
  readonly certs: readonly Certificate[];
  /** SHA-256 fingerprints, lower-case hex without colons. */
  readonly fingerprints: readonly string[];
}

export class ContextError extends Error {
  override readonly name = 'ContextError';
}

// A CommonJS module whose typings declare `export default`: under NodeNext the default import is module.exports.
const dockerignore = ((dockerignoreModule as unknown as { default?: typeof dockerignoreModule }).default ??
  dockerignoreModule) as unknown as () => {
  add(patterns: string[]): { ignores(path: string): boolean };
};

const MAX_FILES = 500_000;
const MAX_CERT_BYTES = 4 * 1024 * 1024;

export function inOrgFamily(cert: Certificate, org: OrgCa): boolean {
  if (org.fingerprints.includes(cert.fingerprint)) return true;
  return org.certs.some(
    (o) =>
      o.fingerprint === cert.fingerprint ||
      o.spkiSha256 === cert.spkiSha256 ||
      isIssuedBy(cert, o) ||
      isIssuedBy(o, cert),
  );
}

function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path);
      else out.push(path);
      if (out.length > MAX_FILES)
        throw new ContextError(
          `the build context '${root}' has more than ${MAX_FILES} files: expected a Docker build context (use .dockerignore).`,
        );
    }
  };
  walk('');
  return out;
}

function readIgnore(root: string, dockerfile: string | undefined): string[] {
  const specific = dockerfile ? join(dirname(dockerfile), `${basename(dockerfile)}.dockerignore`) : undefined;
  const file = specific && existsSync(specific) ? specific : join(root, '.dockerignore');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

function certificatesIn(bytes: Buffer, name: string): Certificate[] | undefined {
  try {
    if (isJavaKeystore(bytes)) return readJks(bytes).map((e) => certificateFromDer(e.der));
  } catch {
    return undefined;
  }
  const text = bytes.toString('latin1');
  const pem =
    text.includes('-----BEGIN CERTIFICATE') ||
    text.includes('-----BEGIN TRUSTED CERTIFICATE') ||
    text.includes('-----BEGIN PKCS7');
  if (!pem && !(hasCertExtension(name) && bytes[0] === 0x30)) return undefined;
  try {
    // A PEM with a private key in it is a server identity, not a CA to trust: the parser refuses it.
    return parseCertificates(bytes, name);
  } catch {
    return undefined;
  }
}

export function readBuildContext(root: string, options: { dockerfile?: string; org?: OrgCa } = {}): ContextView {
  let stat;
  try {
    stat = statSync(root);
  } catch (error) {
    throw new ContextError(
      `the build context '${root}' could not be read (${(error as NodeJS.ErrnoException).code ?? 'unreadable'}): expected a directory.`,
    );
  }
  if (!stat.isDirectory())
    throw new ContextError(
      `the build context '${root}' is not a directory: expected the directory docker build is given.`,
    );
  const ig = dockerignore().add(readIgnore(root, options.dockerfile));
  const files = listFiles(root).filter((f) => !ig.ignores(f));
  const classified = new Map<string, { ca: boolean; description: string } | undefined>();

  return {
    match(source) {
      if (source === '.' || source === '') return { files, dir: true };
      if (hasGlob(source)) {
        const re = globRegExp(source);
        const hit = files.filter(
          (f) => re.test(f) || f.split('/').some((_, i, parts) => re.test(parts.slice(0, i + 1).join('/'))),
        );
        return hit.length ? { files: hit, dir: false } : undefined;
      }
      if (files.includes(source)) return { files: [source], dir: false };
      const under = files.filter((f) => f.startsWith(`${source}/`));
      return under.length ? { files: under, dir: true } : undefined;
    },
    classify(file) {
      if (classified.has(file)) return classified.get(file);
      let result: { ca: boolean; description: string } | undefined;
      const path = join(root, ...file.split('/'));
      try {
        const st = lstatSync(path);
        if (st.isFile() && st.size <= MAX_CERT_BYTES) {
          const certs = certificatesIn(readFileSync(path), posix.basename(file));
          if (certs?.length) {
            const counted = options.org
              ? certs.filter((c) => inOrgFamily(c, options.org!))
              : certs.filter((c) => c.isCa);
            const shown = (counted[0] ?? certs[0])!;
            result = {
              ca: counted.length > 0,
              description: counted.length
                ? `${options.org ? "a certificate of the org CA's family" : 'a CA certificate'}: ${shown.subject}${counted.length > 1 ? ` and ${counted.length - 1} more` : ''}`
                : `${certs.length} certificate(s), ${options.org ? "none of the org CA's family" : 'none of them a CA'}: ${shown.subject}`,
            };
          }
        }
      } catch {
        result = undefined;
      }
      classified.set(file, result);
      return result;
    },
  };
}
