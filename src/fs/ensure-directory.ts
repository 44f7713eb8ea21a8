import { spawn } from 'node:child_process';
import * as nodeFs from 'node:fs';
import * as nodePath from 'node:path';
import { defined } from '../lang/present.js';

/**
 * The one way org-ca creates a directory whose path came from a user (`--dir`) or the environment (RUNNER_TEMP,
 * TMPDIR, XDG_CACHE_HOME). Node's `mkdir(…, { recursive: true })` spins at 100 % CPU forever under /proc (it retries
 * the parent on ENOENT), answers a bare ENOENT for a dangling link, and blocks for good on a hung mount. Here:
 * - the path is walked one component at a time, each looked at once and created at most once, so the work is
 *   bounded by the path's length, and each refusal is one line that quotes the path and says why;
 * - a call stuck in the kernel (a stopped FUSE daemon, a hard NFS mount) would pin the thread that made it, and Node
 *   joins its threads on exit, so even process.exit() hangs (measured with Node 24 on a FUSE mount whose daemon was
 *   stopped). So the path is first looked at by a throw-away `sh`, killed at a deadline; only once it has answered
 *   does the walk run here. A Node child would do the same, but its start-up (about 100 ms on a 2-core runner, three
 *   times per main step) was most of the step's time; `sh` starts in about a millisecond. Where there is no
 *   /bin/sh (Windows), the whole walk runs in a Node child instead.
 */
export class PathError extends Error {
  override readonly name = 'PathError';
}

export interface EnsureDirectoryOptions {
  /** What the path is, for messages: `--dir`, `RUNNER_TEMP`, `TMPDIR`… */
  readonly purpose: string;
  /** Mode of directories created here (default 0755: apt reads the files as `_apt`). */
  readonly mode?: number;
  /** Time for the whole walk; a hung mount never answers (default 5 s). */
  readonly timeoutMs?: number;
  /**
   * Where the walk runs: in this process once a shell has looked at the path in time (the default where /bin/sh
   * exists), or all of it in a Node child killed at the deadline (the default elsewhere).
   */
  readonly walkIn?: 'this-process' | 'node-child';
  /** The POSIX shell that looks at the path first (default /bin/sh). */
  readonly probeShell?: string;
}

export const DEFAULT_TIMEOUT_MS = 5000;

/**
 * Linux pseudo file systems where nothing can be created (statfs f_type, from linux/magic.h): a directory there is a
 * mistake, never a place for a CA bundle.
 */
const PSEUDO_FILE_SYSTEMS: Readonly<Record<number, string>> = {
  0x9fa0: 'proc',
  0x62656572: 'sysfs',
  0x1cd1: 'devpts',
  0x27e0eb: 'cgroup',
  0x63677270: 'cgroup2',
  0x64626720: 'debugfs',
  0x74726163: 'tracefs',
  0x73636673: 'securityfs',
  0xcafe4a11: 'bpf',
  0x6165676c: 'pstore',
  0x62656570: 'configfs',
  0xde5e81e4: 'efivarfs',
  0x65735543: 'fusectl',
  0x6e736673: 'nsfs',
  0x42494e4d: 'binfmt_misc',
  0xf97cff8c: 'selinuxfs',
};

/** Why an errno stops us, in words (the code stays in the message for searching). */
const ERRNO_WORDS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  ESTALE: 'stale file handle (a network mount that went away)',
  EIO: 'input/output error (a failing disk or mount)',
  ENAMETOOLONG: 'name too long',
  ENOTCONN: 'transport endpoint is not connected (a FUSE mount whose daemon is gone)',
};

interface WalkRequest {
  /** The directory and every one above it, from the root down (prefixesOf). */
  readonly prefixes: readonly string[];
  readonly mode: number;
  readonly tempPrefix?: string;
  readonly pseudo: Readonly<Record<number, string>>;
  readonly words: Readonly<Record<string, string>>;
  readonly linux: boolean;
}

type WalkResult = { readonly ok: true; readonly dir: string } | { readonly ok: false; readonly reason: string };

/**
 * The walk itself, here or in a Node child. Self-contained on purpose (its source text is what the child runs): it
 * uses only its arguments and synchronous calls, and calls `at(path)` before each call so that a child can tell its
 * parent the component a hang happened on.
 */
