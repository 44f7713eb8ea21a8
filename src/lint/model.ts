import { posix } from 'node:path';
import { assignmentPointers, isPointerVariable } from '../ca-pointers/pointers.js';
import { keyValues, type Instr, type ParsedDockerfile, type Stage } from './dockerfile.js';
import { expand } from './expand.js';
import { fileRecord, mapPath, StageFs, type FileRecord, type NewFile } from './filesystem.js';
import {
  hasGlob,
  isCaLikeName,
  isKnownDirectory,
  isSystemBundlePath,
  isTrustPath,
  isUrl,
  resolvePath,
  urlBasename,
} from './paths.js';
import type { ContextView } from './context-view.js';
import type { RuleId } from './rules.js';
import { interpretRun, type RunEnv } from './run.js';
import { defined, present } from '../lang/present.js';

/**
 * The model: every stage's file system, instruction by instruction, as far as the Dockerfile alone (plus, with
 * --context, the build context) tells what holds CA material. A stage starts from its FROM stage's final state (or
 * empty for an image); COPY --from carries exactly the records its SRC covers. Findings are raw here: lint.ts decides
 * which stages reach the release image.
 */
export interface RawFinding {
  readonly rule: RuleId;
  readonly stage: number;
  readonly line: number;
  readonly message: string;
}

/** A setting that stays in the image and names a CA file: ENV, or a tool's config written by RUN. */
export interface Pointer {
  readonly stage: number;
  readonly line: number;
  readonly setting: string;
  readonly value: string;
  readonly cwd: string;
  readonly via: 'env' | 'config';
}

export interface ModelOptions {
  readonly context?: ContextView;
  readonly buildArgs?: ReadonlyMap<string, string>;
}

export interface StageModel {
  readonly stage: Stage;
  /** The stage it is built FROM, when that is a stage of this Dockerfile. */
  readonly parent: number | undefined;
  readonly base: string;
  readonly fs: StageFs;
  /** Secret mount targets of its RUNs (a pointer at one names a file absent at run time). */
  readonly secretTargets: readonly string[];
}

export interface Model {
  readonly stages: readonly StageModel[];
  readonly findings: readonly RawFinding[];
  readonly pointers: readonly Pointer[];
}

/** Names of ARGs that carry certificate text (ZSCALER_CERT, ORG_CA, CA_PEM), not a flag, URL or path about one. */
export function isCaContentArg(name: string, value: string | undefined): boolean {
  if (value !== undefined && value.includes('-----BEGIN')) return true;
  // NODE_EXTRA_CA_CERTS, SSL_CERT_FILE…: the registry's variables hold paths; so does any value that looks like one.
  if (isPointerVariable(name) || (value !== undefined && /^[/$~.]/.test(value.trim()))) return false;
  const words = name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  if (
    !words.some((w) =>
      ['ca', 'cert', 'certs', 'certificate', 'pem', 'cacert', 'cacerts', 'bundle', 'rootca', 'crt'].includes(w),
    )
  )
    return false;
  if (
    words.some((w) =>
      [
        'url',
        'uri',
        'path',
        'file',
        'dir',
        'name',
        'home',
        'location',
        'id',
        'no',
        'add',
        'import',
        'use',
        'enable',
        'enabled',
        'install',
        'skip',
        'verify',
        'check',
        'type',
        'version',
        'pass',
        'password',
        'alias',
        'host',
      ].includes(w),
    )
  )
    return false;
  return !(value !== undefined && /^(true|false|yes|no|0|1|)$/i.test(value.trim()));
}

