/**
 * How each operating system adds a CA to its trust store and takes it out again: one typed table, the facts from
 * ../shared/research/ca-env-matrix.md §2 with the upstream source per entry. Linux stores are executed by org-ca;
 * macOS and Windows are command plans only (data, unit-tested, never executed on the Linux machines org-ca is
 * tested on), because unattended keychain trust changes need an interactive authorisation on macOS ≥ 11.
 */
export type LinuxStoreId = 'debian' | 'rhel' | 'alpine' | 'suse' | 'arch';

export interface LinuxStore {
  readonly id: LinuxStoreId;
  /** Distributions (os-release ID or ID_LIKE words) that use this store. */
  readonly distributions: readonly string[];
  /** Where local anchors go; the update command reads every file there. */
  readonly anchorDir: string;
  /** The updater only picks up files with this ending (Debian: `*.crt` only). */
  readonly extension: '.crt' | '.pem';
  /** Rebuilds the bundle and hashed directory after an anchor was added. */
  readonly update: readonly string[];
  /** Rebuilds them after an anchor was removed (Debian needs --fresh, or the hashed link dangles). */
  readonly updateAfterRemove: readonly string[];
  /** The bundle the update writes, where a check can see whether the CA is trusted. */
  readonly bundle: string;
  readonly source: string;
}

export const LINUX_STORES: readonly LinuxStore[] = [
  {
    id: 'debian',
    distributions: ['debian', 'ubuntu'],
    anchorDir: '/usr/local/share/ca-certificates',
    extension: '.crt',
    update: ['update-ca-certificates'],
    // Without --fresh the removed anchor's link in /etc/ssl/certs stays behind, dangling (update-ca-certificates only
    // cleans orphans when its set of files changed).
    updateAfterRemove: ['update-ca-certificates', '--fresh'],
    bundle: '/etc/ssl/certs/ca-certificates.crt',
    source: 'https://manpages.debian.org/bookworm/ca-certificates/update-ca-certificates.8.en.html',
  },
  {
    id: 'rhel',
    distributions: ['rhel', 'fedora', 'centos', 'rocky', 'almalinux', 'amzn', 'ol'],
    anchorDir: '/etc/pki/ca-trust/source/anchors',
    extension: '.pem',
    update: ['update-ca-trust', 'extract'],
    updateAfterRemove: ['update-ca-trust', 'extract'],
    bundle: '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
    source: 'https://www.mankier.com/8/update-ca-trust',
  },
  {
    id: 'alpine',
    distributions: ['alpine'],
    anchorDir: '/usr/local/share/ca-certificates',
    extension: '.crt',
    update: ['update-ca-certificates'],
    updateAfterRemove: ['update-ca-certificates'],
    bundle: '/etc/ssl/certs/ca-certificates.crt',
    source: 'https://gitlab.alpinelinux.org/alpine/ca-certificates',
  },
  {
    id: 'suse',
    distributions: ['suse', 'opensuse', 'sles', 'opensuse-leap', 'opensuse-tumbleweed'],
    anchorDir: '/etc/pki/trust/anchors',
    extension: '.pem',
    update: ['update-ca-certificates'],
    updateAfterRemove: ['update-ca-certificates'],
    bundle: '/etc/ssl/ca-bundle.pem',
    source: 'https://documentation.suse.com/sles/15-SP6/html/SLES-all/cha-security-certificates.html',
  },
  {
    id: 'arch',
    distributions: ['arch', 'manjaro', 'endeavouros'],
    anchorDir: '/etc/ca-certificates/trust-source/anchors',
    extension: '.crt',
    update: ['update-ca-trust'],
    updateAfterRemove: ['update-ca-trust'],
    bundle: '/etc/ssl/certs/ca-certificates.crt',
    source: 'https://wiki.archlinux.org/title/Transport_Layer_Security#Add_a_certificate_to_a_trust_store',
  },
];

/** The os-release fields that name a distribution (freedesktop os-release(5)). */
export interface OsRelease {
  readonly id: string;
  readonly idLike: readonly string[];
}

/** Parses /etc/os-release text: KEY=value lines, values optionally quoted. */
export function parseOsRelease(text: string): OsRelease {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) fields.set(m[1]!, m[2]!.replace(/^(["'])(.*)\1$/, '$2'));
  }
  return {
    id: (fields.get('ID') ?? '').toLowerCase(),
    idLike: (fields.get('ID_LIKE') ?? '').toLowerCase().split(/\s+/).filter(Boolean),
  };
}

/** The store of a distribution: its own ID first, then each ID_LIKE word in order. */
export function linuxStoreFor(release: OsRelease): LinuxStore | undefined {
  for (const name of [release.id, ...release.idLike]) {
    const store = LINUX_STORES.find((s) => s.distributions.includes(name));
    if (store) return store;
  }
  return undefined;
}

/** A command plan for a store org-ca does not execute here: argv lists with `{file}`, `{sha1}` placeholders. */
export interface PlannedStore {
  readonly id: 'macos' | 'windows';
  readonly add: readonly (readonly string[])[];
  readonly remove: readonly (readonly string[])[];
  readonly executed: false;
  readonly caveat: string;
  readonly source: string;
}

export const PLANNED_STORES: readonly PlannedStore[] = [
  {
    id: 'macos',
    add: [
      [
        'sudo',
        'security',
        'add-trusted-cert',
        '-d',
        '-r',
        'trustRoot',
        '-k',
        '/Library/Keychains/System.keychain',
        '{file}',
      ],
    ],
    remove: [
      ['sudo', 'security', 'remove-trusted-cert', '-d', '{file}'],
      ['sudo', 'security', 'delete-certificate', '-Z', '{sha1}', '/Library/Keychains/System.keychain'],
    ],
    executed: false,
    caveat:
      'macOS 11 and later ask for an interactive administrator authorisation for trust settings; sudo alone is not enough, so pre-provision the CA by MDM on unattended runners.',
    source: 'https://ss64.com/mac/security-cert.html',
  },
  {
    id: 'windows',
    add: [['certutil', '-addstore', '-f', 'Root', '{file}']],
    remove: [['certutil', '-delstore', 'Root', '{sha1}']],
    executed: false,
    caveat: 'LocalMachine\\Root needs an elevated shell; CurrentUser\\Root raises a modal prompt and hangs unattended.',
    source: 'https://learn.microsoft.com/en-us/windows-server/administration/windows-commands/certutil',
  },
];

/** Fills a planned store's placeholders for one certificate. */
export function renderPlan(
  commands: readonly (readonly string[])[],
  values: { file: string; sha1: string },
): string[][] {
  return commands.map((argv) => argv.map((arg) => arg.replace('{file}', values.file).replace('{sha1}', values.sha1)));
}