function walkDirectory(
  fs: typeof nodeFs,
  path: typeof nodePath,
  request: WalkRequest,
  at: (p: string) => void,
): WalkResult {
  const codeOf = (error: unknown): string => (error as { code?: string })?.code ?? 'unknown error';
  const words = (error: unknown): string =>
    `${codeOf(error)}: ${request.words[codeOf(error)] ?? (error as Error)?.message ?? 'failed'}`;
  const kindOf = (s: nodeFs.Stats): string =>
    s.isFile()
      ? 'a regular file'
      : s.isCharacterDevice()
        ? 'a character device'
        : s.isBlockDevice()
          ? 'a block device'
          : s.isFIFO()
            ? 'a named pipe'
            : s.isSocket()
              ? 'a socket'
              : 'not a directory';
  const refuse = (reason: string): WalkResult => ({ ok: false, reason });

  const prefixes = request.prefixes;
  const root = prefixes[0]!;
  const absolute = prefixes[prefixes.length - 1]!;

  /** true: a directory (links followed); false: nothing there; a string: why it cannot be one. */
  const look = (p: string): boolean | string => {
    let own;
    try {
      at(p);
      own = fs.lstatSync(p);
    } catch (error) {
      return codeOf(error) === 'ENOENT'
        ? false
        : `cannot look at '${p}' (${words(error)}); expected a writable directory.`;
    }
    if (own.isDirectory()) return true;
    if (!own.isSymbolicLink()) return `'${p}' is ${kindOf(own)}, not a directory.`;
    try {
      const target = fs.statSync(p);
      return target.isDirectory() ? true : `'${p}' is a symbolic link to ${kindOf(target)}, not to a directory.`;
    } catch (error) {
      if (codeOf(error) === 'ELOOP') return `'${p}' is a symbolic link loop; expected a directory.`;
      if (codeOf(error) !== 'ENOENT')
        return `cannot follow the link '${p}' (${words(error)}); expected a writable directory.`;
      let to = '?';
      try {
        to = fs.readlinkSync(p);
      } catch {
        // gone meanwhile: the message still says what it was
      }
      return `'${p}' is a dangling symbolic link (to '${to}', which does not exist); expected a directory.`;
    }
  };

  let firstMissing = prefixes.length;
  for (let i = 0; i < prefixes.length; i++) {
    const seen = look(prefixes[i]!);
    if (typeof seen === 'string') return refuse(seen);
    if (!seen) {
      firstMissing = i;
      break;
    }
  }
  if (firstMissing === 0) return refuse(`the root '${root}' does not exist.`);
  const deepest = prefixes[firstMissing - 1]!;
  if (request.linux) {
    try {
      at(deepest);
      const name = request.pseudo[fs.statfsSync(deepest).type];
      if (name)
        return refuse(
          `'${deepest}' is on ${name}, a kernel pseudo file system where no file can be created; expected a directory on a real file system.`,
        );
    } catch (error) {
      return refuse(`cannot statfs '${deepest}' (${words(error)}); expected a writable directory.`);
    }
  }
  for (const p of prefixes.slice(firstMissing)) {
    try {
      at(p);
      fs.mkdirSync(p, { mode: request.mode });
      // mkdir's mode is filtered by the umask; the files must be readable by other users (apt as `_apt`).
      fs.chmodSync(p, request.mode);
    } catch (error) {
      // Made by someone else meanwhile: fine if it is a directory (looked at once more, never a loop).
      if (codeOf(error) === 'EEXIST' && look(p) === true) continue;
      return refuse(`cannot create '${p}' (${words(error)}); expected a writable directory.`);
    }
  }
  try {
    at(absolute);
    fs.accessSync(absolute, fs.constants.W_OK | fs.constants.X_OK);
  } catch (error) {
    return refuse(`cannot write in '${absolute}' (${words(error)}); expected a writable directory.`);
  }
  if (request.tempPrefix === undefined) return { ok: true, dir: absolute };
  const template = path.join(absolute, request.tempPrefix);
  try {
    at(absolute);
    const dir = fs.mkdtempSync(template);
    fs.chmodSync(dir, request.mode);
    return { ok: true, dir };
  } catch (error) {
    return refuse(`cannot create '${template}XXXXXX' (${words(error)}); expected a writable directory.`);
  }
}

const CHILD_SCRIPT = `
const fs = require('node:fs');
const request = JSON.parse(process.argv[1]);
const result = (${walkDirectory.toString()})(fs, require('node:path'), request, (p) => fs.writeSync(1, 'at ' + JSON.stringify(p) + '\\n'));
fs.writeSync(1, 'result ' + JSON.stringify(result) + '\\n');
`;

/**
 * Looks at each of `paths` in turn (stat, links followed), up to the first that does not exist, printing `at N`
 * before each: the parent names the one a hang happened on. `[ -e ]` and `[ -L ]` are the shell's own, so nothing
 * else is started; dash flushes what a builtin printed before the next command runs.
 */
const PROBE_SCRIPT = 'i=0; for p do echo "at $i"; [ -e "$p" ] || [ -L "$p" ] || exit 0; i=$((i+1)); done';
const PROBE_SHELL = '/bin/sh';

interface ChildRun {
  readonly lines: readonly string[];
  readonly stderr: string;
  readonly timedOut: boolean;
  /** It never ran (spawn failed: no such file, no memory, no more processes). */
  readonly notStarted: boolean;
}

