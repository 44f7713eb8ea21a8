import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { createHash } from 'node:crypto';
import { jest } from '@jest/globals';
import { applyRegistryTrust } from '../../../src/registry-trust/apply.js';
import { setUpRegistryTrust } from '../../../src/action/registry-trust.js';
import { buildkitdConfigInline, kanikoFlags } from '../../../src/registry-trust/builders.js';
import { DEFAULT_REGISTRIES, parseRegistries, parseRegistry } from '../../../src/registry-trust/hosts.js';
import {
  parseJournal,
  registryJournalPath,
  readJournalFile,
  revertJournalFile,
  undoJournal,
  writeJournalFile,
} from '../../../src/registry-trust/trust-journal.js';
import { certFileName, trustLocations, type TrustLocation } from '../../../src/registry-trust/locations.js';

const RUN = 'a1b2c3d4';
const CERT_FILE_NAME = certFileName(RUN);
import { planTrust, type PathKind } from '../../../src/registry-trust/trust-plan.js';
import { opsFor } from '../../../src/registry-trust/privileges.js';
import { shellQuote } from '../../../src/output/shell-quote.js';
import { trustedScratchDir } from '../../support/unprivileged-user.js';

describe('the registries input', () => {
  test.each([
    ['', DEFAULT_REGISTRIES, true],
    ['auto', DEFAULT_REGISTRIES, true],
    [' AUTO ', DEFAULT_REGISTRIES, true],
    ['defaults', DEFAULT_REGISTRIES, false],
    ['none', [], false],
    ['ghcr.io', ['ghcr.io'], false],
    ['defaults, Registry.Example.com:5000', [...DEFAULT_REGISTRIES, 'registry.example.com:5000'], false],
    ['ghcr.io ghcr.io\nquay.io', ['ghcr.io', 'quay.io'], false],
    ['[::1]:5000,127.0.0.1:443', ['[::1]:5000', '127.0.0.1:443'], false],
  ])('%j → %j (only where a builder is: %s)', (input, hosts, whenBuilderPresent) => {
    expect(parseRegistries(input)).toEqual({ hosts, whenBuilderPresent });
  });

  test.each(['auto ghcr.io', 'defaults,auto'])("'auto' cannot be mixed with hosts: %j", (input) => {
    expect(() => parseRegistries(input)).toThrow(
      /'auto' cannot be combined with registries\. Expected 'auto', 'none', or hosts/,
    );
  });

  test.each([
    ['https://ghcr.io', /Invalid registry 'https:\/\/ghcr.io'. Expected HOST or HOST:PORT .*no scheme or path/],
    ['ghcr.io/org/app', /Invalid registry 'ghcr.io\/org\/app'/],
    ['host:99999', /Invalid registry 'host:99999'/],
    ['-bad.example', /Invalid registry '-bad.example'/],
  ])('rejects %j with the value quoted', (input, message) => {
    expect(() => parseRegistry(input)).toThrow(message);
  });

  test("'none' cannot be mixed with hosts", () => {
    expect(() => parseRegistries('none ghcr.io')).toThrow(/'none' cannot be combined/);
  });
});

describe('builder outputs', () => {
  const ca = '/runner/_temp/org-ca-x/org-ca.pem';

  test('buildkitd-config-inline parses as TOML in BuildKit\'s [registry."HOST"] ca = [paths] schema', () => {
    const text = buildkitdConfigInline(['docker.io', 'registry.example.com:5000', '[::1]:5000'], ca);
    const doc = parse(text) as { registry: Record<string, { ca: string[] }> };
    // buildkitd.toml.md: `[registry."docker.io"]` holds `mirrors`, `http`, `insecure`, `ca`, `keypair`: only ca here.
    expect(Object.keys(doc)).toEqual(['registry']);
    expect(doc.registry).toEqual({
      'docker.io': { ca: [ca] },
      'registry.example.com:5000': { ca: [ca] },
      '[::1]:5000': { ca: [ca] },
    });
  });

  test('paths with quotes and backslashes survive the TOML round trip', () => {
    const odd = 'C:\\runner\\temp "x"\\org-ca.pem';
    const doc = parse(buildkitdConfigInline(['ghcr.io'], odd)) as { registry: Record<string, { ca: string[] }> };
    expect(doc.registry['ghcr.io']!.ca).toEqual([odd]);
  });

  test('kaniko flags name Docker Hub both ways and quote paths', () => {
    expect(kanikoFlags(['docker.io', 'ghcr.io'], '/tmp/a b/ca.pem', shellQuote)).toBe(
      "'--registry-certificate=docker.io=/tmp/a b/ca.pem' '--registry-certificate=index.docker.io=/tmp/a b/ca.pem' '--registry-certificate=ghcr.io=/tmp/a b/ca.pem'",
    );
  });
});

