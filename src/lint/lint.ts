import { isUnder, isSystemBundlePath, resolvePath } from './paths.js';
import { parseDockerfile, type ParsedDockerfile } from './dockerfile.js';
import { buildModel, type Model, type Pointer, type RawFinding } from './model.js';
import type { ContextView } from './context-view.js';
import { findRule, ruleById, RULES, type RuleId } from './rules.js';
import { looksLikeCertText } from '../ca-pointers/pointers.js';
import { present } from '../lang/present.js';

/**
 * `org-ca lint`: reads a Dockerfile (and optionally its build context), models what each stage's file system holds,
 * and reports what would put an org CA into the release image. Findings in stages the release image does not contain
 * are information: they matter only for a pushed build cache or builder target.
 */
export type Severity = 'error' | 'info';

export interface LintFinding {
  readonly rule: RuleId;
  readonly name: string;
  /** 1-based line of the instruction. */
  readonly line: number;
  readonly stage: string;
  /** Whether the instruction's layer is part of the release image (the target's FROM chain). */
  readonly inRelease: boolean;
  readonly severity: Severity;
  readonly message: string;
  readonly fix: string;
  readonly ignored?: { readonly by: 'inline' | 'option'; readonly reason: string };
}

export interface LintResult {
  readonly target: string;
  readonly stages: readonly { readonly name: string; readonly inRelease: boolean }[];
  readonly findings: readonly LintFinding[];
  /** Whether any error finding is left after suppressions. */
  readonly failed: boolean;
  readonly notes: readonly string[];
}

export interface LintOptions {
  /** The release stage (name or index); default the last stage. */
  readonly target?: string;
  readonly context?: ContextView;
  /** Rules to ignore (ids or names), like hadolint --ignore. */
  readonly ignore?: readonly string[];
  readonly buildArgs?: ReadonlyMap<string, string>;
}

export class LintError extends Error {
  override readonly name = 'LintError';
}

export const CACHE_NOTE =
  'Findings marked info are in stages the release image does not contain: they matter only if the build cache (--cache-to mode=max, kaniko --cache) or that stage is pushed.';

const INLINE_IGNORE = /^\s*org-ca\s+ignore=([A-Za-z0-9_,-]+)\s*(.*)$/;

/** `# org-ca ignore=OCA101,copy-ca-file reason` applies to the next instruction, as hadolint's inline ignores do. */
function inlineIgnores(file: ParsedDockerfile, notes: string[]): Map<number, { rules: Set<RuleId>; reason: string }> {
  const out = new Map<number, { rules: Set<RuleId>; reason: string }>();
  for (const [line, text] of file.comments) {
    const m = INLINE_IGNORE.exec(text);
    if (!m) continue;
    const next = file.instructionLines.find((l) => l > line);
    if (next === undefined) continue;
    const rules = new Set<RuleId>();
    for (const name of m[1]!.split(',').filter(Boolean)) {
      const rule = findRule(name);
      if (rule) rules.add(rule.id);
      else
        notes.push(
          `line ${line}: '${name}' in an org-ca ignore comment is not a rule (expected one of ${RULES.map((r) => r.id).join(', ')} or their names); it ignores nothing.`,
        );
    }
    const entry = out.get(next) ?? { rules: new Set<RuleId>(), reason: m[2]!.trim() };
    for (const r of rules) entry.rules.add(r);
    out.set(next, entry);
  }
  return out;
}

export function parseIgnoreList(values: readonly string[]): RuleId[] {
  return values
    .flatMap((v) => v.split(/[\s,]+/))
    .filter(Boolean)
    .map((name) => {
      const rule = findRule(name);
      if (!rule)
        throw new LintError(
          `--ignore '${name}' is not a rule: expected one of ${RULES.map((r) => `${r.id} (${r.name})`).join(', ')}.`,
        );
      return rule.id;
    });
}

/** The settings left in the release image: the last ENV per variable, the last value per tool setting. */
function finalPointers(model: Model, chain: readonly number[]): Pointer[] {
  const last = new Map<string, Pointer>();
  for (const stage of chain) {
    for (const p of model.pointers.filter((x) => x.stage === stage)) last.set(`${p.via}|${p.setting}`, p);
  }
  return [...last.values()];
}