export function buildModel(file: ParsedDockerfile, options: ModelOptions = {}): Model {
  const findings: RawFinding[] = [];
  const pointers: Pointer[] = [];
  const stageModels: StageModel[] = [];
  const report = (r: FileRecord): void => {
    if (r.reported || !r.ca) return;
    r.reported = true;
    findings.push({
      rule: r.rule,
      stage: r.stage,
      line: r.line,
      message: `${r.what}${r.evidence ? `; ${r.evidence}` : ''}.`,
    });
  };
  const globalArgs = new Map<string, string>();
  for (const instr of file.globalArgs) {
    for (const [name, value] of keyValues(instr)) {
      const v = options.buildArgs?.get(name) ?? (value !== undefined ? expand(value, globalArgs) : undefined);
      if (v !== undefined) globalArgs.set(name, v);
    }
  }
  const stageByRef = (ref: string, before: number): number | undefined => {
    const lower = ref.toLowerCase();
    const named = stageModels.findIndex((s, i) => i < before && s.stage.name === lower);
    if (named !== -1) return named;
    return /^\d+$/.test(ref) && Number(ref) < before ? Number(ref) : undefined;
  };

  for (const stage of file.stages) {
    const base = expand(stage.base, globalArgs);
    const parent = stageByRef(base, stage.index);
    const fs = parent !== undefined ? stageModels[parent]!.fs.fork() : new StageFs();
    const args = new Map<string, string>();
    const caArgs = new Set<string>();
    const secretTargets: string[] = [];
    const vars = (): Map<string, string> => new Map([...args, ...fs.env]);
    const stageName = stage.name ?? String(stage.index);
    const instructions = stage.instructions;
    for (let i = 0; i < instructions.length; i++) {
      const instr = instructions[i]!;
      inlineCertificates(instr, stage.index, findings);
      switch (instr.keyword) {
        case 'ARG':
          for (const [name, value] of keyValues(instr)) {
            const v =
              options.buildArgs?.get(name) ?? (value !== undefined ? expand(value, vars()) : globalArgs.get(name));
            if (v !== undefined) args.set(name, v);
            if (isCaContentArg(name, value)) {
              caArgs.add(name);
              if (instructions.slice(i + 1).some((later) => later.keyword === 'RUN')) {
                findings.push({
                  rule: 'OCA107',
                  stage: stage.index,
                  line: instr.line,
                  message: `ARG ${name} reads as certificate text; its value is recorded in the history of every later RUN of stage '${stageName}'`,
                });
              }
            }
          }
          break;
        case 'ENV':
          for (const [name, value] of keyValues(instr)) {
            const v = expand(value ?? '', vars());
            fs.env.set(name, v);
            // The leak check's own registry: the same variables, JVM trustStore options and spellings it judges.
            for (const p of assignmentPointers(name, v, ''))
              pointers.push({
                stage: stage.index,
                line: instr.line,
                setting: p.setting,
                value: p.value,
                cwd: fs.workdir,
                via: 'env',
              });
          }
          break;
        case 'WORKDIR':
          fs.workdir = resolvePath(expand(instr.words.join(' '), vars()), fs.workdir);
          break;
        case 'COPY':
        case 'ADD':
          copy(instr, stage.index, fs, vars(), stageModels, stageByRef, options.context, report);
          break;
        case 'RUN': {
          const env: RunEnv = {
            stage: stage.index,
            fs,
            vars: vars(),
            caArgs,
            stageFs: (ref) => {
              const s = stageByRef(ref, stage.index);
              return s !== undefined
                ? { fs: stageModels[s]!.fs, name: stageModels[s]!.stage.name ?? String(s) }
                : undefined;
            },
            context: options.context,
            report,
            finding: (rule, message) => findings.push({ rule, stage: stage.index, line: instr.line, message }),
            pointer: (setting, value, cwd) =>
              pointers.push({ stage: stage.index, line: instr.line, setting, value, cwd, via: 'config' }),
          };
          secretTargets.push(...interpretRun(instr, env));
          break;
        }
        default:
          break;
      }
    }
    stageModels.push({ stage, parent, base, fs, secretTargets });
  }
  return { stages: stageModels, findings: dedupe(findings), pointers };
}

