import { posix } from 'node:path';

/**
 * Where Linux distributions keep their own CA bundle, the file a correctly built image already trusts. A setting that
 * points at one of these (unmodified) is not an org-CA leak: the leak check, the Dockerfile lint and the in-build
 * helper (with-org-ca.sh, kept equal by a unit test) all use this one list.
 */
export const SYSTEM_BUNDLE_FILES: readonly string[] = [
  '/etc/ssl/certs/ca-certificates.crt', // Debian, Ubuntu, Alpine, Gentoo, Arch (also /etc/ssl/cert.pem)
  '/etc/pki/tls/certs/ca-bundle.crt', // RHEL, Fedora, CentOS, Amazon Linux
  '/etc/ssl/ca-bundle.pem', // openSUSE, SLES
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem', // RHEL/Fedora p11-kit extract
  '/etc/ssl/cert.pem', // Alpine, Arch, macOS, LibreSSL
];

/** Directories of hashed certificate links that the distribution's own tooling maintains (OpenSSL CApath). */
export const SYSTEM_BUNDLE_DIRS: readonly string[] = [
  '/etc/ssl/certs',
  '/etc/pki/tls/certs',
  '/etc/pki/ca-trust/extracted/pem',
];

/** Whether an absolute path (normalised here) names a distribution's own bundle file or certificate directory. */
export function isSystemBundlePath(path: string): boolean {
  if (!path.startsWith('/')) return false;
  const normalised = posix.normalize(path).replace(/\/+$/, '') || '/';
  return SYSTEM_BUNDLE_FILES.includes(normalised) || SYSTEM_BUNDLE_DIRS.includes(normalised);
}
