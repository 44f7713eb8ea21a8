import { randomBytes } from 'node:crypto';

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

/** A run id as it appears in the names of a run's CA files and journal. */
export const RUN_ID = '[0-9a-f]{8,32}';
const WHOLE_RUN_ID = new RegExp(`^${RUN_ID}$`);
const CERT_NAME = new RegExp(`^org-ca(-${RUN_ID})?\\.crt$`);

/**
 * The CA's file name in every registry directory: `org-ca-RUN.crt`, RUN naming the run (and its journal). Not
 * `ca.crt`, the name administrators use: both builders read every `*.crt` there, so the org CA goes next to an
 * existing CA instead of replacing it. One file per run, because several jobs on one host may need the same registry
 * at once: each removes its own file, never one another job still reads.
 */
export function certFileName(runId: string): string {
  if (!WHOLE_RUN_ID.test(runId)) throw new Error(`run id '${runId}' is not 8 to 32 hex digits`);
  return `org-ca-${runId}.crt`;
}

/** A new run's id: eight random hex digits. */
export function newRunId(): string {
  return randomBytes(4).toString('hex');
}

/** org-ca's CA files: this version's, and `org-ca.crt`, which earlier versions wrote. */
export function isOrgCaCertName(name: string): boolean {
  return CERT_NAME.test(name);
}

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