function pointerFindings(model: Model, chain: readonly number[], release: number): RawFinding[] {
  const fs = model.stages[release]!.fs;
  const secretTargets = chain.flatMap((s) => model.stages[s]!.secretTargets);
  const out: RawFinding[] = [];
  for (const p of finalPointers(model, chain)) {
    const value = p.value.trim();
    if (!value) continue;
    const what = p.via === 'env' ? `ENV ${p.setting}` : `${p.setting} (a setting written by RUN)`;
    const add = (message: string): void => void out.push({ rule: 'OCA109', stage: p.stage, line: p.line, message });
    if (looksLikeCertText(value)) {
      add(`${what} holds certificate text, and it is in the release image`);
      continue;
    }
    for (const raw of p.setting === 'SSL_CERT_DIR' ? value.split(':').filter(Boolean) : [value]) {
      if (/\$/.test(raw)) continue;
      const path = resolvePath(raw, p.cwd);
      if (isSystemBundlePath(path)) continue;
      if (isUnder(path, '/run/secrets') || secretTargets.some((t) => isUnder(path, t))) {
        add(
          `${what} points at ${path}, a secret mount that is absent when the image runs: a build-time CA setting left in the release image`,
        );
        continue;
      }
      const r = fs.lookup(path);
      if (r?.ca) add(`${what} points at ${path}, which holds a CA (${r.what}, line ${r.line})`);
      else
        add(
          `${what} points at ${path}, which is not the image's own bundle: it either holds a CA added for the build or is missing when the image runs`,
        );
    }
  }
  return out;
}

export function lintDockerfile(content: string, options: LintOptions = {}): LintResult {
  let file: ParsedDockerfile;
  try {
    file = parseDockerfile(content);
  } catch (error) {
    throw new LintError(error instanceof Error ? error.message : String(error));
  }
  const notes: string[] = [];
  const optionIgnores = new Set(parseIgnoreList(options.ignore ?? []));
  const model = buildModel(file, {
    ...present({ context: options.context, buildArgs: options.buildArgs }),
  });
  const names = model.stages.map((s) => s.stage.name ?? String(s.stage.index));
  let release = model.stages.length - 1;
  if (options.target !== undefined) {
    const t = options.target.toLowerCase();
    const found = names.findIndex((n) => n === t);
    release = found !== -1 ? found : /^\d+$/.test(t) && Number(t) < names.length ? Number(t) : -1;
    if (release === -1)
      throw new LintError(
        `--target '${options.target}' is not a stage of this Dockerfile: expected one of ${names.join(', ')}.`,
      );
  }
  const chain: number[] = [];
  for (let s: number | undefined = release; s !== undefined && !chain.includes(s); s = model.stages[s]!.parent)
    chain.unshift(s);
  const inChain = new Set(chain);
  const ignores = inlineIgnores(file, notes);

  const raw = [...model.findings, ...pointerFindings(model, chain, release)];
  const findings: LintFinding[] = raw
    .filter(
      (f, i) =>
        raw.findIndex(
          (g) => g.rule === f.rule && g.line === f.line && g.stage === f.stage && g.message === f.message,
        ) === i,
    )
    .sort((a, b) => a.line - b.line || a.rule.localeCompare(b.rule))
    .map((f) => {
      const rule = ruleById(f.rule);
      const inRelease = inChain.has(f.stage);
      const inline = ignores.get(f.line);
      const ignored = inline?.rules.has(f.rule)
        ? { by: 'inline' as const, reason: inline.reason || 'no reason given' }
        : optionIgnores.has(f.rule)
          ? { by: 'option' as const, reason: `--ignore ${f.rule}` }
          : undefined;
      return {
        rule: f.rule,
        name: rule.name,
        line: f.line,
        stage: names[f.stage]!,
        inRelease,
        severity: inRelease ? ('error' as const) : ('info' as const),
        message: f.message,
        fix: rule.fix,
        ...present({ ignored }),
      };
    });
  if (findings.some((f) => f.severity === 'info')) notes.push(CACHE_NOTE);
  return {
    target: names[release]!,
    stages: model.stages.map((s, i) => ({ name: names[i]!, inRelease: inChain.has(i) })),
    findings,
    failed: findings.some((f) => f.severity === 'error' && !f.ignored),
    notes,
  };
}
