/**
 * Which container builders that read certs.d are installed on this runner: what `registries: auto` acts for.
 *
 * A Docker Engine is present when its socket is on this host (DOCKER_HOST's unix socket, else the default
 * /var/run/docker.sock); an engine reached over tcp:// or ssh:// reads the certs.d of another machine, so nothing here
 * would reach it. containers/image (buildah, podman, skopeo) has no daemon: it is present when buildah or podman is
 * on PATH.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TrustLocation } from './locations.js';
import { present } from '../lang/present.js';

export interface RunnerBuilders {
  /** The Docker Engine socket found, if any. */
  readonly dockerSocket?: string;
  /** buildah or podman, as found on PATH. */
  readonly containersTool?: string;
}

export interface BuilderProbe {
  readonly isSocket: (path: string) => boolean;
  readonly isExecutable: (path: string) => boolean;
}

const DEFAULT_DOCKER_SOCKETS = ['/var/run/docker.sock', '/run/docker.sock'];
const CONTAINERS_TOOLS = ['buildah', 'podman'];

export const hostProbe: BuilderProbe = {
  isSocket: (path) => {
    try {
      return statSync(path).isSocket();
    } catch {
      return false;
    }
  },
  isExecutable: (path) => {
    try {
      if (!statSync(path).isFile()) return false;
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  },
};

/** The builders on this runner, from DOCKER_HOST and PATH as the job sees them. */
export function runnerBuilders(
  env: Readonly<Record<string, string | undefined>>,
  probe: BuilderProbe = hostProbe,
): RunnerBuilders {
  const dockerHost = env.DOCKER_HOST?.trim();
  const sockets = dockerHost
    ? dockerHost.startsWith('unix://')
      ? [dockerHost.slice('unix://'.length)]
      : []
    : DEFAULT_DOCKER_SOCKETS;
  const dockerSocket = sockets.find((s) => s !== '' && probe.isSocket(s));
  const dirs = (env.PATH ?? '').split(delimiter).filter((d) => d.startsWith('/'));
  let containersTool: string | undefined;
  for (const dir of dirs) {
    containersTool = CONTAINERS_TOOLS.map((tool) => join(dir, tool)).find((path) => probe.isExecutable(path));
    if (containersTool) break;
  }
  return { ...present({ dockerSocket, containersTool }) };
}

/** The trust locations read by the builders present: Docker's for an engine, containers/image's for buildah/podman. */
export function locationsReadBy(locations: readonly TrustLocation[], builders: RunnerBuilders): TrustLocation[] {
  return locations.filter((l) =>
    l.id === 'docker' ? builders.dockerSocket !== undefined : builders.containersTool !== undefined,
  );
}
