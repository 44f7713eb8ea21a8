/** The StrictModes rule on real directories: owners, write bits, links owned by root or not, the final link. */
import { chmodSync, chownSync, mkdirSync, rmSync, symlinkSync, writeFileSync, lchownSync } from 'node:fs';
import { join } from 'node:path';
import { assertTrustedPath, trustedPathProblem, UntrustedPathError } from '../../../src/fs/trusted-path.js';
import { trustedScratchDir } from '../../support/unprivileged-user.js';

const isRoot = process.getuid?.() === 0;
const OTHER_UID = 4242;

describe('assertTrustedPath', () => {
  let base: string;
  beforeEach(() => {
    base = trustedScratchDir('trusted-path-');
  });
  afterEach(() => rmSync(base, { recursive: true, force: true }));

  test('a path under directories owned by root or the user, writable by no one else, is accepted; a missing tail too', () => {
    mkdirSync(join(base, 'a'), { mode: 0o755 });
    expect(assertTrustedPath(join(base, 'a', 'file'), { purpose: 'the test file' })).toBe(join(base, 'a', 'file'));
    expect(trustedPathProblem(join(base, 'a', 'missing', 'deeper'), { purpose: 'x' })).toBeUndefined();
  });

  test.each([
    ['group-writable', 0o775, /writable by group/],
    ['world-writable', 0o777, /writable by everyone/],
    ['sticky world-writable (like /tmp)', 0o1777, /writable by everyone/],
  ])('a %s directory on the way is refused, naming it', (_name, mode, why) => {
    const dir = join(base, 'open');
    mkdirSync(dir);
    chmodSync(dir, mode);
    const problem = trustedPathProblem(join(dir, 'f'), { purpose: 'the hooks directory' });
    expect(problem).toMatch(why);
    expect(problem).toContain(`'${dir}'`);
    expect(problem).toMatch(/^the hooks directory '.*' is not safe to act on with privileges/);
  });

  test('a relative path is refused', () => {
    expect(() => assertTrustedPath('etc/x', { purpose: 'p' })).toThrow(/not an absolute path/);
  });

  test('the final component may not be a symbolic link, even one root made', () => {
    writeFileSync(join(base, 'target'), 'x');
    symlinkSync(join(base, 'target'), join(base, 'link'));
    expect(() => assertTrustedPath(join(base, 'link'), { purpose: 'p' })).toThrow(UntrustedPathError);
    expect(trustedPathProblem(join(base, 'link'), { purpose: 'p' })).toMatch(/is a symbolic link/);
  });

  test('mustExist refuses a missing path', () => {
    expect(trustedPathProblem(join(base, 'nope'), { purpose: 'p', mustExist: true })).toMatch(/does not exist/);
  });

  (isRoot ? test : test.skip)(
    'as root: a directory owned by another user is refused; a link they own is refused; one root owns is followed',
    () => {
      const theirs = join(base, 'theirs');
      mkdirSync(theirs, { mode: 0o755 });
      chownSync(theirs, OTHER_UID, OTHER_UID);
      expect(trustedPathProblem(join(theirs, 'f'), { purpose: 'p', uid: 0 })).toMatch(/is owned by uid 4242/);

      const real = join(base, 'real');
      mkdirSync(real, { mode: 0o755 });
      symlinkSync(real, join(base, 'rootlink'));
      expect(assertTrustedPath(join(base, 'rootlink', 'f'), { purpose: 'p', uid: 0 })).toBe(join(real, 'f'));

      symlinkSync(real, join(base, 'theirlink'));
      lchownSync(join(base, 'theirlink'), OTHER_UID, OTHER_UID);
      expect(trustedPathProblem(join(base, 'theirlink', 'f'), { purpose: 'p', uid: 0 })).toMatch(
        /symbolic link owned by uid 4242/,
      );

      // A root-owned link into a directory another user owns is refused at the target.
      symlinkSync(theirs, join(base, 'intotheirs'));
      expect(trustedPathProblem(join(base, 'intotheirs', 'f'), { purpose: 'p', uid: 0 })).toMatch(
        /is owned by uid 4242/,
      );
    },
  );

  (isRoot ? test : test.skip)(
    'as root: a directory owned by the given user (not root) is accepted for that user only',
    () => {
      const theirs = join(base, 'theirs');
      mkdirSync(theirs, { mode: 0o700 });
      chownSync(theirs, OTHER_UID, OTHER_UID);
      expect(trustedPathProblem(join(theirs, 'f'), { purpose: 'p', uid: OTHER_UID })).toBeUndefined();
      expect(trustedPathProblem(join(theirs, 'f'), { purpose: 'p', uid: 0 })).toMatch(/owned by uid 4242/);
    },
  );

  (isRoot ? test : test.skip)('a loop of root-owned links ends in a refusal, not a hang', () => {
    symlinkSync(join(base, 'b'), join(base, 'a'));
    symlinkSync(join(base, 'a'), join(base, 'b'));
    expect(trustedPathProblem(join(base, 'a', 'f'), { purpose: 'p', uid: 0 })).toMatch(/loop of symbolic links/);
  });
});
