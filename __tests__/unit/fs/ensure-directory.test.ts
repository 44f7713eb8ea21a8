/**
 * Issue 11, point 3: every directory org-ca creates from a user's or the environment's path goes through
 * ensureDirectory, which fails fast with a clear line where Node's recursive mkdir spins forever (procfs) or answers
 * with a bare ENOENT (dangling links). Real file systems here; mounts (read-only, hung) are in e2e/cli/never-hang.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { ensureDirectory, makeTempDirectory, PathError } from '../../../src/fs/ensure-directory.js';

let root: string;
/** One Node start-up here (the bound for a walk in a Node child): a loaded machine stretches it. */
let nodeStartMs: number;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'org-ca-ensure-dir-'));
  const started = Date.now();
  spawnSync(process.execPath, ['-e', '0']);
  nodeStartMs = Date.now() - started;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/**
 * Runs it with a stopwatch: every refusal comes back within a second of the child's start-up (a spin never would;
 * the specific message also shows that the walk's own 5 s deadline was not what ended it).
 */
type WalkIn = 'this-process' | 'node-child';

async function refusal(path: string, walkIn: WalkIn): Promise<{ message: string; ms: number; isPathError: boolean }> {
  const started = Date.now();
  try {
    await ensureDirectory(path, { purpose: '--dir', walkIn });
  } catch (error) {
    return { message: (error as Error).message, ms: Date.now() - started, isPathError: error instanceof PathError };
  }
  throw new Error(`ensureDirectory('${path}') succeeded`);
}