/** Runs a child with its output in lines, SIGKILLed at the deadline: a process waiting on FUSE or NFS ends no other way. */
async function runBounded(file: string, args: readonly string[], timeoutMs: number): Promise<ChildRun> {
  const child = spawn(file, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    // The child must see the path exactly as we do, relative ones included.
    cwd: process.cwd(),
    env: { PATH: process.env.PATH ?? '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let timedOut = false;
  let notStarted = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  await new Promise<void>((resolve) => {
    child.once('close', () => resolve());
    child.once('error', (error) => {
      stderr += error.message;
      notStarted = child.pid === undefined;
      resolve();
    });
  });
  clearTimeout(timer);
  return { lines: stdout.split('\n'), stderr, timedOut, notStarted };
}

/**
 * Directories a walk in this process has already returned. A path in one of them, or that one itself, needs no new
 * probe: the main step makes RUNNER_TEMP/org-ca-XXXXXX, then directories inside it, each a spawn apart otherwise,
 * and only a mount made at that very moment could hang where the directory answered a few milliseconds earlier.
 */
const answered = new Set<string>();

function probedBefore(prefixes: readonly string[]): boolean {
  const [path, parent] = [prefixes[prefixes.length - 1]!, prefixes[prefixes.length - 2]];
  return answered.has(path) || (parent !== undefined && answered.has(parent));
}

/** `path` and every directory above it, from the root down: what the walk and the probe look at, in order. */
function prefixesOf(path: string): string[] {
  const absolute = nodePath.resolve(path);
  const root = nodePath.parse(absolute).root;
  const prefixes = [root];
  for (const part of absolute.slice(root.length).split(nodePath.sep).filter(Boolean))
    prefixes.push(nodePath.join(prefixes[prefixes.length - 1]!, part));
  return prefixes;
}

async function runWalk(path: string, options: EnsureDirectoryOptions, tempPrefix?: string): Promise<string> {
  const fail = (reason: string): PathError => new PathError(`${options.purpose} '${path}': ${reason}`);
  if (path.trim() === '') throw new PathError(`${options.purpose} is empty: expected a directory path.`);
  const prefixes = prefixesOf(path);
  const request: WalkRequest = {
    prefixes,
    mode: options.mode ?? 0o755,
    ...defined({ tempPrefix }),
    pseudo: PSEUDO_FILE_SYSTEMS,
    words: ERRNO_WORDS,
    linux: process.platform === 'linux',
  };
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const hung = (where: string): PathError =>
    fail(
      `'${where}' did not answer within ${timeoutMs / 1000} s: a hung or stale mount? Expected a local, writable directory.`,
    );

  const shell = options.probeShell ?? PROBE_SHELL;
  if ((options.walkIn ?? (nodeFs.existsSync(shell) ? 'this-process' : 'node-child')) === 'this-process') {
    const probe = probedBefore(prefixes)
      ? undefined
      : await runBounded(shell, ['-c', PROBE_SCRIPT, 'probe', ...prefixes], timeoutMs);
    if (probe?.timedOut) {
      const last = probe.lines.filter((line) => line.startsWith('at ')).pop();
      throw hung(prefixes[Number(last?.slice(3) ?? 0)] ?? path);
    }
    // A shell that could not start has looked at nothing: the walk then runs where a hang cannot hold this process.
    if (!probe?.notStarted) {
      const result = walkDirectory(nodeFs, nodePath, request, () => undefined);
      if (!result.ok) throw fail(result.reason);
      answered.add(prefixes[prefixes.length - 1]!).add(result.dir);
      return result.dir;
    }
  }

  const child = await runBounded(process.execPath, ['-e', CHILD_SCRIPT, JSON.stringify(request)], timeoutMs);
  const result = child.lines.find((line) => line.startsWith('result '));
  if (result) {
    const parsed = JSON.parse(result.slice('result '.length)) as WalkResult;
    if (parsed.ok) return parsed.dir;
    throw fail(parsed.reason);
  }
  const last = child.lines.filter((line) => line.startsWith('at ')).pop();
  const where = last ? (JSON.parse(last.slice(3)) as string) : path;
  if (child.timedOut) throw hung(where);
  throw fail(`the check of '${where}' failed (${child.stderr.trim().split('\n').pop() || 'no answer'}).`);
}

/** Makes sure `path` is a writable directory, creating what is missing; returns it absolute. Throws PathError. */
export function ensureDirectory(path: string, options: EnsureDirectoryOptions): Promise<string> {
  return runWalk(path, options);
}

/** A fresh directory `<parent>/<prefix>XXXXXX` (mode 0755) in a guarded parent, e.g. under RUNNER_TEMP or TMPDIR. */
export function makeTempDirectory(parent: string, prefix: string, options: EnsureDirectoryOptions): Promise<string> {
  return runWalk(parent, options, prefix);
}
