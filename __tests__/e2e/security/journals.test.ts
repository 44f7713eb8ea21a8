/**
 * Attack: root replays a journal someone else wrote. The trust-store journal once named the command to run after a
 * removal and any file to delete; `org-ca store remove --journal J` ran `sh -c …` as root. Guards: JOURNAL_OWNER (a
 * journal nobody but root or the reader could write, src/fs/journal-file.ts), JOURNAL_ENTRIES (every entry is one
 * org-ca could have written, src/store/store-journal.ts, src/registry-trust/trust-journal.ts), TABLE_COMMANDS (the rebuild command
 * comes from LINUX_STORES, never the journal). The real CLI as root, a real unprivileged account.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readJournalFile } from '../../../src/registry-trust/trust-journal.js';
import {
  canUseUnprivilegedUser,
  directoryOwnedBy,
  runAs,
  trustedScratchDir,
  unprivilegedUser,
  type UnprivilegedUser,
} from '../../support/unprivileged-user.js';

const BIN = fileURLToPath(new URL('../../../bin/org-ca.js', import.meta.url));
const VICTIM_TEXT = 'must survive\n';

function storeRemove(
  journal: string,
  env: Record<string, string> = {},
): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [BIN, 'store', 'remove', '--journal', journal], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: '/root', ...env },
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

const describeAsRoot = canUseUnprivilegedUser() ? describe : describe.skip;

describeAsRoot('journals are data, believed only from their writer', () => {
  let user: UnprivilegedUser;
  let rootOnly: string;
  let victim: string;
  let marker: string;

  beforeAll(() => {
    user = unprivilegedUser();
  });
  beforeEach(() => {
    rootOnly = trustedScratchDir('journal-attack-');
    victim = join(rootOnly, 'shadow');
    marker = join(rootOnly, 'ran-as-root');
    writeFileSync(victim, VICTIM_TEXT);
  });
  afterEach(() => rmSync(rootOnly, { recursive: true, force: true }));

  const hostile = (file: string) => ({
    version: 1,
    entries: [
      {
        kind: 'os',
        store: 'debian',
        file,
        sha256: 'ab'.repeat(32),
        updateAfterRemove: ['sh', '-c', `touch ${marker}`],
      },
    ],
  });

  test('a journal the runner user owns (in a directory they own) is refused: no command runs, no file goes', () => {
    const theirs = directoryOwnedBy(user, 'journal-theirs-');
    try {
      const journal = join(theirs, 'store-journal.json');
      expect(
        runAs(user, ['sh', '-c', 'cat > "$1"', 'sh', journal], { input: JSON.stringify(hostile(victim)) }).status,
      ).toBe(0);
      const r = storeRemove(journal);
      expect(r.status).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(
        /the trust-store journal '.*store-journal\.json' is not safe to act on with privileges: '.*journal-theirs-.*' is owned by uid \d+/,
      );
      expect(existsSync(marker)).toBe(false);
      expect(readFileSync(victim, 'utf8')).toBe(VICTIM_TEXT);
    } finally {
      rmSync(theirs, { recursive: true, force: true });
    }
  });

  test('a journal file the user owns inside root’s directory, or one that is group-writable, is refused', () => {
    const journal = join(rootOnly, 'store-journal.json');
    writeFileSync(journal, JSON.stringify(hostile(victim)), { mode: 0o600 });
    chownSync(journal, user.uid, user.gid);
    expect(storeRemove(journal).stderr).toMatch(
      /is not safe to act on with privileges: '.*store-journal\.json' is owned by uid \d+/,
    );
    chownSync(journal, 0, 0);
    spawnSync('chmod', ['0664', journal]);
    expect(storeRemove(journal).stderr).toMatch(/is writable by group/);
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(victim, 'utf8')).toBe(VICTIM_TEXT);
  });

  test.each([
    ['a file outside the anchor directory', (v: string) => v],
    [
      'a file in the anchor directory that is not org-ca’s name',
      () => '/usr/local/share/ca-certificates/corporate-root.crt',
    ],
    ['a path with ..', () => '/usr/local/share/ca-certificates/../../../../etc/shadow'],
  ])('a root-owned journal naming %s is refused whole: nothing removed, no command run', (_name, file) => {
    const journal = join(rootOnly, 'store-journal.json');
    writeFileSync(journal, JSON.stringify(hostile(file(victim))), { mode: 0o600 });
    const r = storeRemove(journal);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /holds an entry org-ca could not have written \(entry 1: only org-ca-<fingerprint> anchors in a known store's directory/,
    );
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(victim, 'utf8')).toBe(VICTIM_TEXT);
    expect(existsSync(journal)).toBe(true);
  });

  test('a valid entry with a hostile command: the command run is the store table’s, never the journal’s', () => {
    // An anchor org-ca could have written, already gone (so nothing is removed), and a command that would leave a mark.
    const journal = join(rootOnly, 'store-journal.json');
    writeFileSync(journal, JSON.stringify(hostile('/usr/local/share/ca-certificates/org-ca-00000000deadbeef.crt')), {
      mode: 0o600,
    });
    // The table's command for Debian is update-ca-certificates --fresh; a stand-in on PATH records that it ran.
    const bin = join(rootOnly, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'update-ca-certificates'), `#!/bin/sh\necho "$*" > ${join(rootOnly, 'table-command')}\n`, {
      mode: 0o755,
    });
    const r = spawnSync(process.execPath, [BIN, 'store', 'remove', '--journal', journal], {
      encoding: 'utf8',
      env: { PATH: `${bin}:${process.env.PATH}`, HOME: '/root' },
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(existsSync(marker)).toBe(false);
    expect(readFileSync(join(rootOnly, 'table-command'), 'utf8')).toBe('--fresh\n');
    expect(r.stdout + r.stderr).not.toContain('undefined');
  });

  test.each([
    ['/etc', 'dir'],
    ['/var/lib/dpkg', 'dir'],
    ['/etc/docker/certs.d/ghcr.io/../../../shadow', 'dir'],
    ['/etc/docker/certs.d/ghcr.io/ca.crt', 'file'],
    ['/etc/shadow', 'file'],
  ])('a registry journal whose privileged %s entry %s is not certs.d work is refused', (path, type) => {
    const journal = join(rootOnly, 'registry-journal-0123abcd.json');
    const entry =
      type === 'dir' ? { type, path, privileged: true } : { type, path, privileged: true, sha256: 'ab'.repeat(32) };
    writeFileSync(journal, JSON.stringify({ mode: 'root', entries: [entry] }), { mode: 0o600 });
    expect(() => readJournalFile(journal)).toThrow(/is not an org-ca registry-trust journal/);
  });

  test('a registry journal the user owns is refused before it is parsed', () => {
    const theirs = directoryOwnedBy(user, 'registry-journal-theirs-');
    try {
      const journal = join(theirs, 'registry-journal-0123abcd.json');
      runAs(user, ['sh', '-c', 'echo "{\\"mode\\":\\"root\\",\\"entries\\":[]}" > "$1"', 'sh', journal]);
      expect(() => readJournalFile(journal)).toThrow(
        /is not safe to act on with privileges: '.*registry-journal-theirs-.*' is owned by uid/,
      );
    } finally {
      rmSync(theirs, { recursive: true, force: true });
    }
  });
});
