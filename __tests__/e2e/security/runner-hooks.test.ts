/**
 * Attack: the runner user turns root's `org-ca runner install|uninstall` against the host. A real unprivileged account
 * owns the runner directory (as on a real runner); root runs the real CLI. Guards: TRUSTED_ANCESTORS (the hooks
 * directory is root's, outside anything that account can write), EXCLUSIVE_CREATE (no write through a planted name),
 * AS_OWNER (root never writes into the runner directory itself), NO_FOLLOW (an install record is read only from a
 * trusted place).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultHooksDir } from '../../../src/runner/install.js';
import { mintRoot } from '../../support/pki.js';
import {
  canUseUnprivilegedUser,
  directoryOwnedBy,
  runAs,
  trustedScratchDir,
  unprivilegedUser,
  type UnprivilegedUser,
} from '../../support/unprivileged-user.js';

const BIN = fileURLToPath(new URL('../../../bin/org-ca.js', import.meta.url));
const VICTIM_TEXT = 'root-owned content that must never change\n';

function orgCa(args: readonly string[], input = ''): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    input,
    env: { PATH: process.env.PATH, HOME: '/root' },
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const describeAsRoot = canUseUnprivilegedUser() ? describe : describe.skip;

describeAsRoot('runner hooks against a hostile runner user', () => {
  let user: UnprivilegedUser;
  let caPem: string;
  let rootOnly: string;
  let victim: string;
  let userArea: string;
  let runnerDir: string;

  beforeAll(() => {
    user = unprivilegedUser();
    caPem = mintRoot({ cn: 'Hooks Attack Org Root', org: 'Hooks Attack Org' }).certPem;
  });

  beforeEach(() => {
    rootOnly = trustedScratchDir('hooks-victim-');
    victim = join(rootOnly, 'crontab');
    writeFileSync(victim, VICTIM_TEXT, { mode: 0o644 });
    // The runner directory as on a real runner: the runner user's own, inside a directory that user controls.
    userArea = directoryOwnedBy(user, 'org-ca-attack-home-');
    runnerDir = join(userArea, 'actions-runner');
    expect(
      runAs(user, [
        'sh',
        '-c',
        `mkdir "$1" && printf '#!/bin/bash\\n' > "$1/run.sh" && printf 'LANG=C.UTF-8\\n' > "$1/.env"`,
        'sh',
        runnerDir,
      ]).status,
    ).toBe(0);
  });

  afterEach(() => {
    orgCa(['runner', 'uninstall', '--runner-dir', runnerDir]);
    rmSync(defaultHooksDir(runnerDir, 0), { recursive: true, force: true });
    rmSync(userArea, { recursive: true, force: true });
    rmSync(rootOnly, { recursive: true, force: true });
  });

  const install = (extra: readonly string[] = []) =>
    orgCa(['runner', 'install', '--runner-dir', runnerDir, '--ca', '-', ...extra], caPem);

  test('the default hooks directory is root’s, 0755, outside the runner user’s reach: the user cannot change the hooks', () => {
    expect(install().status).toBe(0);
    const hooks = defaultHooksDir(runnerDir, 0);
    expect(hooks.startsWith('/etc/org-ca/runner-hooks/')).toBe(true);
    const stats = lstatSync(hooks);
    expect({ uid: stats.uid, mode: stats.mode & 0o777 }).toEqual({ uid: 0, mode: 0o755 });
    const tamper = runAs(user, [
      'sh',
      '-c',
      `echo 'cp /bin/sh /tmp/rootsh' >> "$1/job-started.sh" || exit 1; echo '{}' > "$1/install.json"`,
      'sh',
      hooks,
    ]);
    expect(tamper.status).not.toBe(0);
    expect(readFileSync(join(hooks, 'job-started.sh'), 'utf8')).not.toContain('rootsh');
    // .env was written by the runner user's own account, not by root
    expect(lstatSync(join(runnerDir, '.env')).uid).toBe(user.uid);
  });

  test('uninstall through an .env the user swapped for a link to a root file leaves that file untouched', () => {
    expect(install().status).toBe(0);
    const swap = runAs(user, ['sh', '-c', 'rm -f "$1/.env" && ln -s "$2" "$1/.env"', 'sh', runnerDir, victim]);
    expect(swap.status).toBe(0);
    const r = orgCa(['runner', 'uninstall', '--runner-dir', runnerDir]);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readFileSync(victim, 'utf8')).toBe(VICTIM_TEXT);
  });

  test('install through an .env planted as a link to a root file refuses and leaves that file untouched', () => {
    runAs(user, ['sh', '-c', 'rm -f "$1/.env" && ln -s "$2" "$1/.env"', 'sh', runnerDir, victim]);
    const r = install();
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readFileSync(victim, 'utf8')).toBe(VICTIM_TEXT);
  });

  test('a hooks directory the user can write is refused, and a name planted there is never written through', () => {
    const planted = join(userArea, 'hooks');
    expect(
      runAs(user, [
        'sh',
        '-c',
        'mkdir "$1" && ln -s "$2" "$1/org-ca.pem" && ln -s "$2" "$1/job-started.sh"',
        'sh',
        planted,
        victim,
      ]).status,
    ).toBe(0);
    const r = install(['--hooks-dir', planted]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^org-ca runner: --hooks-dir '.*\/hooks' is not safe to act on with privileges: '.*' is owned by uid \d+/,
    );
    expect(readFileSync(victim, 'utf8')).toBe(VICTIM_TEXT);
    expect(readFileSync(join(runnerDir, '.env'), 'utf8')).toBe('LANG=C.UTF-8\n');
  });

  test('a hooks directory root owns but with a planted link inside is refused without writing through it', () => {
    const hooks = join(rootOnly, 'hooks');
    mkdirSync(hooks, { mode: 0o755 });
    symlinkSync(victim, join(hooks, 'org-ca.pem'));
    const r = install(['--hooks-dir', hooks]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /already exists: org-ca creates this file itself and never writes through an existing one/,
    );
    expect(readFileSync(victim, 'utf8')).toBe(VICTIM_TEXT);
  });

  test('an install record the user wrote (a hooks directory in their reach) is never trusted by root’s uninstall', () => {
    // The old default: the hooks beside the runner directory, i.e. in the user's home. Root must not act on it.
    const sibling = `${runnerDir}.org-ca-hooks`;
    const record = {
      envBefore: Buffer.from('* * * * * root /tmp/x\n').toString('base64'),
      envAfter: Buffer.from('LANG=C.UTF-8\n').toString('base64'),
      started: join(sibling, 'job-started.sh'),
      completed: join(sibling, 'job-completed.sh'),
    };
    expect(
      runAs(
        user,
        [
          'sh',
          '-c',
          'mkdir "$1" && cat > "$1/install.json" && rm "$2/.env" && ln -s "$3" "$2/.env"',
          'sh',
          sibling,
          runnerDir,
          victim,
        ],
        { input: JSON.stringify(record) },
      ).status,
    ).toBe(0);
    const r = orgCa(['runner', 'uninstall', '--runner-dir', runnerDir, '--hooks-dir', sibling]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^org-ca runner: the install record '.*install\.json' is not safe to act on with privileges: '.*' is owned by uid \d+/,
    );
    expect(readFileSync(victim, 'utf8')).toBe(VICTIM_TEXT);
    expect(existsSync(join(sibling, 'install.json'))).toBe(true);
  });
});
