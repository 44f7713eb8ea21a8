/**
 * How package managers and git are told where a CA file is, on their command line: a flag for one run (the file is
 * then proven to be a CA), or a config command that keeps the setting (proven, and a pointer the image keeps).
 * Pure: a command's words in, what they name out; the RUN interpreter acts on it.
 */

/** A CA file a command line names: `flag` for one run, `setting` when a config command keeps it. */
export interface NamedCa {
  readonly value: string;
  readonly how: 'flag' | 'setting';
  /** For a flag, the evidence ("passes x to pip --cert"); for a setting, its label ("pip config global.cert"). */
  readonly label: string;
}

interface ToolCaSettings {
  readonly matches: (cmd: string, args: readonly string[]) => boolean;
  readonly named: (cmd: string, args: readonly string[]) => NamedCa[];
}

/** `--name VALUE` or `--name=VALUE`. */
function flagValue(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === name) return args[i + 1];
    if (args[i]!.startsWith(`${name}=`)) return args[i]!.slice(name.length + 1);
  }
  return undefined;
}

/** `… config set KEY VALUE` or `… config set KEY=VALUE`. */
function configSet(args: readonly string[]): [string, string | undefined] | undefined {
  const at = args.indexOf('set');
  if (at === -1) return undefined;
  const rest = args.slice(at + 1).filter((a) => !a.startsWith('-'));
  if (!rest[0]) return undefined;
  const eq = rest[0].indexOf('=');
  return eq !== -1 ? [rest[0].slice(0, eq), rest[0].slice(eq + 1)] : [rest[0], rest[1]];
}

/** The words after `word` that are not options: `git config --global http.sslCAInfo FILE` → [key, FILE]. */
function after(args: readonly string[], word: string): string[] {
  const at = args.indexOf(word);
  return at === -1 ? [] : args.slice(at + 1).filter((a) => !a.startsWith('-'));
}

function flag(value: string | undefined, label: string): NamedCa[] {
  return value ? [{ value, how: 'flag', label }] : [];
}

function setting(key: string | undefined, value: string | undefined, keyPattern: RegExp, label: string): NamedCa[] {
  return key && keyPattern.test(key) && value !== undefined ? [{ value, how: 'setting', label }] : [];
}

/** A flag and a `config set` key: npm, yarn, pnpm and pip spell both the same way. */
function flagAndConfigSet(
  flagName: string,
  keyPattern: RegExp,
  tool: (cmd: string) => string,
): ToolCaSettings['named'] {
  return (cmd, args) => {
    const one = flagValue(args, flagName);
    const kv = configSet(args);
    return [
      ...flag(one, `passes ${one} to ${tool(cmd)} ${flagName}`),
      ...setting(kv?.[0], kv?.[1], keyPattern, `${tool(cmd)} config ${kv?.[0]}`),
    ];
  };
}

function isPip(cmd: string, args: readonly string[]): boolean {
  return (
    cmd === 'pip' ||
    cmd === 'pip3' ||
    /^pip3\.\d+$/.test(cmd) ||
    (/^python(\d(\.\d+)?)?$/.test(cmd) && args[0] === '-m' && /^pip/.test(args[1] ?? ''))
  );
}

export const TOOL_CA_SETTINGS: readonly ToolCaSettings[] = [
  {
    matches: (cmd) => ['npm', 'yarn', 'pnpm'].includes(cmd),
    named: flagAndConfigSet('--cafile', /^(cafile|https-ca-file-path|ca-file-path|capath)$/i, (cmd) => cmd),
  },
  { matches: isPip, named: flagAndConfigSet('--cert', /(^|\.)cert$/, () => 'pip') },
  {
    matches: (cmd) => cmd === 'git',
    named: (_, args) => {
      const oneRun = args.flatMap((a, i) =>
        args[i - 1] === '-c' && /sslcainfo=/i.test(a)
          ? flag(a.split('=').slice(1).join('='), 'passes it to git -c http.sslCAInfo')
          : [],
      );
      const [key, value] = after(args, 'config');
      return [...oneRun, ...setting(key, value, /sslcainfo$/i, `git config ${key}`)];
    },
  },
  {
    matches: (cmd) => cmd === 'poetry',
    named: (_, args) => {
      const [key, value] = after(args, 'config');
      return setting(key, value, /^certificates\..+\.cert$/, `poetry config ${key}`);
    },
  },
  {
    matches: (cmd) => cmd === 'conda',
    named: (_, args) => {
      const at = args.indexOf('--set');
      const value = at === -1 ? undefined : args[at + 2];
      return at !== -1 && args[at + 1] === 'ssl_verify' && (value ?? '').includes('/')
        ? setting('ssl_verify', value, /^ssl_verify$/, 'conda ssl_verify')
        : [];
    },
  },
  {
    matches: (cmd, args) => cmd === 'bundle' && args[0] === 'config',
    named: (_, args) => {
      // `bundle config KEY VALUE` (Bundler 1) and `bundle config set [--global|--local] KEY VALUE` (Bundler 2).
      const words = args.slice(1).filter((a) => !a.startsWith('-'));
      const [key, value] = words[0] === 'set' ? words.slice(1) : words;
      return setting(key, value, /ssl_ca_cert$/i, `bundle config ${key}`);
    },
  },
];

/** The CA files a command line names, by the first tool it is. */
export function namedCaFiles(cmd: string, args: readonly string[]): NamedCa[] {
  return TOOL_CA_SETTINGS.find((t) => t.matches(cmd, args))?.named(cmd, args) ?? [];
}
