import { spawnSync } from 'node:child_process';

/**
 * The only place the trust-store code touches the machine: commands, run directly as root, through `sudo -n` where
 * passwordless sudo is there, or not at all. Kept behind an interface so the add/remove logic is tested as data.
 */
export type Privilege = 'root' | 'sudo' | 'none';

export interface CommandResult {
  readonly code: number;
  readonly output: string;
}

export interface StoreHost {
  readonly privilege: Privilege;
  /** Runs a command with the store's rights (sudo prefixed when needed). */
  runPrivileged(argv: readonly string[], input?: string): CommandResult;
  /** Runs a command as the current user (NSS databases live in the user's home). */
  run(argv: readonly string[], input?: string): CommandResult;
  /** Whether a command is on PATH. */
  has(command: string): boolean;
}

function spawn(argv: readonly string[], input?: string): CommandResult {
  const r = spawnSync(argv[0]!, argv.slice(1), {
    encoding: 'utf8',
    input: input ?? '',
    timeout: 600_000,
    env: { ...process.env, LC_ALL: 'C' },
  });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    return {
      code: code === 'ENOENT' ? 127 : 126,
      output: code === 'ENOENT' ? `${argv[0]}: command not found` : `${argv[0]} could not be run (${code ?? 'error'})`,
    };
  }
  return { code: r.status ?? 128, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

export function detectPrivilege(): Privilege {
  if (process.getuid?.() === 0) return 'root';
  return spawn(['sudo', '-n', 'true']).code === 0 ? 'sudo' : 'none';
}

export function systemHost(privilege: Privilege = detectPrivilege()): StoreHost {
  return {
    privilege,
    runPrivileged: (argv, input) => spawn(privilege === 'sudo' ? ['sudo', '-n', ...argv] : argv, input),
    run: spawn,
    has: (command) => spawn(['sh', '-c', 'command -v "$1"', 'sh', command]).code === 0,
  };
}