describe('trust locations', () => {
  test('root gets the system directories only; a user also the rootless one under XDG_CONFIG_HOME or HOME', () => {
    expect(trustLocations({ HOME: '/root' }, 0).map((l) => l.root)).toEqual([
      '/etc/docker/certs.d',
      '/etc/containers/certs.d',
    ]);
    expect(trustLocations({ HOME: '/home/runner' }, 1001).map((l) => l.root)).toContain(
      '/home/runner/.config/containers/certs.d',
    );
    expect(trustLocations({ HOME: '/home/runner', XDG_CONFIG_HOME: '/xdg' }, 1001).map((l) => l.root)).toContain(
      '/xdg/containers/certs.d',
    );
  });
});

describe('planTrust (pure)', () => {
  const loc = (root: string): TrustLocation => ({ id: 'docker', readers: 'test', root, privileged: true, source: '' });
  const fsOf = (entries: Record<string, PathKind>) => (p: string) => entries[p];

  test('creates only the missing directories, parents first, each once', () => {
    const plan = planTrust(
      [loc('/etc/docker/certs.d')],
      ['a.io', 'b.io:5000'],
      fsOf({ '/': 'dir', '/etc': 'dir' }),
      CERT_FILE_NAME,
    );
    expect(plan.mkdirs.map((d) => d.path)).toEqual([
      '/etc/docker',
      '/etc/docker/certs.d',
      '/etc/docker/certs.d/a.io',
      '/etc/docker/certs.d/b.io:5000',
    ]);
    expect(plan.files.map((f) => f.path)).toEqual([
      `/etc/docker/certs.d/a.io/${CERT_FILE_NAME}`,
      `/etc/docker/certs.d/b.io:5000/${CERT_FILE_NAME}`,
    ]);
  });

  test('never plans over an existing file, and never through a non-directory', () => {
    const plan = planTrust(
      [loc('/etc/docker/certs.d')],
      ['a.io', 'b.io'],
      fsOf({
        '/': 'dir',
        '/etc': 'dir',
        '/etc/docker': 'dir',
        '/etc/docker/certs.d': 'dir',
        '/etc/docker/certs.d/a.io': 'dir',
        [`/etc/docker/certs.d/a.io/${CERT_FILE_NAME}`]: 'file',
        '/etc/docker/certs.d/b.io': 'file',
      }),
      CERT_FILE_NAME,
    );
    expect(plan.mkdirs).toEqual([]);
    expect(plan.files).toEqual([]);
    expect(plan.skipped).toEqual([
      `/etc/docker/certs.d/a.io/${CERT_FILE_NAME}: already exists, left as it is`,
      `/etc/docker/certs.d/b.io/${CERT_FILE_NAME}: '/etc/docker/certs.d/b.io' exists and is not a directory`,
    ]);
  });
});

describe('planTrust: directories another org-ca run made (pure)', () => {
  const loc = (root: string): TrustLocation => ({ id: 'docker', readers: 'test', root, privileged: true, source: '' });
  const fsOf = (entries: Record<string, PathKind>) => (p: string) => entries[p];
  const existing = fsOf({
    '/': 'dir',
    '/etc': 'dir',
    '/etc/docker': 'dir',
    '/etc/docker/certs.d': 'dir',
    '/etc/docker/certs.d/a.io': 'dir',
  });

  test.each([
    [
      'only what another run made is adopted, parents first, up to the first directory it did not make',
      ['/etc/docker/certs.d', '/etc/docker/certs.d/a.io'],
      ['/etc/docker/certs.d', '/etc/docker/certs.d/a.io'],
      ['/etc/docker/certs.d/b.io'],
    ],
    [
      'a registry directory made by another run, under a certs.d that was there',
      ['/etc/docker/certs.d/a.io'],
      ['/etc/docker/certs.d/a.io'],
      ['/etc/docker/certs.d/b.io'],
    ],
    [
      'a parent another run made is adopted once for all registries under it',
      ['/etc/docker/certs.d'],
      ['/etc/docker/certs.d'],
      ['/etc/docker/certs.d/b.io'],
    ],
    [
      "nothing another run made: nothing adopted (an administrator's directory stays theirs)",
      [],
      [],
      ['/etc/docker/certs.d/b.io'],
    ],
    [
      'a listed directory above one that is not stays unadopted: the run is broken there',
      ['/etc/docker'],
      [],
      ['/etc/docker/certs.d/b.io'],
    ],
  ])('%s', (_name, made, adopt, mkdirs) => {
    const plan = planTrust(
      [loc('/etc/docker/certs.d')],
      ['a.io', 'b.io'],
      existing,
      'org-ca-a1b2c3d4.crt',
      new Set(made),
    );
    expect(plan.adopt.map((d) => d.path)).toEqual(adopt);
    expect(plan.mkdirs.map((d) => d.path)).toEqual(mkdirs);
    expect(plan.files.map((f) => f.path)).toEqual([
      '/etc/docker/certs.d/a.io/org-ca-a1b2c3d4.crt',
      '/etc/docker/certs.d/b.io/org-ca-a1b2c3d4.crt',
    ]);
  });
});

