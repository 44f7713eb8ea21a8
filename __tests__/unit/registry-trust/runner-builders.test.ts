import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { setUpRegistryTrust } from '../../../src/action/registry-trust.js';
import { DEFAULT_REGISTRIES } from '../../../src/registry-trust/hosts.js';
import { trustLocations } from '../../../src/registry-trust/locations.js';
import { locationsReadBy, runnerBuilders, type BuilderProbe } from '../../../src/registry-trust/runner-builders.js';

describe('runnerBuilders (pure, over a fake probe)', () => {
  const probe = (sockets: string[], executables: string[]): BuilderProbe => ({
    isSocket: (p) => sockets.includes(p),
    isExecutable: (p) => executables.includes(p),
  });
  test.each([
    ['no socket, no tools', {}, [], [], {}],
    ['the default socket', {}, ['/var/run/docker.sock'], [], { dockerSocket: '/var/run/docker.sock' }],
    ['/run/docker.sock', {}, ['/run/docker.sock'], [], { dockerSocket: '/run/docker.sock' }],
    [
      "DOCKER_HOST's unix socket",
      { DOCKER_HOST: 'unix:///srv/d.sock' },
      ['/srv/d.sock'],
      [],
      { dockerSocket: '/srv/d.sock' },
    ],
    [
      'DOCKER_HOST names a socket that is not there (the default one is not looked at)',
      { DOCKER_HOST: 'unix:///srv/d.sock' },
      ['/var/run/docker.sock'],
      [],
      {},
    ],
    [
      'a remote engine over tcp:// reads another host’s certs.d',
      { DOCKER_HOST: 'tcp://10.0.0.1:2376' },
      ['/var/run/docker.sock'],
      [],
      {},
    ],
    ['podman on PATH', { PATH: '/a:/b' }, [], ['/b/podman'], { containersTool: '/b/podman' }],
    [
      'buildah before podman in one dir, the first dir wins',
      { PATH: '/a:/b' },
      [],
      ['/b/buildah', '/a/podman'],
      { containersTool: '/a/podman' },
    ],
    ['a relative PATH entry is not searched', { PATH: 'bin' }, [], ['bin/buildah'], {}],
  ])('%s', (_name, env, sockets, executables, expected) => {
    expect(runnerBuilders(env, probe(sockets, executables))).toEqual(expected);
  });

  test('each builder selects the directories it reads', () => {
    const all = trustLocations({ HOME: '/home/r' }, 1000);
    expect(locationsReadBy(all, {}).map((l) => l.id)).toEqual([]);
    expect(locationsReadBy(all, { dockerSocket: '/var/run/docker.sock' }).map((l) => l.id)).toEqual(['docker']);
    expect(locationsReadBy(all, { containersTool: '/usr/bin/buildah' }).map((l) => l.id)).toEqual([
      'containers',
      'containers-rootless',
    ]);
  });
});

describe('runnerBuilders on this host', () => {
  let dir: string;
  let server: Server | undefined;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'org-ca-builders-'))));
  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  test('a real listening unix socket and a real executable on PATH are found; a plain file and a non-executable are not', async () => {
    const socket = join(dir, 'docker.sock');
    server = createServer();
    await new Promise<void>((resolve) => server!.listen(socket, resolve));
    writeFileSync(join(dir, 'plain.sock'), '');
    writeFileSync(join(dir, 'buildah'), '#!/bin/sh\n');
    chmodSync(join(dir, 'buildah'), 0o644);
    expect(runnerBuilders({ DOCKER_HOST: `unix://${join(dir, 'plain.sock')}`, PATH: dir })).toEqual({});
    chmodSync(join(dir, 'buildah'), 0o755);
    expect(runnerBuilders({ DOCKER_HOST: `unix://${socket}`, PATH: dir })).toEqual({
      dockerSocket: socket,
      containersTool: join(dir, 'buildah'),
    });
  });

  test('registries: auto on a runner without builders: no journal, no file, and not a line in the log but debug', async () => {
    const journal = join(dir, 'journal.json');
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, 'not read when nothing is done');
    const out: string[] = [];
    const write = jest
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
    try {
      await setUpRegistryTrust({ hosts: DEFAULT_REGISTRIES, whenBuilderPresent: true }, ca, {
        ORG_CA_REGISTRY_JOURNAL: journal,
        HOME: dir,
        PATH: dir,
        DOCKER_HOST: `unix://${join(dir, 'none.sock')}`,
      });
    } finally {
      write.mockRestore();
    }
    expect(out.filter((line) => !line.startsWith('::debug::'))).toEqual([]);
    expect(out.join('')).toMatch(/registries: auto found no Docker Engine socket and no buildah or podman on PATH/);
    expect(() => rmSync(journal)).toThrow(/ENOENT/);
  });
});
