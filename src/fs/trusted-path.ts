/**
 * The guard every privileged file operation starts with: a path is only acted on when nobody but the acting user and
 * root could have changed what it names. This is the rule OpenSSH's StrictModes applies to ~/.ssh (every directory
 * from / down must be owned by root or the user and writable by nobody else), because a directory writable by another
 * account lets that account swap any name below it for a link to /etc/shadow between our check and our write.
 *
 * A symbolic link among the components is followed only when root owns it (/var/run -> /run); one owned by anyone else
 * is refused. The final component, when it exists, must not be a link at all: privileged writes, renames and deletes
 * never go through one.
 */
import { lstatSync, readlinkSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';

export class UntrustedPathError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.name = 'UntrustedPathError';
    this.path = path;
  }
}

export interface TrustedPathOptions {
  /** Who may own and write the components besides root (default: the user running this process). */
  readonly uid?: number;
  /** What the path is, for messages: "the runner hooks directory", "the trust-store journal"… */
  readonly purpose: string;
  /** Whether the final component must exist (default false: a file about to be created). */
  readonly mustExist?: boolean;
}

const GROUP_OR_OTHER_WRITE = 0o022;
const MAX_LINKS = 40;

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function describe(stats: Stats, uid: number): string | undefined {
  if (stats.uid !== 0 && stats.uid !== uid) return `is owned by uid ${stats.uid}`;
  if ((stats.mode & GROUP_OR_OTHER_WRITE) !== 0)
    return `is writable by ${(stats.mode & 0o002) !== 0 ? 'everyone' : `group ${stats.gid}`} (mode ${(stats.mode & 0o7777).toString(8).padStart(4, '0')})`;
  return undefined;
}

/**
 * Checks `path` (absolute) and every directory above it; throws UntrustedPathError naming the first component that
 * someone other than root or `uid` could change. Returns the path with root-owned links among its directories resolved.
 */
export function assertTrustedPath(path: string, options: TrustedPathOptions): string {
  const uid = options.uid ?? process.getuid?.() ?? 0;
  if (!isAbsolute(path))
    throw new UntrustedPathError(
      path,
      `${options.purpose} '${path}' is not an absolute path: expected one starting with '/'.`,
    );
  const parts = resolve(path).split(sep).filter(Boolean);
  let current: string = sep;
  let links = 0;
  const refuse = (at: string, why: string): never => {
    throw new UntrustedPathError(
      path,
      `${options.purpose} '${path}' is not safe to act on with privileges: '${at}' ${why}; expected every directory from / down to be owned by root${uid === 0 ? '' : ` or uid ${uid}`} and writable by no one else.`,
    );
  };
  const rootStats = lstatSync(sep);
  const rootWhy = describe(rootStats, uid);
  if (rootWhy) refuse(sep, rootWhy);
  for (let i = 0; i < parts.length; i += 1) {
    const last = i === parts.length - 1;
    const next = join(current, parts[i]!);
    const stats = lstatOrUndefined(next);
    if (!stats) {
      // Everything below a missing directory is made by the caller, under a parent already checked.
      if (options.mustExist) refuse(next, 'does not exist');
      return join(current, ...parts.slice(i));
    }
    if (stats.isSymbolicLink()) {
      if (last) refuse(next, 'is a symbolic link');
      if (stats.uid !== 0) refuse(next, `is a symbolic link owned by uid ${stats.uid}`);
      links += 1;
      if (links > MAX_LINKS) refuse(next, 'starts a loop of symbolic links');
      const target = readlinkSync(next);
      const resolved = resolve(dirname(next), target);
      // Walk the link's target from the top again, then go on with what is left of the path.
      const rest = parts.slice(i + 1);
      parts.splice(0, parts.length, ...resolved.split(sep).filter(Boolean), ...rest);
      i = -1;
      current = sep;
      continue;
    }
    const why = describe(stats, uid);
    if (why) refuse(next, why);
    if (!last && !stats.isDirectory()) refuse(next, 'is not a directory');
    current = next;
  }
  return current;
}

/** Whether `assertTrustedPath` would accept `path`; the reason when not. */
export function trustedPathProblem(path: string, options: TrustedPathOptions): string | undefined {
  try {
    assertTrustedPath(path, options);
    return undefined;
  } catch (error) {
    if (error instanceof UntrustedPathError) return error.message;
    throw error;
  }
}
