import { posix } from 'node:path';
import { CA_POINTER_VARIABLES } from '../tools/registry.js';
import type { FinalFs } from './filesystem.js';

/**
 * Settings that point a tool at a CA file, as found in an image's Env and in the tools' own config files. A pointer
 * is a leak when its value is certificate text, when the file it names holds the CA, or when the file is gone
 * (a build that used a secret mount and left the variable behind). Pointing at the image's own bundle is fine.
 */
export interface Pointer {
  /** `config.Env[3]` or the config file's path. */
  readonly where: string;
  readonly setting: string;
  readonly value: string;
}

const POINTER_VARIABLES = new Set(CA_POINTER_VARIABLES);

export function envPointers(env: readonly string[]): Pointer[] {
  const out: Pointer[] = [];
  env.forEach((entry, i) => {
    const eq = entry.indexOf('=');
    const name = eq === -1 ? entry : entry.slice(0, eq);
    if (POINTER_VARIABLES.has(name)) out.push({ where: `config.Env[${i}]`, setting: name, value: eq === -1 ? '' : entry.slice(eq + 1) });
  });
  return out;
}

/** Per config file: the keys that name a CA file (npm, pip, git, wget, curl, yarn). Keys compare case-insensitively. */
const FILE_KEYS: [RegExp, RegExp][] = [
  [/(^|\/)\.?npmrc$/, /^\s*(cafile|ca(?:\[\])?)\s*=\s*(.+?)\s*$/i],
  [/(^|\/)pip\.(conf|ini)$/, /^\s*(cert)\s*[=:]\s*(.+?)\s*$/i],
  [/(^|\/)(\.gitconfig|gitconfig|\.config\/git\/config)$/, /^\s*(sslcainfo|sslcapath)\s*=\s*(.+?)\s*$/i],
  [/(^|\/)\.?wgetrc$/, /^\s*(ca_certificate|ca_directory)\s*=\s*(.+?)\s*$/i],
  [/(^|\/)\.curlrc$/, /^\s*-{0,2}(cacert|capath)\s*[=:\s]\s*(.+?)\s*$/i],
  [/(^|\/)\.yarnrc$/, /^\s*(cafile|https-ca-file-path)\s+(.+?)\s*$/i],
  [/(^|\/)\.yarnrc\.yml$/, /^\s*(caFilePath|httpsCaFilePath)\s*:\s*(.+?)\s*$/i],
];

export function filePointers(path: string, text: string): Pointer[] {
  const rule = FILE_KEYS.find(([file]) => file.test(path));
  if (!rule) return [];
  const out: Pointer[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = rule[1].exec(line);
    if (!m) continue;
    let value = m[2]!.replace(/\s+[#;].*$/, '').replace(/^["']|["']$/g, '');
    // git and others expand ~ to the home of the file's owner: the directory holding a dotfile.
    if (value.startsWith('~/')) value = posix.join('/', posix.dirname(path), value.slice(2));
    out.push({ where: `/${path}`, setting: m[1]!, value });
  }
  return out;
}

export type PointerVerdict = { kind: 'pointer-inline' } | { kind: 'pointer-to-ca'; file: string } | { kind: 'pointer-missing'; file: string } | undefined;

export function looksLikeCertText(value: string): boolean {
  return value.includes('-----BEGIN') || /^[A-Za-z0-9+/=\s]{200,}$/.test(value.trim());
}

/**
 * Judges one pointer against the final file system. `caPaths` are the absolute paths whose visible version holds
 * the CA; `cwd` is the image's WorkingDir, against which a relative value resolves.
 */
export function judgePointer(p: Pointer, fs: FinalFs, caPaths: ReadonlySet<string>, cwd = '/'): PointerVerdict {
  if (looksLikeCertText(p.value)) return { kind: 'pointer-inline' };
  const value = p.value.trim();
  if (value === '') return undefined;
  // SSL_CERT_DIR is a list like PATH; the others hold one path, which a ':' split leaves whole.
  for (const path of p.setting === 'SSL_CERT_DIR' ? value.split(':').filter(Boolean) : [value]) {
    const found = fs.resolve(path, cwd);
    if (!found) return { kind: 'pointer-missing', file: path };
    if (caPaths.has(found.path)) return { kind: 'pointer-to-ca', file: found.path };
    if (found.type === 'dir') {
      // A directory of certificates: the CA as a file in it, or reached through one of its symlinks
      // (c_rehash-style `<hash>.0` links). caPaths hold only visible files, so no listing is needed for the first.
      const direct = [...caPaths].find((c) => posix.dirname(c) === found.path);
      if (direct) return { kind: 'pointer-to-ca', file: direct };
      for (const name of fs.symlinksIn(found.path)) {
        const child = fs.resolve(posix.join(found.path, name));
        if (child && caPaths.has(child.path)) return { kind: 'pointer-to-ca', file: child.path };
      }
    }
  }
  return undefined;
}
