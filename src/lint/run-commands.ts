/**
 * What a RUN's commands do to the stage's file system, one small handler per command (cp, curl, keytool, …), each
 * given the RUN's scope (its file system view, variables and the writes it records) and the parsed call. The
 * interpreter (run.ts) parses the shell and dispatches through COMMANDS; a command not listed is checked only for
 * tool settings that name a CA file.
 */
import { posix } from 'node:path';
import { assignmentPointers } from '../ca-pointers/pointers.js';
import type { FileRecord, NewFile, StageFs } from './filesystem.js';
import { isCaLikeName, isPublicBundleUrl, isTrustPath, isUrl, resolvePath, urlBasename } from './paths.js';
import type { RuleId } from './rules.js';
import type { ContextView } from './context-view.js';
import type { SimpleCommand } from './shell.js';
import { defined } from '../lang/present.js';

/**
 * What one RUN does to the stage's file system, read from its shell text: files written or downloaded (and where),
 * files removed again before the RUN ends, trust stores regenerated, keystores imported into, tool settings that stay
 * in the image, and files that a tool flag proves to be CAs. Nothing is executed.
 */
export interface RunEnv {
  readonly stage: number;
  readonly fs: StageFs;
  readonly vars: ReadonlyMap<string, string>;
  /** ARGs whose value reads as certificate text. */
  readonly caArgs: ReadonlySet<string>;
  stageFs(ref: string): { fs: StageFs; name: string } | undefined;
  readonly context: ContextView | undefined;
  report(record: FileRecord): void;
  finding(rule: RuleId, message: string): void;
  pointer(setting: string, value: string, cwd: string): void;
}

export interface Mount {
  readonly type: string;
  readonly target: string;
  readonly id?: string;
  readonly from?: string;
  readonly source?: string;
  /** For a secret: whether it reads as a CA (by id or target) or lands in a trust path. */
  readonly ca: boolean;
}

export interface Content {
  readonly ca: boolean;
  readonly what: string;
  readonly secret?: string;
  /** A distribution bundle or a public download: never org-CA material by itself. */
  readonly public?: boolean;
  readonly download?: boolean;
}

export const NOTHING: Content = { ca: false, what: 'nothing' };
export const DEBIAN_SOURCES = ['/usr/local/share/ca-certificates', '/usr/share/ca-certificates'];
export const RHEL_SOURCES = ['/etc/pki/ca-trust/source', '/usr/share/pki/ca-trust-source', '/etc/pki/trust/anchors'];

/** What a handler may read and change of the RUN it is part of (run.ts's RunInterpreter). */
export interface RunScope {
  readonly fs: StageFs;
  readonly env: RunEnv;
  /** Variables as the shell has them at this point (ARG/ENV plus assignments and exports of this RUN). */
  readonly local: Map<string, string>;
  readonly script: string;
  cwd(): string;
  setCwd(path: string): void;
  abs(path: string): string;
  mountOf(path: string): Mount | undefined;
  read(path: string): Content;
  write(path: string, content: Content, how: string): void;
  newRecord(file: NewFile): FileRecord;
  provenCa(value: string, evidence: string): void;
  trustUpdate(tool: string, sources: readonly string[], extra?: string[]): void;
  copyFiles(sources: string[], destWord: string, destIsDirHint: boolean, how: string, move: boolean): void;
}

/** One command line, expanded: the command's base name, its words, operands and options, and what its stdin holds. */
export interface CommandCall {
  readonly cmd: string;
  readonly words: readonly string[];
  readonly args: string[];
  readonly ops: string[];
  readonly options: ReadonlyMap<string, string>;
  opt(...names: string[]): string | undefined;
  readonly command: SimpleCommand;
  readonly stdin: Content;
}

/** What the command writes to its standard output, as content (for a pipe or a redirect). */
export type CommandHandler = (s: RunScope, c: CommandCall) => Content;

/** cd */
const cdCommand: CommandHandler = (s, c) => {
  s.setCwd(s.abs(c.ops[0] ?? '/root'));
  return NOTHING;
};

/** export */
const exportCommand: CommandHandler = (s, c) => {
  for (const a of c.args) {
    const eq = a.indexOf('=');
    if (eq === -1) continue;
    s.local.set(a.slice(0, eq), a.slice(eq + 1));
    for (const p of assignmentPointers(a.slice(0, eq), a.slice(eq + 1), ''))
      if (p.form !== 'text') s.provenCa(p.value, `exports ${a.slice(0, eq)}=${a.slice(eq + 1)}`);
  }
  return NOTHING;
};