function dedupe(findings: RawFinding[]): RawFinding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.rule}|${f.stage}|${f.line}|${f.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function inlineCertificates(instr: Instr, stage: number, findings: RawFinding[]): void {
  const text = [instr.rest, ...instr.heredocs.map((h) => h.body)].join('\n');
  if (/-----BEGIN (TRUSTED )?CERTIFICATE-----/.test(text)) {
    findings.push({
      rule: 'OCA108',
      stage,
      line: instr.line,
      message: `${instr.keyword} holds certificate text written inline in the Dockerfile`,
    });
  }
}

function flag(instr: Instr, name: string): string | undefined {
  return instr.flags.find((f) => f.name === name)?.value;
}

/** COPY and ADD: sources from the context, a URL, another stage, or an image; destination resolved against WORKDIR. */
/** Adds the files an instruction makes to its stage's file system, and reports each. */
function placer(instr: Instr, stage: number, fs: StageFs, report: (r: FileRecord) => void): (file: NewFile) => void {
  return (file) => {
    const r = fileRecord(file, instr.line, stage);
    fs.add(r);
    report(r);
  };
}

function copy(
  instr: Instr,
  stage: number,
  fs: StageFs,
  vars: Map<string, string>,
  stageModels: readonly StageModel[],
  stageByRef: (ref: string, before: number) => number | undefined,
  context: ContextView | undefined,
  report: (r: FileRecord) => void,
): void {
  const heredocNames = new Set(instr.heredocs.map((h) => h.name));
  const words = instr.words.map((w) => expand(w, vars));
  if (words.length < 2 && !instr.heredocs.length) return;
  const destWord = words[words.length - 1]!;
  const sources = words.slice(0, -1).map((w) => w.replace(/^<<-?["']?([^"']+)["']?$/, '<<$1'));
  const dest = resolvePath(destWord, fs.workdir);
  const destIsDir =
    destWord.endsWith('/') || destWord === '.' || sources.length > 1 || sources.some(hasGlob) || isKnownDirectory(dest);
  const from = flag(instr, 'from');
  const kw = instr.keyword;
  const fromStage = from !== undefined ? stageByRef(expand(from, vars), stage) : undefined;
  const put = placer(instr, stage, fs, report);

  for (const source of sources) {
    const heredoc = source.startsWith('<<')
      ? instr.heredocs.find((h) => h.name === source.slice(2) || heredocNames.has(source.slice(2)))
      : undefined;
    if (heredoc) {
      const target = destIsDir ? posix.join(dest, heredoc.name) : dest;
      const ca = heredoc.body.includes('-----BEGIN');
      put({
        path: target,
        dir: false,
        ca: ca || isTrustPath(target),
        rule: 'OCA101',
        what: `${kw} writes a here-document to ${target}`,
        origin: 'inline',
      });
      continue;
    }
    if (fromStage !== undefined) {
      const src = stageModels[fromStage]!;
      const srcName = src.stage.name ?? String(fromStage);
      const srcPath = resolvePath(source, '/');
      for (const r of src.fs.covered(srcPath)) {
        const target = mapPath(r, srcPath, dest, destIsDir);
        const wholeDir = r.dir && (r.path === srcPath || !posix.relative(srcPath, r.path).startsWith('..'));
        put({
          path: target,
          dir: wholeDir,
          ca: r.ca,
          rule: r.ca ? 'OCA106' : r.rule,
          what: `COPY --from=${srcName} ${source} brings ${r.path} of stage '${srcName}' to ${target}: ${r.what} (line ${r.line})`,
          origin: 'stage',
          ...defined({ contextDir: wholeDir ? r.contextDir : undefined }),
          ...present({ evidence: r.evidence }),
        });
      }
      continue;
    }
    if (from !== undefined) {
      // An image or a named build context: nothing of this Dockerfile's stages, so only names and destinations tell.
      const srcPath = resolvePath(source, '/');
      const target = destIsDir ? posix.join(dest, posix.basename(srcPath)) : dest;
      const publicBundle =
        isSystemBundlePath(srcPath) ||
        srcPath.startsWith('/etc/ssl/certs') ||
        srcPath.startsWith('/usr/share/ca-certificates');
      const ca = !publicBundle && (isCaLikeName(srcPath) || (isTrustPath(target) && !isSystemBundlePath(target)));
      put({
        path: target,
        dir: false,
        ca,
        rule: 'OCA101',
        what: `${kw} --from=${from} puts ${source} at ${target}`,
        origin: 'external',
      });
      continue;
    }
    if (kw === 'ADD' && isUrl(source)) {
      const name = urlBasename(source);
      const target = destIsDir ? posix.join(dest, name) : dest;
      const ca = isCaLikeName(name) || isCaLikeName(target) || isTrustPath(target);
      put({
        path: target,
        dir: false,
        ca,
        rule: 'OCA101',
        what: `ADD downloads ${source} to ${target}`,
        origin: 'download',
      });
      continue;
    }
    copyFromContext(instr, stage, fs, source, dest, destIsDir, context, report);
  }
}

function contextRelative(source: string): string {
  const n = posix.normalize(`/${source}`).replace(/\/+$/, '');
  return n === '' || n === '/' ? '.' : n.slice(1);
}

function copyFromContext(
  instr: Instr,
  stage: number,
  fs: StageFs,
  source: string,
  dest: string,
  destIsDir: boolean,
  context: ContextView | undefined,
  report: (r: FileRecord) => void,
): void {
  const kw = instr.keyword;
  const rel = contextRelative(source);
  const put = placer(instr, stage, fs, report);
  const known = context?.match(rel);
  if (known) {
    // Each file the source brings, parsed: only certificates that count (CAs, or the org CA's family) are findings.
    const baseDir = known.dir ? rel : posix.dirname(rel);
    if (known.dir)
      fs.add(
        fileRecord(
          {
            path: dest,
            dir: true,
            ca: false,
            rule: 'OCA101',
            what: `${kw} ${source} copies the build context directory '${rel}' to ${dest}`,
            origin: 'context',
            contextDir: rel,
          },
          instr.line,
          stage,
        ),
      );
    for (const file of known.files) {
      const target = known.dir
        ? posix.join(dest, baseDir === '.' ? file : posix.relative(baseDir, file))
        : destIsDir
          ? posix.join(dest, posix.basename(file))
          : dest;
      const cls = context!.classify(file);
      if (!cls && known.dir) continue;
      put({
        path: target,
        dir: false,
        ca: cls?.ca ?? false,
        rule: 'OCA101',
        what: `${kw} puts '${file}' from the build context at ${target}${cls ? ` (${cls.description})` : ''}`,
        origin: 'context',
      });
    }
    return;
  }
  // No context to read: judge by names and destinations.
  const isDir = !hasGlob(rel) && (rel === '.' || source.endsWith('/') || posix.extname(rel) === '');
  if (hasGlob(rel) || isDir) {
    const ca = isTrustPath(dest);
    put({
      path: dest,
      dir: true,
      ca,
      rule: 'OCA101',
      what: `${kw} ${source} copies ${hasGlob(rel) ? 'the matching files' : `the build context${rel === '.' ? '' : ` directory '${rel}'`}`} into ${ca ? 'the trust path ' : ''}${dest}`,
      origin: 'context',
      ...present({ contextDir: isDir ? rel : undefined }),
    });
    return;
  }
  const target = destIsDir ? posix.join(dest, posix.basename(rel)) : dest;
  const ca = isCaLikeName(rel) || isCaLikeName(target) || isTrustPath(target);
  put({
    path: target,
    dir: false,
    ca,
    rule: 'OCA101',
    what: `${kw} puts '${rel}' from the build context at ${target}`,
    origin: 'context',
  });
}
