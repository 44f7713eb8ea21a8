/**
 * Attack: the builders' certs.d trust written by root into a tree the runner user controls, or through a link they
 * planted. Guard: TRUSTED_ANCESTORS and NO_FOLLOW for root's registry-trust writes (src/registry-trust/privileges.ts
 * rootOps over src/fs/privileged-file.ts). A real unprivileged account; root's own operations.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootOps } from '../../../src/registry-trust/privileges.js';
import {
  canUseUnprivilegedUser,
  directoryOwnedBy,
  runAs,
  trustedScratchDir,
  unprivilegedUser,
} from '../../support/unprivileged-user.js';

(canUseUnprivilegedUser() ? describe : describe.skip)('root’s registry-trust writes', () => {
  let rootOnly: string;
  let ca: string;
  beforeEach(() => {
    rootOnly = trustedScratchDir('registry-trust-');
    ca = join(rootOnly, 'org-ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  });
  afterEach(() => rmSync(rootOnly, { recursive: true, force: true }));

  test('a certs.d tree the runner user owns is refused: nothing is created or written there', () => {
    const user = unprivilegedUser();
    const theirs = directoryOwnedBy(user, 'certs-d-theirs-');
    try {
      expect(runAs(user, ['mkdir', '-p', join(theirs, 'certs.d')]).status).toBe(0);
      expect(() => rootOps.mkdir(join(theirs, 'certs.d', 'ghcr.io'))).toThrow(
        /is not safe to act on with privileges: '.*certs-d-theirs-.*' is owned by uid/,
      );
      expect(() => rootOps.copy(ca, join(theirs, 'certs.d', 'org-ca-0123abcd.crt'))).toThrow(/is owned by uid/);
      expect(existsSync(join(theirs, 'certs.d', 'ghcr.io'))).toBe(false);
    } finally {
      rmSync(theirs, { recursive: true, force: true });
    }
  });

  test('a link planted where the CA file goes is never written through, and never removed as if it were ours', () => {
    const host = join(rootOnly, 'certs.d', 'ghcr.io');
    mkdirSync(host, { recursive: true });
    const victim = join(rootOnly, 'victim');
    writeFileSync(victim, 'untouched\n');
    symlinkSync(victim, join(host, 'org-ca-0123abcd.crt'));
    expect(() => rootOps.copy(ca, join(host, 'org-ca-0123abcd.crt'))).toThrow(
      /already exists: org-ca creates this file itself and never writes through an existing one/,
    );
    expect(() => rootOps.unlink(join(host, 'org-ca-0123abcd.crt'))).toThrow(/is not a regular file/);
    expect(readFileSync(victim, 'utf8')).toBe('untouched\n');
  });

  test('in a tree only root can write, the CA file is made 0644 and removed again', () => {
    const host = join(rootOnly, 'certs.d', 'ghcr.io');
    mkdirSync(join(rootOnly, 'certs.d'), { mode: 0o755 });
    rootOps.mkdir(host);
    rootOps.copy(ca, join(host, 'org-ca-0123abcd.crt'));
    expect(readFileSync(join(host, 'org-ca-0123abcd.crt'), 'utf8')).toBe(readFileSync(ca, 'utf8'));
    rootOps.unlink(join(host, 'org-ca-0123abcd.crt'));
    rootOps.rmdir(host);
    expect(existsSync(host)).toBe(false);
  });
});