/** cp, install, rsync, mv */
const cpCommand: CommandHandler = (s, c) => {
  const targetDir = c.opt('-t', '--target-directory');
  if (c.cmd === 'install' && c.options.has('-d')) return NOTHING;
  if (targetDir !== undefined) s.copyFiles(c.ops, targetDir, true, c.cmd === 'mv' ? 'moves' : 'copies', c.cmd === 'mv');
  else if (c.ops.length >= 2)
    s.copyFiles(
      c.ops.slice(0, -1),
      c.ops[c.ops.length - 1]!,
      false,
      c.cmd === 'mv' ? 'moves' : 'copies',
      c.cmd === 'mv',
    );
  return NOTHING;
};

/** rm, unlink */
const rmCommand: CommandHandler = (s, c) => {
  for (const p of c.ops) s.fs.remove(s.abs(p));
  return NOTHING;
};

/** cat */
const catCommand: CommandHandler = (s, c) => {
  const files = c.ops.filter((o) => o !== '-');
  if (!files.length) return c.stdin;
  const parts = files.map((f) => s.read(s.abs(f)));
  const secret = parts.find((p) => p.secret !== undefined)?.secret;
  return {
    ca: parts.some((p) => p.ca),
    what: parts.map((p) => p.what).join(' + '),
    ...defined({ secret }),
    public: parts.every((p) => p.public),
  };
};

/** tee */
const teeCommand: CommandHandler = (s, c) => {
  for (const f of c.ops) s.write(s.abs(f), c.stdin, c.options.has('-a') ? 'appends' : 'writes');
  return c.stdin;
};

/** echo, printf */
const echoCommand: CommandHandler = (s, c) => {
  const raw = c.command.words
    .slice(1)
    .map((w) => w.text)
    .join(' ');
  const caVar = [...raw.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)/g)]
    .map((m) => m[1]!)
    .find((n) => s.env.caArgs.has(n) || (s.local.get(n) ?? '').includes('-----BEGIN'));
  if (raw.includes('-----BEGIN') || caVar)
    return { ca: true, what: caVar ? `the value of ${caVar}` : 'certificate text' };
  return NOTHING;
};

