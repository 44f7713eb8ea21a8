import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCertificates } from '../../../src/ca/parse.js';
import type { StoreHost } from '../../../src/store/privileged-commands.js';
import { addToStores, removeFromStores } from '../../../src/store/store.js';
import { mintLeaf, mintRoot } from '../../support/pki.js';
import {
  defaultJournalPath,
  prepareJournal,
  readJournal,
  writeJournal,
  type Journal,
} from '../../../src/store/store-journal.js';
import {
  LINUX_STORES,
  linuxStoreFor,
  parseOsRelease,
  PLANNED_STORES,
  renderPlan,
} from '../../../src/store/platforms.js';
import { trustedScratchDir } from '../../support/unprivileged-user.js';

describe('which OS store a distribution uses (os-release ID, then ID_LIKE)', () => {
  test.each([
    ['ID=debian\nVERSION_ID="12"', 'debian'],
    ['ID=ubuntu\nID_LIKE=debian', 'debian'],
    ['ID=linuxmint\nID_LIKE="ubuntu debian"', 'debian'],
    ['ID="rhel"\nID_LIKE="fedora"', 'rhel'],
    ['ID=rocky\nID_LIKE="rhel centos fedora"', 'rhel'],
    ['ID=amzn\nID_LIKE="centos rhel fedora"', 'rhel'],
    ['ID=fedora', 'rhel'],
    ['ID=alpine', 'alpine'],
    ['ID="opensuse-leap"\nID_LIKE="suse opensuse"', 'suse'],
    ['ID="sles"', 'suse'],
    ['ID=arch', 'arch'],
    ["ID='manjaro'\nID_LIKE=arch", 'arch'],
  ])('%j → %s', (text, id) => {
    expect(linuxStoreFor(parseOsRelease(text))?.id).toBe(id);
  });

  test.each(['ID=nixos', 'ID=gentoo', '', 'garbage without equals'])('%j has no known store', (text) => {
    expect(linuxStoreFor(parseOsRelease(text))).toBeUndefined();
  });

  test('every store names an absolute anchor directory, an updater and a source', () => {
    for (const store of LINUX_STORES) {
      expect(store.anchorDir).toMatch(/^\/[\w/.-]+$/);
      expect(store.update.length).toBeGreaterThan(0);
      expect(store.updateAfterRemove[0]).toBe(store.update[0]);
      expect(store.source).toMatch(/^https:\/\//);
    }
    // Debian's updater only reads *.crt, and leaves a dangling link behind unless removal is followed by --fresh.
    const debian = LINUX_STORES.find((s) => s.id === 'debian')!;
    expect(debian.extension).toBe('.crt');
    expect(debian.updateAfterRemove).toEqual(['update-ca-certificates', '--fresh']);
  });
});

describe('macOS and Windows: command plans, never executed here', () => {
  test('placeholders are filled, and each plan says it is not executed', () => {
    const mac = PLANNED_STORES.find((s) => s.id === 'macos')!;
    expect(renderPlan(mac.add, { file: '/tmp/org.pem', sha1: 'AB12' })).toEqual([
      [
        'sudo',
        'security',
        'add-trusted-cert',
        '-d',
        '-r',
        'trustRoot',
        '-k',
        '/Library/Keychains/System.keychain',
        '/tmp/org.pem',
      ],
    ]);
    expect(renderPlan(mac.remove, { file: '/tmp/org.pem', sha1: 'AB12' })[1]).toEqual([
      'sudo',
      'security',
      'delete-certificate',
      '-Z',
      'AB12',
      '/Library/Keychains/System.keychain',
    ]);
    const windows = PLANNED_STORES.find((s) => s.id === 'windows')!;
    expect(renderPlan(windows.add, { file: 'C:\\org.crt', sha1: 'AB12' })).toEqual([
      ['certutil', '-addstore', '-f', 'Root', 'C:\\org.crt'],
    ]);
    expect(renderPlan(windows.remove, { file: 'C:\\org.crt', sha1: 'AB12' })).toEqual([
      ['certutil', '-delstore', 'Root', 'AB12'],
    ]);
    for (const plan of PLANNED_STORES) expect(plan.executed).toBe(false);
  });
});

describe('the journal', () => {
  let dir: string;
  // Root's scratch directory: a journal in a directory others can write (/tmp) is refused, by design.
  beforeEach(() => (dir = trustedScratchDir('journal-')));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  test('round-trips, and an empty journal is no file at all', async () => {
    const path = join(dir, 'state', 'journal.json');
    await prepareJournal(path);
    const journal: Journal = {
      version: 1,
      entries: [
        {
          kind: 'os',
          store: 'debian',
          file: '/usr/local/share/ca-certificates/org-ca-0123456789abcdef.crt',
          sha256: 'ab'.repeat(32),
        },
        {
          kind: 'nss',
          db: '/home/u/.pki/nssdb',
          nickname: 'org-ca 0123456789abcdef',
          createdDb: true,
          createdDirs: ['/home/u/.pki', '/home/u/.pki/nssdb'],
        },
      ],
    };
    writeJournal(path, journal);
    expect(readJournal(path, '/home/u')).toEqual(journal);
    writeJournal(path, { version: 1, entries: [] });
    expect(readJournal(path, '/home/u')).toEqual({ version: 1, entries: [] });
  });

  test.each([
    ['not json', /is not valid JSON/],
    ['{"version":2,"entries":[]}', /is not an org-ca journal/],
    ['{"version":1,"entries":[{"kind":"os","file":3}]}', /holds an entry org-ca could not have written \(entry 1/],
    ['{"version":1,"entries":[null]}', /holds an entry org-ca could not have written/],
    ['[]', /is not an org-ca journal/],
  ])('a journal it cannot understand is an error naming the file, never ignored: %s', (text, message) => {
    const path = join(dir, 'journal.json');
    writeFileSync(path, text, { mode: 0o600 });
    expect(() => readJournal(path, '/home/u')).toThrow(message);
    expect(() => readJournal(path, '/home/u')).toThrow(path);
  });

  test('root keeps the journal under /var/lib, a user under XDG state', () => {
    expect(defaultJournalPath({}, 0)).toBe('/var/lib/org-ca/store-journal.json');
    expect(defaultJournalPath({ HOME: '/home/u' }, 1000)).toBe('/home/u/.local/state/org-ca/store-journal.json');
    expect(defaultJournalPath({ HOME: '/home/u', XDG_STATE_HOME: '/s' }, 1000)).toBe('/s/org-ca/store-journal.json');
    expect(defaultJournalPath({ ORG_CA_STORE_JOURNAL: '/j.json' }, 0)).toBe('/j.json');
  });
});

describe('adding to the OS store refuses cleanly, changing nothing', () => {
  let dir: string;
  beforeEach(() => (dir = trustedScratchDir('store-')));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const ran: string[][] = [];
  const host = (privilege: 'root' | 'sudo' | 'none', has: boolean): StoreHost => ({
    privilege,
    runPrivileged: (argv) => (ran.push([...argv]), { code: 0, output: '' }),
    run: (argv) => (ran.push([...argv]), { code: 0, output: '' }),
    has: () => has,
  });
  const ca = mintRoot({ cn: 'Unit Store Root', org: 'Unit' });
  const certs = parseCertificates(ca.certPem);

  test.each([
    ['none', true, /needs root or passwordless sudo, and neither is available: nothing was changed/],
    ['root', false, /'update-ca-certificates' is not installed.*nothing was changed/],
  ] as const)('privilege %s, updater present %s', async (privilege, has, message) => {
    ran.length = 0;
    const journalPath = join(dir, 'journal.json');
    await expect(
      addToStores({ host: host(privilege, has), journalPath, osRelease: 'ID=debian' }, certs, {
        os: true,
        browsers: false,
      }),
    ).rejects.toThrow(message);
    expect(ran).toEqual([]);
    expect(readJournal(journalPath, '/home/u').entries).toEqual([]);
  });

  test('an unknown distribution is named, with the ones that are known', async () => {
    await expect(
      addToStores({ host: host('root', true), journalPath: join(dir, 'j.json'), osRelease: 'ID=nixos' }, certs, {
        os: true,
        browsers: false,
      }),
    ).rejects.toThrow(
      /the OS trust store of 'nixos' is not known to org-ca: expected Debian, Ubuntu, RHEL\/Fedora, Alpine, SUSE or Arch/,
    );
  });

  test('a certificate that is not a CA is never added', async () => {
    const leaf = mintLeaf(ca, { cn: 'leaf.example' });
    await expect(
      addToStores(
        { host: host('root', true), journalPath: join(dir, 'j.json'), osRelease: 'ID=debian' },
        parseCertificates(leaf.certPem),
        { os: true, browsers: false },
      ),
    ).rejects.toThrow(/holds no CA certificate/);
  });

  test('removing with no journal does nothing and says so', async () => {
    ran.length = 0;
    const outcome = await removeFromStores({ host: host('root', true), journalPath: join(dir, 'none.json') });
    expect(outcome.changed).toEqual([]);
    expect(outcome.notices.join('\n')).toMatch(/no org-ca changes are recorded/);
    expect(ran).toEqual([]);
  });
});
