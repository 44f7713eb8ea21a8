import { posix } from 'node:path';
import { TOOL_REGISTRY } from '../tools/registry.js';
import { isSystemBundlePath } from '../tools/system-bundles.js';

/**
 * Settings that point a tool at a CA, as found in an image's Env and in the files where such settings persist. A
 * pointer is a leak when its value is certificate text, when the file it names holds the CA, or when the file is
 * gone (a build that used a secret mount and left the setting behind). Pointing at the image's own system bundle is
 * fine unless that bundle holds the CA.
 *
 * One registry, derived from the tool registry the action exports from (src/tools/registry.ts), so that every
 * variable org-ca sets for a job is also looked for in release images, in every spelling the tool accepts.
 */
export interface Pointer {
  /** `config.Env[3]`, or the path of the file holding the setting (with its line). */
  readonly where: string;
  readonly setting: string;
  readonly value: string;
  readonly form: PointerForm;
}

/** How a setting's value names trust: one file, one directory, a `:`-list of either, or certificate text itself. */
export type PointerForm = 'file' | 'dir' | 'path-list' | 'text';

interface PointerVariable {
  readonly name: string;
  readonly form: PointerForm;
  /** npm reads `npm_config_*` in any case (`NPM_CONFIG_CAFILE` too); other tools read the one spelling. */
  readonly anyCase?: boolean;
  readonly source: string;
}

/** Variables whose value is JVM options: a `-Djavax.net.ssl.trustStore=…` inside replaces every JVM's cacerts. */
const JVM_OPTION_VARIABLES: readonly string[] = [
  // Read by every JVM (JAVA_TOOL_OPTIONS, and the launcher's JDK_JAVA_OPTIONS and _JAVA_OPTIONS), and by the
  // launch scripts of Maven, Gradle, sbt and servlet containers.
  ...TOOL_REGISTRY.filter((entry) => entry.file === 'truststore').map((entry) => entry.variable),
  'JDK_JAVA_OPTIONS',
  '_JAVA_OPTIONS',
  'MAVEN_OPTS',
  'GRADLE_OPTS',
  'SBT_OPTS',
  'JAVA_OPTS',
  'CATALINA_OPTS',
];

export const POINTER_VARIABLES: readonly PointerVariable[] = [
  // Every file variable the action exports for a job: none of them belongs in a release image.
  ...TOOL_REGISTRY.filter((entry) => entry.file !== 'setting' && entry.file !== 'truststore').map((entry) => ({
    name: entry.variable,
    form: 'file' as const,
    source: entry.source,
  })),
  // What the action exports to override a configured cafile (src/tools/config-scan.ts), and the other names of it.
  {
    name: 'npm_config_cafile',
    form: 'file',
    anyCase: true,
    source: 'https://docs.npmjs.com/cli/using-npm/config#environment-variables',
  },
  { name: 'npm_config_ca', form: 'text', anyCase: true, source: 'https://docs.npmjs.com/cli/using-npm/config#ca' },
  { name: 'pnpm_config_cafile', form: 'file', anyCase: true, source: 'https://pnpm.io/npmrc' },
  { name: 'YARN_CAFILE', form: 'file', source: 'https://classic.yarnpkg.com/en/docs/cli/config' },
  { name: 'YARN_HTTPS_CA_FILE_PATH', form: 'file', source: 'https://yarnpkg.com/configuration/yarnrc#httpsCaFilePath' },
  { name: 'YARN_CA_FILE_PATH', form: 'file', source: 'https://github.com/yarnpkg/berry/pull/4503' },
  // Directories and lists of them.
  {
    name: 'SSL_CERT_DIR',
    form: 'path-list',
    source: 'https://docs.openssl.org/3.0/man3/SSL_CTX_load_verify_locations/',
  },
  {
    name: 'GIT_SSL_CAPATH',
    form: 'dir',
    source: 'https://git-scm.com/docs/git-config#Documentation/git-config.txt-httpsslCAPath',
  },
  // Further tools' CA variables (ca-env-matrix.md), which a build may set by hand.
  {
    name: 'CONDA_SSL_VERIFY',
    form: 'file',
    source: 'https://docs.conda.io/projects/conda/en/latest/user-guide/configuration/non-standard-certs.html',
  },
  { name: 'PERL_LWP_SSL_CA_FILE', form: 'file', source: 'https://metacpan.org/pod/LWP::UserAgent#ssl_opts' },
  { name: 'PERL_LWP_SSL_CA_PATH', form: 'dir', source: 'https://metacpan.org/pod/LWP::UserAgent#ssl_opts' },
  { name: 'HTTPS_CA_FILE', form: 'file', source: 'https://metacpan.org/pod/LWP::UserAgent#ssl_opts' },
  { name: 'HTTPS_CA_DIR', form: 'dir', source: 'https://metacpan.org/pod/LWP::UserAgent#ssl_opts' },
  { name: 'SYSTEM_WGET2RC', form: 'file', source: 'https://gitlab.com/gnuwget/wget2/-/blob/master/docs/wget2.md' },
  { name: 'APT_CONFIG', form: 'file', source: 'https://manpages.debian.org/apt.conf.5' },
  {
    name: 'HTTPLIB2_CA_CERTS',
    form: 'file',
    source: 'https://github.com/httplib2/httplib2/blob/master/python3/httplib2/certs.py',
  },
  { name: 'NIX_SSL_CERT_FILE', form: 'file', source: 'https://nixos.org/manual/nix/stable/installation/env-variables' },
];