/** wget, curl */
const wgetCommand: CommandHandler = (s, c) => {
  const caFile = c.opt('--cacert', '--ca-certificate');
  if (caFile) s.provenCa(caFile, `passes ${caFile} to ${c.cmd} as its CA file`);
  const url = c.ops.find(isUrl) ?? c.ops.find((o) => /^\$|^[\w.-]+\.[a-z]{2,}\//i.test(o)) ?? c.ops[0];
  if (!url) return NOTHING;
  const name = isUrl(url) ? urlBasename(url) : posix.basename(url);
  const pub = isUrl(url) && isPublicBundleUrl(url);
  const content: Content = {
    ca: !pub && isCaLikeName(name),
    what: `downloads ${url}`,
    download: true,
    public: pub,
  };
  const outFile = c.cmd === 'wget' ? c.opt('-O', '--output-document') : c.opt('-o', '--output');
  if (outFile === '-') return content;
  if (outFile !== undefined) {
    s.write(s.abs(outFile), content, 'downloads');
    return NOTHING;
  }
  if (c.cmd === 'wget' || c.options.has('-O') || c.options.has('--remote-name')) {
    const dir = c.cmd === 'wget' ? c.opt('-P', '--directory-prefix') : undefined;
    s.write(resolvePath(name, dir !== undefined ? s.abs(dir) : s.cwd()), content, 'downloads');
    return NOTHING;
  }
  return content;
};

/** openssl */
const opensslCommand: CommandHandler = (s, c) => {
  const sub = c.ops[0];
  const caFile = c.opt('-CAfile');
  if (caFile) s.provenCa(caFile, `passes ${caFile} to openssl -CAfile`);
  if (sub === 's_client') return { ca: true, what: 'the certificates the server (or an inspecting proxy) presents' };
  if (sub === 'rehash') {
    if (s.fs.caUnder('/etc/ssl/certs').length) s.trustUpdate('openssl rehash', ['/etc/ssl/certs']);
    return NOTHING;
  }
  const input = c.opt('-in');
  const content = input !== undefined ? s.read(s.abs(input)) : c.stdin;
  const output = c.opt('-out');
  if (output !== undefined) {
    s.write(s.abs(output), content, `openssl ${sub ?? ''} writes`);
    return NOTHING;
  }
  return content;
};

/** unzip, tar */
const unzipCommand: CommandHandler = (s, c) => {
  const extracting =
    c.cmd === 'unzip' ||
    c.args.some((a) => (/^-?[a-zA-Z]*x/.test(a) && !a.startsWith('--')) || a === '--extract' || a === '--get');
  if (!extracting) return NOTHING;
  const archive =
    c.cmd === 'unzip' ? c.ops[0] : (c.opt('-f', '--file') ?? c.args.find((a) => /\.(tar|tgz|gz|xz|bz2|zst)$/.test(a)));
  const content = archive && archive !== '-' ? s.read(s.abs(archive)) : c.stdin;
  const dir = s.abs(c.opt('-d', '-C', '--directory') ?? '.');
  if (s.mountOf(dir)) return NOTHING;
  const ca = (content.ca || isTrustPath(dir)) && !content.public;
  s.newRecord({
    path: dir,
    dir: true,
    ca,
    rule: 'OCA102',
    what: `RUN extracts ${archive ?? 'an archive'} into ${dir}`,
    origin: 'write',
  });
  return NOTHING;
};

/** update-ca-certificates */
const updateCaCertificatesCommand: CommandHandler = (s, c) => {
  s.trustUpdate(c.words.join(' '), DEBIAN_SOURCES);
  return NOTHING;
};

/** update-ca-trust */
const updateCaTrustCommand: CommandHandler = (s, c) => {
  s.trustUpdate(c.words.join(' '), RHEL_SOURCES);
  return NOTHING;
};

/** c_rehash */
const cRehashCommand: CommandHandler = (s, c) => {
  if (s.fs.caUnder(c.ops[0] ? s.abs(c.ops[0]) : '/etc/ssl/certs').length)
    s.trustUpdate('c_rehash', [c.ops[0] ? s.abs(c.ops[0]) : '/etc/ssl/certs']);
  return NOTHING;
};

/** trust */
const trustCommand: CommandHandler = (s, c) => {
  if (c.ops[0] !== 'anchor') return NOTHING;
  const file = c.ops[1];
  if (!file) return NOTHING;
  const content = s.read(s.abs(file));
  if (content.public) return NOTHING;
  s.provenCa(file, 'adds it with trust anchor');
  s.trustUpdate('trust anchor', RHEL_SOURCES, [s.abs(file)]);
  return NOTHING;
};

/** keytool */
const keytoolCommand: CommandHandler = (s, c) => {
  if (!c.args.some((a) => /^-import(cert|keystore)?$/.test(a))) return NOTHING;
  const file = c.opt('-file', '-srckeystore');
  const content = file !== undefined ? s.read(s.abs(file)) : c.stdin;
  if (content.public || s.script.includes('/usr/share/ca-certificates/mozilla')) return NOTHING;
  if (file !== undefined) s.provenCa(file, 'imports it into a Java keystore with keytool');
  const store = c.opt('-keystore', '-destkeystore');
  const storePath = store !== undefined ? s.abs(store) : '/$JAVA_HOME/lib/security/cacerts';
  s.newRecord({
    path: storePath,
    dir: false,
    ca: true,
    rule: 'OCA104',
    what: `RUN keytool imports ${file ?? 'a certificate'} into the keystore ${store ?? 'cacerts (-cacerts)'}`,
    origin: 'write',
  });
  return NOTHING;
};

/** certutil */
const certutilCommand: CommandHandler = (s, c) => {
  if (!c.options.has('-A')) return NOTHING;
  const file = c.opt('-i');
  const content = file !== undefined ? s.read(s.abs(file)) : c.stdin;
  if (content.public) return NOTHING;
  if (file !== undefined) s.provenCa(file, 'adds it to an NSS database with certutil -A');
  const db = c.opt('-d');
  s.newRecord({
    path: db !== undefined ? s.abs(db.replace(/^sql:/, '')) : '/root/.pki/nssdb',
    dir: true,
    ca: true,
    rule: 'OCA104',
    what: `RUN certutil -A adds ${file ?? 'a certificate'} to the NSS database ${db ?? '~/.pki/nssdb'}`,
    origin: 'write',
  });
  return NOTHING;
};

export const COMMANDS: Readonly<Record<string, CommandHandler>> = {
  cd: cdCommand,
  export: exportCommand,
  cp: cpCommand,
  install: cpCommand,
  rsync: cpCommand,
  mv: cpCommand,
  rm: rmCommand,
  unlink: rmCommand,
  cat: catCommand,
  tee: teeCommand,
  echo: echoCommand,
  printf: echoCommand,
  wget: wgetCommand,
  curl: wgetCommand,
  openssl: opensslCommand,
  unzip: unzipCommand,
  tar: unzipCommand,
  'update-ca-certificates': updateCaCertificatesCommand,
  'update-ca-trust': updateCaTrustCommand,
  c_rehash: cRehashCommand,
  trust: trustCommand,
  keytool: keytoolCommand,
  certutil: certutilCommand,
};