/** Every path under dir with its type and content, to compare before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string): void => {
    for (const name of readdirSync(p).sort()) {
      const full = join(p, name);
      const st = statSync(full);
      out[full] = st.isDirectory() ? `dir ${(st.mode & 0o777).toString(8)}` : `file ${readFileSync(full, 'utf8')}`;
      if (st.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return out;
}

describe('apply and undo on real directories', () => {
  let dir: string;
  let ca: string;
  beforeEach(() => {
    dir = trustedScratchDir('registries-');
    ca = join(dir, 'org-ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const locations = (): TrustLocation[] => [
    { id: 'docker', readers: 'docker', root: join(dir, 'etc/docker/certs.d'), privileged: true, source: '' },
    {
      id: 'containers',
      readers: 'containers',
      root: join(dir, 'etc/containers/certs.d'),
      privileged: true,
      source: '',
    },
  ];

  test('writes the CA for each registry, and undo restores the tree exactly, leaving what was there', () => {
    // An administrator's own CA for one registry, and an unrelated directory: both must survive untouched.
    mkdirSync(join(dir, 'etc/docker/certs.d/ghcr.io'), { recursive: true });
    writeFileSync(join(dir, 'etc/docker/certs.d/ghcr.io/ca.crt'), 'admin CA');
    const before = snapshot(dir);
    let saved = '';
    const result = applyRegistryTrust({
      runId: RUN,
      registries: ['ghcr.io', 'registry.example.com:5000'],
      caPath: ca,
      env: {},
      uid: 0,
      mode: 'root',
      locations: locations(),
      save: (j) => (saved = JSON.stringify(j)),
    });
    expect(result.warnings).toEqual([]);
    expect(result.written).toHaveLength(4);
    for (const path of result.written) expect(readFileSync(path, 'utf8')).toBe(readFileSync(ca, 'utf8'));
    expect(statSync(result.written[0]!).mode & 0o777).toBe(0o644);
    expect(readFileSync(join(dir, 'etc/docker/certs.d/ghcr.io/ca.crt'), 'utf8')).toBe('admin CA');
    // Only the docker directory that did not exist before is "new" for the BuildKit restart notice.
    expect(result.newDockerHosts).toEqual(['registry.example.com:5000']);

    const journal = parseJournal(saved)!;
    expect(journal.entries.length).toBe(result.journal.entries.length);
    const undo = undoJournal(journal, (p) => opsFor('root', p));
    expect(undo.left).toEqual([]);
    expect(snapshot(dir)).toEqual(before);
  });

  test('undo leaves a file changed since, and a directory someone else filled', () => {
    const result = applyRegistryTrust({
      runId: RUN,
      registries: ['a.io', 'b.io'],
      caPath: ca,
      env: {},
      uid: 0,
      mode: 'root',
      locations: locations().slice(0, 1),
    });
    const [fileA] = result.written;
    writeFileSync(fileA!, 'edited');
    writeFileSync(join(dir, 'etc/docker/certs.d/b.io/other.crt'), 'theirs');
    const undo = undoJournal(result.journal, (p) => opsFor('root', p));
    expect(existsSync(fileA!)).toBe(true);
    expect(readFileSync(join(dir, 'etc/docker/certs.d/b.io/other.crt'), 'utf8')).toBe('theirs');
    expect(undo.left.join('\n')).toMatch(/a\.io\/org-ca-a1b2c3d4\.crt: changed since org-ca wrote it/);
    expect(undo.left.join('\n')).toMatch(/b\.io: not empty or not removable/);
  });

  test('without rights to the system directories nothing is written there, with one clear warning', () => {
    const rootless: TrustLocation = {
      id: 'containers-rootless',
      readers: 'rootless',
      root: join(dir, 'home/.config/containers/certs.d'),
      privileged: false,
      source: '',
    };
    const before = snapshot(dir);
    const result = applyRegistryTrust({
      runId: RUN,
      registries: ['a.io'],
      caPath: ca,
      env: {},
      uid: 1000,
      mode: 'user',
      locations: [...locations(), rootless],
    });
    expect(result.warnings).toHaveLength(1);
    expect(result.warnings[0]).toMatch(
      /sudo asks for a password, so .*etc\/docker\/certs.d and .*etc\/containers\/certs.d were left unchanged/,
    );
    expect(result.written).toEqual([join(rootless.root, 'a.io', CERT_FILE_NAME)]);
    expect(Object.keys(snapshot(dir)).filter((p) => p.includes('/etc/'))).toEqual(
      Object.keys(before).filter((p) => p.includes('/etc/')),
    );
  });

  test('a failure half-way removes everything written so far', () => {
    const before = snapshot(dir);
    const saves: number[] = [];
    // The directories are made first; copying a CA that is not there then fails after several steps were journaled.
    const broken = applyRegistryTrust({
      runId: RUN,
      registries: ['a.io', 'b.io'],
      caPath: join(dir, 'missing.pem'),
      env: {},
      uid: 0,
      mode: 'root',
      locations: locations(),
      save: (j) => saves.push(j.entries.length),
    });
    expect(Math.max(...saves)).toBeGreaterThan(2);
    expect(broken.written).toEqual([]);
    expect(broken.warnings.join('\n')).toMatch(
      /Registry trust was not set up \(.*missing\.pem.*\); everything written so far was removed again\. /,
    );
    expect(broken.journal.entries).toEqual([]);
    expect(saves.at(-1)).toBe(0);
    expect(snapshot(dir)).toEqual(before);
  });

  test('the journal file, written after every step, reverts the tree exactly and is removed; an empty journal leaves no file', () => {
    const file = join(dir, 'journal.json');
    const docker = locations().slice(0, 1);
    mkdirSync(docker[0]!.root, { recursive: true });
    const before = snapshot(join(dir, 'etc'));
    const sizes: number[] = [];
    const result = applyRegistryTrust({
      runId: RUN,
      registries: ['a.io', 'b.io'],
      caPath: ca,
      env: {},
      uid: 0,
      mode: 'root',
      locations: docker,
      save: (j) => {
        writeJournalFile(file, j);
        sizes.push(readJournalFile(file)!.entries.length);
      },
    });
    expect(result.written).toHaveLength(2);
    expect(sizes).toEqual([1, 2, 3, 4]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    // No post step ran: the file alone is enough to take it all out again.
    const undo = revertJournalFile(file, opsFor)!;
    expect(undo.left).toEqual([]);
    expect(undo.removed).toHaveLength(4);
    expect(existsSync(file)).toBe(false);
    expect(snapshot(join(dir, 'etc'))).toEqual(before);
    expect(revertJournalFile(file, opsFor)).toBeUndefined();

    writeJournalFile(file, { mode: 'root', entries: [] });
    expect(existsSync(file)).toBe(false);
  });

  test('what could not be removed for want of rights stays in the journal file for the next hook or run', () => {
    const file = join(dir, 'journal.json');
    const result = applyRegistryTrust({
      runId: RUN,
      registries: ['a.io'],
      caPath: ca,
      env: {},
      uid: 0,
      mode: 'root',
      locations: locations().slice(0, 1),
      save: (j) => writeJournalFile(file, j),
    });
    expect(result.written).toHaveLength(1);
    // The hook runs without the rights the main step had: nothing privileged can be removed now.
    const undo = revertJournalFile(file, (mode, privileged) => (privileged ? undefined : opsFor(mode, privileged)))!;
    expect(undo.removed).toEqual([]);
    expect(undo.left.join('\n')).toMatch(/no rights to remove it any more/);
    expect(readJournalFile(file)!.entries).toEqual(result.journal.entries);
    // With the rights back, the next revert takes it all out and the file goes.
    expect(revertJournalFile(file, opsFor)!.left).toEqual([]);
    expect(existsSync(file)).toBe(false);
    expect(existsSync(result.written[0]!)).toBe(false);
  });

  test.each([
    ['a store journal', { version: 1, entries: [] }],
    ['no mode', { entries: [] }],
    [
      'a file outside certs.d',
      { mode: 'root', entries: [{ type: 'file', path: '/etc/passwd', privileged: true, sha256: 'a'.repeat(64) }] },
    ],
    [
      'a file not named org-ca.crt',
      {
        mode: 'root',
        entries: [{ type: 'file', path: '/etc/docker/certs.d/a.io/ca.crt', privileged: true, sha256: 'a'.repeat(64) }],
      },
    ],
    [
      'a relative path',
      { mode: 'root', entries: [{ type: 'dir', path: 'etc/docker/certs.d/a.io', privileged: true }] },
    ],
    [
      'a path with ..',
      {
        mode: 'root',
        entries: [
          {
            type: 'file',
            path: '/etc/docker/certs.d/../../etc/certs.d/x/org-ca.crt',
            privileged: true,
            sha256: 'a'.repeat(64),
          },
        ],
      },
    ],
    [
      'a bad hash',
      {
        mode: 'root',
        entries: [{ type: 'file', path: '/etc/docker/certs.d/a.io/org-ca.crt', privileged: true, sha256: 'zz' }],
      },
    ],
  ])('%s is not taken for a journal: an error, and the file is left as it is', (_name, doc) => {
    const file = join(dir, 'journal.json');
    writeFileSync(file, JSON.stringify(doc));
    expect(() => revertJournalFile(file, opsFor)).toThrow(
      /is not an org-ca registry-trust journal \(not a registry-trust journal/,
    );
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(doc);
  });

  test('the main step does not write over a leftover journal it could not fully revert: registry trust is skipped with a warning', async () => {
    const file = join(dir, 'journal.json');
    const target = join(dir, 'etc/docker/certs.d/a.io', CERT_FILE_NAME);
    mkdirSync(join(dir, 'etc/docker/certs.d/a.io'), { recursive: true });
    writeFileSync(target, 'the CA org-ca wrote');
    // Written by a run that had root; this one has no rights to the privileged path.
    const leftover = {
      mode: 'user',
      entries: [
        {
          type: 'file',
          path: target,
          privileged: true,
          sha256: createHash('sha256').update('the CA org-ca wrote').digest('hex'),
        },
      ],
    };
    writeFileSync(file, JSON.stringify(leftover));
    const out: string[] = [];
    const write = jest
      .spyOn(process.stdout, 'write')
      .mockImplementation((chunk: string | Uint8Array) => (out.push(String(chunk)), true));
    try {
      await setUpRegistryTrust({ hosts: ['a.io'], whenBuilderPresent: false }, ca, {
        ORG_CA_REGISTRY_JOURNAL: file,
        HOME: dir,
      });
    } finally {
      write.mockRestore();
    }
    const warnings = out.filter((l) => l.startsWith('::warning'));
    expect(warnings.join('')).toContain(
      `Registry trust was not set up: ${file} still lists ${target}, which could not be removed with this job's rights.`,
    );
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(leftover);
    expect(readFileSync(target, 'utf8')).toBe('the CA org-ca wrote');
  });

  test('a journal file that is not a journal is an error naming it, and is left alone', () => {
    const file = join(dir, 'journal.json');
    writeFileSync(file, 'not json');
    expect(() => revertJournalFile(file, opsFor)).toThrow(
      new RegExp(
        `^'${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' is not an org-ca registry-trust journal \\(.*\\): inspect it, revert by hand, then delete it$`,
      ),
    );
    expect(readFileSync(file, 'utf8')).toBe('not json');
  });
});

describe('the journal file (what a cancelled job leaves for the job-completed hook or the next run)', () => {
  test.each([
    [{ ORG_CA_REGISTRY_JOURNAL: '/srv/j.json', HOME: '/home/r' }, 0, '/srv/j.json'],
    [{ HOME: '/home/r' }, 0, '/var/lib/org-ca/registry-journal-a1b2c3d4.json'],
    [{ HOME: '/home/r', XDG_STATE_HOME: '/state' }, 1000, '/state/org-ca/registry-journal-a1b2c3d4.json'],
    [{ HOME: '/home/r' }, 1000, '/home/r/.local/state/org-ca/registry-journal-a1b2c3d4.json'],
  ])('registryJournalPath(run, %j, uid %s) = %s', (env, uid, path) => {
    expect(registryJournalPath(RUN, env, uid)).toBe(path);
  });
});
