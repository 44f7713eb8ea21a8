/**
 * Where each builder on the runner looks for a registry's CA: one typed table instead of scattered conditionals.
 * Every location is a directory of per-registry directories (`ROOT/HOST[:PORT]/`) whose `*.crt` files are CA
 * certificates, read per pull without a restart (with one exception for Docker's BuildKit, see `note`).
 */
export interface TrustLocation {
  readonly id: 'docker' | 'containers' | 'containers-rootless';
  /** Who reads it, for logs and the summary. */
  readonly readers: string;
  readonly root: string;
  /** Whether writing there needs root (or passwordless sudo). */
  readonly privileged: boolean;
  readonly source: string;
}

/**
 * The CA's file name in every registry directory. Not `ca.crt`, the name administrators use: both builders read
 * every `*.crt` there, so the org CA goes next to an existing CA instead of replacing it.
 */
export const CERT_FILE_NAME = 'org-ca.crt';

export function trustLocations(env: Readonly<Record<string, string | undefined>>, uid: number): TrustLocation[] {
  const locations: TrustLocation[] = [
    {
      id: 'docker',
      readers: 'Docker Engine (docker pull, its BuildKit builder) and, as a fallback, containers/image',
      root: '/etc/docker/certs.d',
      privileged: true,
      source: 'https://docs.docker.com/engine/security/certificates/',
    },
    {
      id: 'containers',
      readers: 'buildah, podman and skopeo (containers/image), run as root',
      root: '/etc/containers/certs.d',
      privileged: true,
      source: 'https://github.com/containers/image/blob/main/docs/containers-certs.d.5.md',
    },
  ];
  // containers/image reads the per-user directory only when not running as root (containers-certs.d(5)).
  const config = env.XDG_CONFIG_HOME || (env.HOME ? `${env.HOME}/.config` : '');
  if (uid !== 0 && config) {
    locations.push({
      id: 'containers-rootless',
      readers: 'rootless buildah, podman and skopeo',
      root: `${config}/containers/certs.d`,
      privileged: false,
      source: 'https://github.com/containers/image/blob/main/docs/containers-certs.d.5.md',
    });
  }
  return locations;
}
