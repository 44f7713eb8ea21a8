import { posix } from 'node:path';
import { assignmentPointers } from '../ca-pointers/pointers.js';
import type { Instr } from './dockerfile.js';
import { expand } from './expand.js';
import { fileRecord, mapPath, type FileRecord, type NewFile, type StageFs } from './filesystem.js';
import {
  hasCertExtension,
  hasGlob,
  isCaLikeName,
  isKnownDirectory,
  isSystemBundlePath,
  isTrustPath,
  isUnder,
  REGENERATED_BY_UPDATE,
  resolvePath,
} from './paths.js';
import type { RuleId } from './rules.js';
import { COMMANDS, NOTHING, type Content, type Mount, type RunEnv, type RunScope } from './run-commands.js';

export type { RunEnv };
import { parseShell, type SimpleCommand, type Word } from './shell.js';
import { namedCaFiles } from './tool-ca-settings.js';
import { defined } from '../lang/present.js';

function csv(value: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const key = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    out.set(
      key,
      eq === -1
        ? 'true'
        : part
            .slice(eq + 1)
            .trim()
            .replace(/^["']|["']$/g, ''),
    );
  }
  return out;
}

function secretLooksCa(id: string, target: string): boolean {
  const words = `${id} ${posix.basename(target)}`
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  return words.some((w) =>
    [
      'ca',
      'cas',
      'cacert',
      'cacerts',
      'cert',
      'certs',
      'certificate',
      'certificates',
      'pem',
      'crt',
      'root',
      'rootca',
      'bundle',
      'zscaler',
      'netskope',
      'trust',
      'truststore',
      'proxy',
      'mitm',
    ].includes(w),
  );
}

function mountsOf(instr: Instr, cwd: string, vars: ReadonlyMap<string, string>): Mount[] {
  return instr.flags
    .filter((f) => f.name === 'mount')
    .map((f) => {
      const o = csv(expand(f.value, vars));
      const type = o.get('type') ?? 'bind';
      const id = o.get('id');
      const targetRaw =
        o.get('target') ??
        o.get('dst') ??
        o.get('destination') ??
        (type === 'secret' ? `/run/secrets/${id ?? ''}` : undefined);
      const target = targetRaw ? resolvePath(targetRaw, cwd) : `/run/${type}`;
      const source = o.get('source') ?? o.get('src');
      return {
        type,
        target,
        ...defined({ id, from: o.get('from'), source }),
        ca: type === 'secret' && (secretLooksCa(id ?? '', target) || isTrustPath(target)),
      };
    });
}

/** The shell text of a RUN: its command line, or the here-document it runs (`RUN <<EOF`, `RUN bash <<EOF`). */
function scriptOf(instr: Instr): string {
  if (instr.json) {
    const w = instr.words;
    return w.length >= 3 && /(^|\/)(ba|da|a)?sh$/.test(w[0]!) && /^-[a-z]*c$/.test(w[1]!)
      ? w[2]!
      : w.map((x) => `'${x.replace(/'/g, "'\\''")}'`).join(' ');
  }
  if (!instr.heredocs.length) return instr.rest;
  const header = instr.rest.replace(/<<-?(["']?)([A-Za-z0-9_.-]+)\1/g, '').trim();
  if (header === '' || /^(\/usr)?(\/bin\/)?(ba|da|a)?sh(\s+-[a-z]+)*$/.test(header))
    return instr.heredocs.map((h) => h.body).join('\n');
  return header;
}

/** Options that take a value, per command, so that the value is not read as a file. */
const OPTIONS_WITH_VALUE: Record<string, string[]> = {
  cp: ['-t', '-S', '--target-directory', '--suffix'],
  install: ['-m', '-o', '-g', '-t', '-S', '--mode', '--owner', '--group', '--target-directory', '--suffix'],
  mv: ['-t', '-S', '--target-directory', '--suffix'],
  curl: [
    '-o',
    '-H',
    '-d',
    '-u',
    '-x',
    '-X',
    '-A',
    '-e',
    '-w',
    '-m',
    '-T',
    '-b',
    '-c',
    '-E',
    '--cacert',
    '--capath',
    '--cert',
    '--key',
    '--connect-timeout',
    '--max-time',
    '--retry',
    '--retry-delay',
    '--retry-max-time',
    '--resolve',
    '--proxy',
    '--data',
    '--data-raw',
    '--data-binary',
    '--header',
    '--user',
    '--output',
    '--url',
    '--user-agent',
    '--referer',
    '--write-out',
    '--upload-file',
    '--cookie',
    '--cookie-jar',
    '--proto',
    '--proto-redir',
    '--limit-rate',
    '--tlsv1.2',
  ],
  wget: [
    '-O',
    '-P',
    '-o',
    '-a',
    '-t',
    '-T',
    '-U',
    '-e',
    '--output-document',
    '--directory-prefix',
    '--tries',
    '--timeout',
    '--user-agent',
    '--header',
    '--user',
    '--password',
    '--ca-certificate',
    '--ca-directory',
  ],
  keytool: [
    '-file',
    '-keystore',
    '-alias',
    '-storepass',
    '-keypass',
    '-srckeystore',
    '-destkeystore',
    '-srcstorepass',
    '-deststorepass',
    '-storetype',
    '-srcstoretype',
    '-deststoretype',
    '-providername',
    '-provider',
    '-providerclass',
    '-providerpath',
    '-keyalg',
    '-keysize',
    '-dname',
    '-validity',
    '-ext',
    '-sigalg',
    '-startdate',
    '-srcalias',
    '-destalias',
  ],
  unzip: ['-d', '-x'],
  tar: ['-f', '-C', '--file', '--directory', '-T', '-X', '--exclude'],
  certutil: ['-d', '-n', '-t', '-i', '-f'],
  openssl: [
    '-in',
    '-out',
    '-inform',
    '-outform',
    '-connect',
    '-servername',
    '-CAfile',
    '-CApath',
    '-verify',
    '-certfile',
    '-passin',
    '-name',
  ],
};

function operands(cmd: string, args: readonly string[]): { operands: string[]; options: Map<string, string> } {
  const withValue = OPTIONS_WITH_VALUE[cmd] ?? [];
  const out: string[] = [];
  const options = new Map<string, string>();
  let afterDoubleDash = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (afterDoubleDash || !a.startsWith('-') || a === '-') {
      out.push(a);
      continue;
    }
    if (a === '--') {
      afterDoubleDash = true;
      continue;
    }
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq !== -1) {
      options.set(a.slice(0, eq), a.slice(eq + 1));
      continue;
    }
    if (withValue.includes(a)) {
      options.set(a, args[i + 1] ?? '');
      i++;
      continue;
    }
    // -ofile / -Pdir (single-letter option glued to its value)
    const glued = withValue.find(
      (o) => /^-[A-Za-z]$/.test(o) && a.startsWith(o) && a.length > 2 && !a.startsWith('--'),
    );
    if (glued && (cmd === 'curl' || cmd === 'wget' || cmd === 'tar')) {
      options.set(glued, a.slice(2));
      continue;
    }
    options.set(a, 'true');
  }
  return { operands: out, options };
}

export function interpretRun(instr: Instr, env: RunEnv): string[] {
  const run = new RunInterpreter(instr, env);
  run.runScript();
  return run.finish();
}

/**
 * One RUN, interpreted: the shell's variables and working directory as the script goes, the mounts it has, and the
 * files it creates. It is the RunScope the command handlers (run-commands.ts) are given.
 */
class RunInterpreter implements RunScope {
  readonly fs: StageFs;
  readonly local: Map<string, string>;
  readonly script: string;
  private cwdPath: string;
  private readonly mounts: Mount[];
  private readonly created: FileRecord[] = [];

  constructor(
    private readonly instr: Instr,
    readonly env: RunEnv,
  ) {
    this.fs = env.fs;
    this.cwdPath = env.fs.workdir;
    this.local = new Map(env.vars);
    this.mounts = mountsOf(instr, this.cwdPath, env.vars);
    this.script = scriptOf(instr);
  }

  cwd(): string {
    return this.cwdPath;
  }

  setCwd(path: string): void {
    this.cwdPath = path;
  }

  private where(): string {
    return `line ${this.instr.line}`;
  }

  /** Each pipeline's commands in order; a command's output is the next one's stdin unless it was redirected. */
  runScript(): void {
    for (const pipeline of parseShell(this.script)) {
      let stdin: Content = NOTHING;
      for (const command of pipeline) {
        const out = this.runCommand(command, stdin);
        for (const r of command.redirects) {
          if (r.op === '<') continue;
          this.write(this.abs(this.text(r.target)), out, r.op === '>>' ? 'appends' : 'writes');
        }
        stdin = command.redirects.some((r) => r.op !== '<') ? NOTHING : out;
      }
    }
  }

  /** The RUN's layer: what it created and did not remove again; the secrets it mounted. */
  finish(): string[] {
    for (const r of this.created) {
      r.pending = false;
      // A directory record that got a hole punched is a new object for the same path and line.
      const still = this.fs.records.find(
        (x) => x === r || (x.path === r.path && x.line === r.line && x.stage === r.stage),
      );
      if (still) {
        still.pending = false;
        if (still.ca) this.env.report(still);
      }
    }
    return this.mounts.filter((m) => m.type === 'secret').map((m) => m.target);
  }

  text(w: Word): string {
    return w.literal ? w.text : expand(w.text, this.local);
  }
  abs(p: string): string {
    return resolvePath(p, this.cwdPath);
  }
  mountOf(path: string): Mount | undefined {
    return this.mounts.find((m) => isUnder(path, m.target));
  }
  unresolved(p: string): boolean {
    return /\$|`|\{\}/.test(p);
  }

  newRecord(file: NewFile): FileRecord {
    const r = fileRecord(file, this.instr.line, this.env.stage, true);
    this.fs.add(r);
    this.created.push(r);
    return r;
  }

  read(path: string): Content {
    const m = this.mountOf(path);
    if (m) {
      if (m.type === 'secret')
        return { ca: m.ca, what: `the secret '${m.id ?? posix.basename(m.target)}'`, secret: m.id ?? m.target };
      if (m.type === 'bind') {
        const inner = resolvePath(posix.join(m.source ?? '.', posix.relative(m.target, path)), '/');
        if (m.from !== undefined) {
          const s = this.env.stageFs(m.from);
          if (!s) return { ca: isCaLikeName(path), what: `${inner} of '${m.from}'` };
          const r = s.fs.lookup(inner) ?? s.fs.covered(inner).find((x) => x.ca);
          return r
            ? { ca: r.ca, what: `${inner} of stage '${s.name}' (${r.what})` }
            : { ca: false, public: isSystemBundlePath(inner), what: `${inner} of stage '${s.name}'` };
        }
        const cls = this.env.context?.classify(inner.slice(1));
        return cls
          ? { ca: cls.ca, what: `'${inner.slice(1)}' of the build context (${cls.description})` }
          : { ca: isCaLikeName(inner), what: `'${inner.slice(1)}' of the build context` };
      }
      return NOTHING;
    }
    const publicPath =
      isSystemBundlePath(path) ||
      isUnder(path, '/usr/share/ca-certificates/mozilla') ||
      (isUnder(path, '/etc/ssl/certs') && !this.fs.caUnder('/etc/ssl/certs').length);
    if (hasGlob(path)) {
      const recs = this.fs.covered(path);
      const ca = recs.some((r) => r.ca);
      return {
        ca,
        what: ca
          ? recs
              .filter((r) => r.ca)
              .map((r) => r.path)
              .join(', ')
          : path,
        public: publicPath && !ca,
      };
    }
    const r = this.fs.lookup(path);
    if (r && (r.ca || r.path === path)) return { ca: r.ca, what: r.path === path ? path : `${path} (${r.what})` };
    if (publicPath) return { ca: false, public: true, what: path };
    return { ca: isCaLikeName(path) && !this.unresolved(path), what: path };
  }

  write(path: string, content: Content, how: string): void {
    if (this.mountOf(path) || path === '/dev/null' || path.startsWith('/dev/') || path.startsWith('/proc/')) return;
    // Output of unknown content (a `{ …; } > file` group, grep, sed) counts only where a certificate file would go.
    const certish =
      hasCertExtension(path) || isCaLikeName(path) || posix.basename(path) === 'cacerts' || isSystemBundlePath(path);
    const trust = isTrustPath(path) && !content.public && (content !== NOTHING || certish);
    const ca = !content.public && (content.ca || trust || (content.download === true && isCaLikeName(path)));
    const rule: RuleId = content.secret !== undefined ? 'OCA105' : 'OCA102';
    this.newRecord({
      path,
      dir: false,
      ca,
      rule,
      what: `RUN ${how} ${content.what === 'nothing' ? '' : `${content.what} `}to ${path}`.replace(/\s+to /, ' to '),
      origin: content.secret !== undefined ? 'secret' : content.download ? 'download' : 'write',
    });
  }

  /** A tool flag or setting proves `value` names a CA: the file (if it is in the image) is CA material. */
  provenCa(value: string, evidence: string): void {
    if (!value || this.unresolved(value) || /^[a-z]+:\/\//i.test(value) || value.includes('-----BEGIN')) return;
    const path = this.abs(value);
    if (this.mountOf(path) || isSystemBundlePath(path) || isUnder(path, '/usr/share/ca-certificates/mozilla')) return;
    const r = this.fs.lookup(path);
    if (r && r.path === path) {
      if (!r.ca) {
        r.ca = true;
        r.evidence = `${this.where()} ${evidence}`;
      }
      if (!r.pending) this.env.report(r);
      return;
    }
    if (r?.dir) {
      const child: FileRecord = {
        ...r,
        path,
        dir: false,
        ca: true,
        what: `${r.what}, which includes ${path}`,
        evidence: `${this.where()} ${evidence}`,
        removed: [],
        reported: false,
      };
      this.fs.add(child);
      if (child.pending) this.created.push(child);
      else this.env.report(child);
      return;
    }
    if (isUnder(path, '/etc/ssl/certs') && !this.fs.caUnder('/etc/ssl/certs').length) return;
    this.env.finding(
      'OCA110',
      `RUN ${evidence.replace(/\bit\b/, path)}: the file is not a mount and no COPY/ADD here brought it, so it is in the image (from the base image or an earlier step), and the tool treats it as a CA`,
    );
    this.newRecord({
      path,
      dir: false,
      ca: true,
      rule: 'OCA110',
      what: `${path} (used as a CA at ${this.where()})`,
      origin: 'write',
    }).reported = true;
  }

  trustUpdate(tool: string, sources: readonly string[], extra: string[] = []): void {
    for (const p of REGENERATED_BY_UPDATE) {
      const r = this.fs.records.find((x) => x.path === p);
      if (r && (r.origin === 'regenerated' || !r.dir)) this.fs.remove(p, true);
    }
    const added = [
      ...new Set([
        ...sources.flatMap((d) => this.fs.caUnder(d).map((r) => r.path)),
        ...this.mounts
          .filter((m) => sources.some((d) => isUnder(m.target, d)) && (m.type === 'secret' || this.read(m.target).ca))
          .map((m) => `${m.target} (a ${m.type} mount)`),
        ...extra,
      ]),
    ];
    if (!added.length) return;
    const what = `RUN ${tool} regenerates the system trust store (${REGENERATED_BY_UPDATE[0]} and the other bundles) with ${added.slice(0, 3).join(', ')}${added.length > 3 ? ` and ${added.length - 3} more` : ''}`;
    for (const p of REGENERATED_BY_UPDATE)
      this.newRecord({
        path: p,
        dir: !/\.(crt|pem)$|cacerts$/.test(p),
        ca: true,
        rule: 'OCA103',
        what,
        origin: 'regenerated',
      });
  }

  /** Copies each source to dest (cp, mv, install, rsync), carrying what the model knows of directories. */
  copyFiles(sources: string[], destWord: string, destIsDirHint: boolean, how: string, move: boolean): void {
    const dest = this.abs(destWord);
    const known = this.fs.records.find((r) => r.path === dest);
    const destIsDir =
      destIsDirHint || destWord.endsWith('/') || sources.length > 1 || isKnownDirectory(dest) || Boolean(known?.dir);
    for (const s of sources) {
      const src = this.abs(s);
      const under = this.mountOf(src) ? [] : this.fs.records.filter((r) => r.path !== src && isUnder(r.path, src));
      if (under.length) {
        for (const r of under) {
          const target = mapPath(r, src, destIsDir ? posix.join(dest, posix.basename(src)) : dest, false);
          this.newRecord({
            path: target,
            dir: r.dir,
            ca: r.ca || (isTrustPath(target) && !isSystemBundlePath(r.path)),
            rule: 'OCA102',
            what: `RUN ${how} ${r.path} (${r.what}) to ${target}`,
            origin: 'write',
          });
        }
      }
      const target = destIsDir && !hasGlob(src) ? posix.join(dest, posix.basename(src)) : hasGlob(src) ? dest : dest;
      const content = this.read(src);
      if (!under.length || content.ca) this.write(target, content, how);
      if (move) this.fs.remove(src);
    }
  }

  private runCommand(command: SimpleCommand, stdin: Content): Content {
    for (const a of command.assigns) {
      const t = this.text(a);
      const eq = t.indexOf('=');
      const name = t.slice(0, eq);
      const value = t.slice(eq + 1);
      if (command.words.length === 0) this.local.set(name, value);
      for (const p of assignmentPointers(name, value, ''))
        if (p.form !== 'text')
          this.provenCa(p.value, `sets ${name}=${value} for ${command.words[0]?.text ?? 'the shell'}`);
    }
    if (!command.words.length) return NOTHING;
    const words = command.words.map((w) => this.text(w));
    const cmd = posix.basename(words[0]!);
    const args = words.slice(1);
    for (const r of command.redirects) if (r.op === '<') stdin = this.read(this.abs(this.text(r.target)));
    const { operands: ops, options } = operands(cmd, args);
    const opt = (...names: string[]): string | undefined =>
      names.map((n) => options.get(n)).find((v) => v !== undefined);

    const handler = COMMANDS[cmd];
    if (!handler) {
      this.toolSettings(cmd, args);
      return NOTHING;
    }
    return handler(this, { cmd, words, args, ops, options, opt, command, stdin });
  }

  /** npm/yarn/pnpm/pip/git/poetry/conda/bundler flags and settings that name a CA file. */
  private toolSettings(cmd: string, args: string[]): void {
    for (const named of namedCaFiles(cmd, args)) {
      if (named.how === 'flag') {
        this.provenCa(named.value, named.label);
        continue;
      }
      this.provenCa(named.value, `sets ${named.label} to it`);
      this.env.pointer(named.label, named.value, this.cwdPath);
    }
  }
}