// Both places the walk can run give the same answers: here after the shell's look (Linux, macOS), or in a Node child
// (where there is no /bin/sh).
describe.each<WalkIn>(['this-process', 'node-child'])('walk in %s', (walkIn) => {
  let work: string;
  beforeAll(() => {
    work = join(root, walkIn);
    mkdirSync(work);
  });

  describe('refuses, fast and in one line', () => {
    test.each([
      [
        'a directory under /proc',
        '/proc/x',
        /^--dir '\/proc\/x': '\/proc' is on proc, a kernel pseudo file system where no file can be created/,
      ],
      [
        'a deeper one under /proc/self',
        '/proc/self/x/y',
        /^--dir '\/proc\/self\/x\/y': '\/proc\/self' is on proc, a kernel pseudo file system/,
      ],
      ['a directory under /sys', '/sys/x', /^--dir '\/sys\/x': '\/sys' is on sysfs, a kernel pseudo file system/],
    ])('%s', async (_label, path, message) => {
      const r = await refusal(path, walkIn);
      expect(r).toEqual({ message: expect.stringMatching(message), ms: expect.any(Number), isPathError: true });
      expect(r.message).not.toContain('\n');
      expect(r.ms - 2 * nodeStartMs).toBeLessThan(1000);
    });

    test('a dangling symbolic link in the path', async () => {
      const link = join(work, 'dangling');
      symlinkSync(join(work, 'gone', 'target'), link);
      const r = await refusal(join(link, 'sub'), walkIn);
      expect(r.message).toBe(
        `--dir '${join(link, 'sub')}': '${link}' is a dangling symbolic link (to '${join(work, 'gone', 'target')}', which does not exist); expected a directory.`,
      );
      expect(r.ms - 2 * nodeStartMs).toBeLessThan(1000);
    });

    test('a dangling symbolic link as the directory itself', async () => {
      const link = join(work, 'dangling-self');
      symlinkSync(join(work, 'not-there'), link);
      const r = await refusal(link, walkIn);
      expect(r.message).toMatch(/is a dangling symbolic link/);
    });

    test('a symbolic link loop', async () => {
      const a = join(work, 'loop-a');
      const b = join(work, 'loop-b');
      symlinkSync(b, a);
      symlinkSync(a, b);
      const r = await refusal(join(a, 'sub', 'deeper'), walkIn);
      expect(r.message).toBe(
        `--dir '${join(a, 'sub', 'deeper')}': '${a}' is a symbolic link loop; expected a directory.`,
      );
      expect(r.ms - 2 * nodeStartMs).toBeLessThan(1000);
    });

    test('a regular file in the path', async () => {
      const file = join(work, 'a-file');
      writeFileSync(file, 'x');
      const r = await refusal(join(file, 'x', 'y'), walkIn);
      expect(r.message).toBe(`--dir '${join(file, 'x', 'y')}': '${file}' is a regular file, not a directory.`);
    });

    test('a regular file as the directory itself', async () => {
      const file = join(work, 'another-file');
      writeFileSync(file, 'x');
      const r = await refusal(file, walkIn);
      expect(r.message).toBe(`--dir '${file}': '${file}' is a regular file, not a directory.`);
    });

    test('a character device in the path', async () => {
      const r = await refusal('/dev/null/x', walkIn);
      expect(r.message).toBe("--dir '/dev/null/x': '/dev/null' is a character device, not a directory.");
    });

    test('an empty path', async () => {
      const r = await refusal('', walkIn);
      expect(r.message).toBe('--dir is empty: expected a directory path.');
    });
  });

  describe('creates what is missing', () => {
    test('nested directories, world-readable, and returns the absolute path', async () => {
      const target = join(work, 'made', 'a', 'b');
      expect(await ensureDirectory(target, { purpose: '--dir', walkIn })).toBe(target);
      for (const dir of [join(work, 'made'), join(work, 'made', 'a'), target])
        expect((statSync(dir).mode & 0o777).toString(8)).toBe('755');
    });

    test('a relative path comes back absolute', async () => {
      const target = join(work, 'rel', 'x');
      expect(await ensureDirectory(relative(process.cwd(), target), { purpose: '--dir', walkIn })).toBe(target);
    });

    test('through a symbolic link to a directory', async () => {
      const real = join(work, 'real-dir');
      mkdirSync(real);
      const link = join(work, 'link-to-dir');
      symlinkSync(real, link);
      expect(await ensureDirectory(join(link, 'inside'), { purpose: '--dir', walkIn })).toBe(join(link, 'inside'));
      expect(statSync(join(real, 'inside')).isDirectory()).toBe(true);
    });

    test('an existing directory is fine as it is', async () => {
      expect(await ensureDirectory(work, { purpose: 'RUNNER_TEMP', walkIn })).toBe(work);
    });

    test('makeTempDirectory: a fresh 0755 directory inside a guarded parent', async () => {
      const dir = await makeTempDirectory(join(work, 'tmp-parent'), 'org-ca-', { purpose: 'TMPDIR', walkIn });
      expect(dir.startsWith(join(work, 'tmp-parent', 'org-ca-'))).toBe(true);
      expect((statSync(dir).mode & 0o777).toString(8)).toBe('755');
    });

    test('makeTempDirectory refuses /proc like the rest', async () => {
      await expect(makeTempDirectory('/proc/x', 'org-ca-', { purpose: 'TMPDIR', walkIn })).rejects.toThrow(
        /^TMPDIR '\/proc\/x': '\/proc' is on proc/,
      );
    });
  });
});

describe('a shell that cannot start', () => {
  // Told to walk here, but the look that comes first cannot run: the walk then runs in a Node child and answers the
  // same (a spawn error is never mistaken for a path that answered, nor for a refusal).
  const missingShell = { walkIn: 'this-process', probeShell: '/nonexistent/sh' } as const;

  test('still creates the directory', async () => {
    const target = join(root, 'no-shell', 'a');
    expect(await ensureDirectory(target, { purpose: '--dir', ...missingShell })).toBe(target);
    expect(statSync(target).isDirectory()).toBe(true);
  });

  test('still refuses with the same line', async () => {
    await expect(ensureDirectory('/proc/x', { purpose: '--dir', ...missingShell })).rejects.toThrow(
      /^--dir '\/proc\/x': '\/proc' is on proc, a kernel pseudo file system/,
    );
  });
});
