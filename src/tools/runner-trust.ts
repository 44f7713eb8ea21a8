import { chmodSync, existsSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import * as tls from 'node:tls';
import type { TrustSource } from '../ca/bundle.js';
import { isJavaKeystore, readJks, type KeystoreEntry } from '../ca/jks.js';
import type { ConfigFile, ConfigKind } from './config-scan.js';

/** The machine side of injection: what the runner already trusts and configures. Kept apart from the pure plan. */
type Env = Readonly<Record<string, string | undefined>>;

function readIfFile(path: string): string | undefined {
  try {
    return statSync(path).isFile() ? readFileSync(path, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The roots of the shared bundle (EXACT_TRUST): the OS store as OpenSSL sees it, which is what curl, git, Python's ssl
 * and the other readers of a replacing variable trust by default, and nothing else (Node's bundled Mozilla roots hold
 * roots an administrator may have left out of, or removed from, the OS store). A variable the job had pointed at a
 * file of its own gets that file instead (src/tools/injection-plan.ts). Only where the OS store cannot be read at all (no system
 * store on this platform) does the bundle fall back to Node's roots, saying so.
 */
export function runnerTrustSources(): TrustSource[] {
  let system: string[] = [];
  try {
    system = tls.getCACertificates('system');
  } catch {
    // no OS store Node can read here
  }
  if (system.length) return [{ label: 'OS store', pems: system }];
  return [{ label: "Node's bundled roots (no OS store could be read)", pems: [...tls.rootCertificates] }];
}

/** Node's default roots (its bundled Mozilla set and NODE_EXTRA_CA_CERTS): what npm trusts without a cafile. */
export function nodeDefaultSources(): TrustSource[] {
  return [{ label: "Node's default roots", pems: tls.getCACertificates('default') }];
}

/** Directories holding a `node` on PATH: npm's global npmrc is `<prefix>/etc/npmrc` for each of them. */
function nodePrefixes(env: Env): string[] {
  const prefixes = new Set<string>();
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const node = join(dir, process.platform === 'win32' ? 'node.exe' : 'node');
    try {
      prefixes.add(dirname(dirname(realpathSync(node))));
    } catch {
      // no node here
    }
  }
  return [...prefixes];
}

/** Every config file that can carry a CA or switch verification off, for the tools the registry covers. */
export function readConfigFiles(env: Env, workspace: string | undefined): ConfigFile[] {
  const home = env.HOME ?? env.USERPROFILE ?? homedir();
  const xdg = env.XDG_CONFIG_HOME ?? join(home, '.config');
  const candidates: Array<[ConfigKind, string | undefined]> = [
    ['npmrc', env.NPM_CONFIG_GLOBALCONFIG ?? env.npm_config_globalconfig],
    ...nodePrefixes(env).map((prefix): [ConfigKind, string] => ['npmrc', join(prefix, 'etc', 'npmrc')]),
    ['npmrc', env.NPM_CONFIG_USERCONFIG ?? env.npm_config_userconfig ?? join(home, '.npmrc')],
    ['npmrc', workspace && join(workspace, '.npmrc')],
    ['yarnrc', join(home, '.yarnrc')],
    ['yarnrc', workspace && join(workspace, '.yarnrc')],
    ['yarnrc.yml', join(home, '.yarnrc.yml')],
    ['yarnrc.yml', workspace && join(workspace, '.yarnrc.yml')],
    ['bunfig', join(home, '.bunfig.toml')],
    ['bunfig', join(xdg, '.bunfig.toml')],
    ['bunfig', workspace && join(workspace, 'bunfig.toml')],
    ['gitconfig', '/etc/gitconfig'],
    ['gitconfig', join(home, '.gitconfig')],
    ['gitconfig', join(xdg, 'git', 'config')],
    ['curlrc', join(home, '.curlrc')],
    ['wgetrc', '/etc/wgetrc'],
    ['wgetrc', env.WGETRC ?? join(home, '.wgetrc')],
    ['pip.conf', '/etc/pip.conf'],
    ['pip.conf', env.PIP_CONFIG_FILE],
    ['pip.conf', join(xdg, 'pip', 'pip.conf')],
    ['pip.conf', join(home, '.pip', 'pip.conf')],
  ];
  const files: ConfigFile[] = [];
  const seen = new Set<string>();
  for (const [kind, path] of candidates) {
    if (!path || seen.has(path)) continue;
    seen.add(path);
    const text = readIfFile(path);
    if (text !== undefined) files.push({ path, kind, text });
  }
  return files;
}

export interface JdkTrust {
  readonly path: string;
  readonly entries: readonly KeystoreEntry[];
}

/** The JDK's default cacerts (JKS through JDK 17, password-less PKCS#12 from 18), or undefined where no JDK is found. */
export async function jdkCacerts(env: Env): Promise<JdkTrust | undefined> {
  const homes: string[] = [];
  if (env.JAVA_HOME) homes.push(env.JAVA_HOME);
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      homes.push(dirname(dirname(realpathSync(join(dir, process.platform === 'win32' ? 'java.exe' : 'java')))));
      break;
    } catch {
      // no java here
    }
  }
  for (const home of homes) {
    for (const rel of ['lib/security/cacerts', 'jre/lib/security/cacerts']) {
      const path = join(home, rel);
      if (!existsSync(path)) continue;
      const bytes = readFileSync(path);
      try {
        if (isJavaKeystore(bytes)) return { path, entries: readJks(bytes) };
        // Loaded only here: node-forge is large, and only JDK 18+ (PKCS#12 cacerts) needs it.
        const { readPkcs12 } = await import('../ca/pkcs12.js');
        return { path, entries: readPkcs12(bytes) };
      } catch {
        // unreadable store: fall back to the next candidate, then to the combined bundle
      }
    }
  }
  return undefined;
}

/** The user's own wget2rc: WGET2RC, else ~/.wget2rc (wget2 --config). */
export function readUserWget2rc(env: Env): string | undefined {
  const home = env.HOME ?? homedir();
  return readIfFile(env.WGET2RC ?? join(home, '.wget2rc'));
}

export function readUserWgetrc(env: Env): string | undefined {
  const home = env.HOME ?? homedir();
  return readIfFile(env.WGETRC ?? join(home, '.wgetrc'));
}

/** Writes a file readable by every user (apt fetches as `_apt`) into a directory made by ensureDirectory. */
export function writePublicFile(path: string, content: string | Buffer): void {
  writeFileSync(path, content, { mode: 0o644 });
  chmodSync(path, 0o644);
}