const EXACT = new Map(POINTER_VARIABLES.filter((v) => !v.anyCase).map((v) => [v.name, v] as const));
const ANY_CASE = new Map(POINTER_VARIABLES.filter((v) => v.anyCase).map((v) => [v.name.toLowerCase(), v] as const));
const JVM = new Set(JVM_OPTION_VARIABLES);

/** Whether a variable of this name can point a tool at a CA (its value may still be harmless: see judgePointer). */
export function isPointerVariable(name: string): boolean {
  return EXACT.has(name) || ANY_CASE.has(name.toLowerCase()) || JVM.has(name);
}

/** `-Djavax.net.ssl.trustStore=…` (also `-J-D…` for sbt, and the plain property in .properties files). */
const TRUST_STORE_PROPERTY =
  /(?:^|[\s"'])(?:-J)?(?:-D|systemProp\.)?javax\.net\.ssl\.trustStore\s*=\s*("[^"]*"|'[^']*'|[^\s"']+)/g;

function unquote(value: string): string {
  const v = value.trim();
  return /^(["']).*\1$/s.test(v) ? v.slice(1, -1) : v;
}

function trustStoreValues(text: string): string[] {
  return [...text.matchAll(TRUST_STORE_PROPERTY)]
    .map((m) => unquote(m[1]!))
    .filter((v) => v !== '' && v.toUpperCase() !== 'NONE');
}

/** The pointers one `NAME=value` assignment makes (none, one, or one per trustStore in JVM options). */
export function assignmentPointers(name: string, value: string, where: string): Pointer[] {
  if (JVM.has(name))
    return trustStoreValues(value).map((v) => ({
      where,
      setting: `${name} -Djavax.net.ssl.trustStore`,
      value: v,
      form: 'file',
    }));
  const known = EXACT.get(name) ?? ANY_CASE.get(name.toLowerCase());
  if (!known) return [];
  // CONDA_SSL_VERIFY also takes true/false/truststore: only a path names a file.
  if (known.name === 'CONDA_SSL_VERIFY' && /^(true|false|truststore|yes|no|0|1)$/i.test(value.trim())) return [];
  return [{ where, setting: name, value, form: known.form }];
}

export function envPointers(env: readonly string[]): Pointer[] {
  const out: Pointer[] = [];
  const gitKeys = new Map<string, string>();
  env.forEach((entry, i) => {
    const eq = entry.indexOf('=');
    const name = eq === -1 ? entry : entry.slice(0, eq);
    const value = eq === -1 ? '' : entry.slice(eq + 1);
    out.push(...assignmentPointers(name, value, `config.Env[${i}]`));
    // git reads config from the environment too: GIT_CONFIG_KEY_<n>=http.sslCAInfo with GIT_CONFIG_VALUE_<n>.
    const key = /^GIT_CONFIG_KEY_(\d+)$/.exec(name);
    if (key && /^http\.(.*\.)?sslca(info|path)$/i.test(value)) gitKeys.set(key[1]!, value);
  });
  env.forEach((entry, i) => {
    const m = /^GIT_CONFIG_VALUE_(\d+)=(.*)$/s.exec(entry);
    const key = m && gitKeys.get(m[1]!);
    if (key)
      out.push({
        where: `config.Env[${i}]`,
        setting: key,
        value: m[2]!,
        form: /sslcapath$/i.test(key) ? 'dir' : 'file',
      });
  });
  return out;
}

// ---- files where such settings persist -----------------------------------------------------------------------

interface FileRule {
  /** Which files, as normalised layer paths (no leading '/'). */
  readonly path: RegExp;
  readonly parse: (text: string) => { setting: string; value: string; form?: PointerForm; line: number }[];
}

/** Lines `key = value` (or `key: value`, `key value`) for the given keys, compared case-insensitively. */
function keyLines(keys: string, separator = '[=:]', form: PointerForm = 'file'): FileRule['parse'] {
  const re = new RegExp(`^\\s*(?:\\/\\/\\S*:)?(${keys})\\s*${separator}\\s*(.+?)\\s*$`, 'i');
  return (text) => {
    const out: ReturnType<FileRule['parse']> = [];
    text.split(/\r?\n/).forEach((line, i) => {
      const m = re.exec(line);
      if (!m) return;
      const value = unquote(m[2]!.replace(/\s+[#;].*$/, '').replace(/[,;]$/, ''));
      if (value)
        out.push({ setting: m[1]!, value, form: /(path|dir|directory)$/i.test(m[1]!) ? 'dir' : form, line: i + 1 });
    });
    return out;
  };
}

/** Shell assignments: `export NAME=value`, `NAME="value"`, csh `setenv NAME value`, fish `set -gx NAME value`,
 * systemd `Environment="NAME=value"`, and trustStore properties anywhere in them. */
function shellAssignments(text: string): ReturnType<FileRule['parse']> {
  const out: ReturnType<FileRule['parse']> = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line.startsWith('#')) return;
    const forms = [
      /^(?:export\s+|declare\s+-x\s+|readonly\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/,
      /^setenv\s+([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$/,
      /^set\s+(?:-[a-zA-Z]+\s+)*([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$/,
    ];
    const assignments: [string, string][] = [];
    for (const re of forms) {
      const m = re.exec(line);
      if (m) assignments.push([m[1]!, m[2]!]);
    }
    // systemd units and drop-ins: Environment="A=x" "B=y"
    const env = /^Environment=(.*)$/.exec(line);
    if (env)
      for (const m of env[1]!.matchAll(/"([A-Za-z_][A-Za-z0-9_]*)=([^"]*)"|([A-Za-z_][A-Za-z0-9_]*)=(\S*)/g))
        assignments.push([m[1] ?? m[3]!, m[2] ?? m[4]!]);
    for (const [name, rawValue] of assignments) {
      const value = shellWord(rawValue);
      for (const p of assignmentPointers(name, value, '')) {
        // A value built from other variables cannot be judged here; a JVM property inside it still can.
        if (p.form !== 'text' && /[$`]/.test(p.value)) continue;
        out.push({ setting: p.setting, value: p.value, form: p.form, line: i + 1 });
      }
    }
  });
  return out;
}

/** The first shell word of an assignment's value: a quoted string, or up to a space, `;`, `&` or `|`. */
function shellWord(raw: string): string {
  const quoted = /^"((?:[^"\\]|\\.)*)"|^'([^']*)'/.exec(raw);
  if (quoted) return quoted[1] ?? quoted[2]!;
  return /^[^\s;&|]*/.exec(raw)![0];
}

/** `"key": "value"` pairs of a JSON file (composer), wherever they sit. */
function jsonKeys(keys: string): FileRule['parse'] {
  const re = new RegExp(`"(${keys})"\\s*:\\s*"((?:[^"\\\\]|\\\\.)*)"`, 'g');
  return (text) => {
    const out: ReturnType<FileRule['parse']> = [];
    text.split(/\r?\n/).forEach((line, i) => {
      for (const m of line.matchAll(re))
        if (m[2])
          out.push({
            setting: m[1]!,
            value: m[2].replace(/\\\//g, '/'),
            form: m[1] === 'capath' ? 'dir' : 'file',
            line: i + 1,
          });
    });
    return out;
  };
}

function trustStoreLines(text: string): ReturnType<FileRule['parse']> {
  const out: ReturnType<FileRule['parse']> = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (/^\s*#/.test(line)) return;
    for (const value of trustStoreValues(line)) out.push({ setting: 'javax.net.ssl.trustStore', value, line: i + 1 });
  });
  return out;
}

const both =
  (...parsers: FileRule['parse'][]): FileRule['parse'] =>
  (text) =>
    parsers.flatMap((parse) => parse(text));

/** apt: `Acquire::https::CAInfo "file";`, per host `Acquire::https::<host>::CAInfo`, CaPath, and the nested-block form. */
function aptSettings(text: string): ReturnType<FileRule['parse']> {
  const out: ReturnType<FileRule['parse']> = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (/^\s*(\/\/|#)/.test(line)) return;
    for (const m of line.matchAll(/((?:[\w.-]+::)*(CAInfo|CAPath))\s+"([^"]*)"/gi))
      out.push({ setting: m[1]!, value: m[3]!, form: /path$/i.test(m[2]!) ? 'dir' : 'file', line: i + 1 });
  });
  return out;
}

const SHELL_FILES =
  /^(etc\/environment|etc\/profile|etc\/profile\.d\/[^/]+|etc\/(bash\.)?bashrc|etc\/zsh\/(zshenv|zshrc|zprofile)|etc\/(zshenv|zshrc|zprofile)|etc\/csh\.(cshrc|login)|etc\/mavenrc|etc\/systemd\/.+\.(service|conf)|(.*\/)?(\.bashrc|\.bash_profile|\.bash_login|\.profile|\.zshrc|\.zshenv|\.zprofile|\.cshrc|\.tcshrc|\.mavenrc|\.env)|(.*\/)?\.config\/fish\/config\.fish)$/;

const FILE_RULES: readonly FileRule[] = [
  { path: SHELL_FILES, parse: shellAssignments },
  // npm / pnpm / yarn 1 read every npmrc (user, project, global /etc/npmrc, builtin /usr/etc/npmrc); per registry too.
  { path: /(^|\/)\.?npmrc$/, parse: both(keyLines('cafile', '='), keyLines('ca(?:\\[\\])?', '=', 'text')) },
  { path: /(^|\/)\.yarnrc$/, parse: keyLines('cafile|https-ca-file-path', '\\s') },
  { path: /(^|\/)\.yarnrc\.yml$/, parse: keyLines('caFilePath|httpsCaFilePath', ':') },
  { path: /(^|\/)pip\.(conf|ini)$/, parse: keyLines('cert') },
  {
    path: /(^|\/)\.?condarc$/,
    parse: (text) =>
      keyLines('ssl_verify', ':')(text).filter((p) => !/^(true|false|truststore|yes|no)$/i.test(p.value)),
  },
  { path: /(^|\/)(\.gitconfig|gitconfig|\.config\/git\/config)$/, parse: keyLines('sslcainfo|sslcapath', '=') },
  { path: /(^|\/)(\.curlrc|_curlrc|\.config\/curlrc)$/, parse: keyLines('-{0,2}(?:cacert|capath)', '[=:\\s]') },
  { path: /(^|\/)(\.wgetrc|wgetrc)$/, parse: keyLines('ca_certificate|ca_directory', '=') },
  { path: /(^|\/)(\.wget2rc|wget2rc)$/, parse: keyLines('ca-certificate|ca-directory', '=') },
  { path: /^etc\/apt\/apt\.conf(\.d\/[^/]+)?$/, parse: aptSettings },
  { path: /(^|\/)gradle\.properties$/, parse: trustStoreLines },
  { path: /(^|\/)(\.mvn\/jvm\.config|\.jvmopts|\.sbtopts|etc\/sbt\/sbtopts)$/, parse: trustStoreLines },
  {
    path: /(^|\/)\.cargo\/config(\.toml)?$|^usr\/local\/cargo\/config(\.toml)?$/,
    parse: keyLines('(?:http\\.)?cainfo', '='),
  },
  { path: /(^|\/)\.bundle\/config$|^usr\/local\/bundle\/config$/, parse: keyLines('BUNDLE_SSL_CA_CERT', ':') },
  {
    path: /(^|\/)(\.composer|\.config\/composer)\/config\.json$|(^|\/)composer\.json$/,
    parse: jsonKeys('cafile|capath'),
  },
  { path: /(^|\/)\.?bunfig\.toml$/, parse: keyLines('cafile', '=') },
  { path: /(^|\/)pypoetry\/config\.toml$/, parse: keyLines('cert', '=') },
];

/** Base names that can hold a setting: the cheap first test, run on every path of every layer. */
const CAPTURE_BASENAMES = new Set([
  '.npmrc',
  'npmrc',
  '.yarnrc',
  '.yarnrc.yml',
  'pip.conf',
  'pip.ini',
  '.condarc',
  'condarc',
  '.gitconfig',
  'gitconfig',
  'config',
  '.curlrc',
  '_curlrc',
  'curlrc',
  '.wgetrc',
  'wgetrc',
  '.wget2rc',
  'wget2rc',
  'apt.conf',
  'gradle.properties',
  'jvm.config',
  '.jvmopts',
  '.sbtopts',
  'sbtopts',
  'config.toml',
  'config.json',
  'composer.json',
  'bunfig.toml',
  '.bunfig.toml',
  'environment',
  'profile',
  'bashrc',
  'bash.bashrc',
  'zshenv',
  'zshrc',
  'zprofile',
  'csh.cshrc',
  'csh.login',
  'mavenrc',
  '.bashrc',
  '.bash_profile',
  '.bash_login',
  '.profile',
  '.zshrc',
  '.zshenv',
  '.zprofile',
  '.cshrc',
  '.tcshrc',
  '.mavenrc',
  '.env',
  'config.fish',
]);
const CAPTURE_DIRS = /^etc\/(profile\.d|apt\/apt\.conf\.d|systemd)\//;

/** Whether a layer path (normalised, no leading '/') is a file whose settings the pointer check reads. */
export function isCapturedPath(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1);
  if (!CAPTURE_BASENAMES.has(base) && !CAPTURE_DIRS.test(path)) return false;
  return FILE_RULES.some((rule) => rule.path.test(path));
}

export function filePointers(path: string, text: string): Pointer[] {
  const normalised = path.replace(/^\/+/, '');
  const out: Pointer[] = [];
  for (const rule of FILE_RULES) {
    if (!rule.path.test(normalised)) continue;
    for (const found of rule.parse(text)) {
      let value = found.value;
      // git, npm, pip and shells expand ~ to the home of the file's owner: the directory holding a dotfile.
      if (value.startsWith('~/')) value = posix.join('/', posix.dirname(normalised), value.slice(2));
      out.push({ where: `/${normalised}`, setting: found.setting, value, form: found.form ?? 'file' });
    }
  }
  return out;
}

export type PointerVerdict =
  | { kind: 'pointer-inline' }
  | { kind: 'pointer-to-ca'; file: string }
  | { kind: 'pointer-missing'; file: string }
  | undefined;

export function looksLikeCertText(value: string): boolean {
  return value.includes('-----BEGIN') || /^[A-Za-z0-9+/=\s]{200,}$/.test(value.trim());
}

/** What stands for certificate text in a kept pointer: still judged inline, without the certificate itself. */
const CERT_TEXT_KEPT_AS = '-----BEGIN (certificate text, not kept)';

/**
 * Pointers as they may be kept beyond the scan (layer cache, shard reports): a value that is certificate text is
 * replaced by a marker judged the same, so the CA never travels; the settings' other values are paths.
 */
export function keptPointers(pointers: readonly Pointer[]): Pointer[] {
  return pointers.map((p) => (looksLikeCertText(p.value) ? { ...p, value: CERT_TEXT_KEPT_AS } : p));
}

/**
 * Judges one pointer against the final file system. `caPaths` are the absolute paths whose visible version holds
 * the CA; `cwd` is the image's WorkingDir, against which a relative value resolves.
 */
/** What judging a pointer needs of the image's final file system (the leak check's FinalFs is one). */
export interface FileSystemView {
  resolve(path: string, cwd?: string): { readonly path: string; readonly type: string } | undefined;
  symlinksIn(dir: string): string[];
}

export function judgePointer(p: Pointer, fs: FileSystemView, caPaths: ReadonlySet<string>, cwd = '/'): PointerVerdict {
  if (looksLikeCertText(p.value)) return { kind: 'pointer-inline' };
  const value = p.value.trim();
  if (value === '' || p.form === 'text') return undefined;
  // SSL_CERT_DIR is a list like PATH; the others hold one path, which a ':' split leaves whole.
  for (const path of p.form === 'path-list' ? value.split(':').filter(Boolean) : [value]) {
    const found = fs.resolve(path, cwd);
    if (!found) {
      // The distribution's own bundle path in an image without one: no org CA is involved, and only root could
      // put a file there. Anything else names a file the build had and the image lacks (a secret mount, a temp dir).
      if (isSystemBundlePath(path)) continue;
      return { kind: 'pointer-missing', file: path };
    }
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
