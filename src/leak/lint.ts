import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { LEAK_FIX } from './types.js';
import { assignmentPointers } from './pointers.js';
import { isSystemBundlePath } from '../tools/system-bundles.js';

/**
 * Pre-build lint: reads a Dockerfile with dockerfile-ast (rcjsuen/dockerfile-ast, the parser of the Docker VS Code
 * language server), finds the stages that reach the release target, and flags what would put the CA into an image.
 * The release target's own FROM chain becomes the image; stages it copies from (COPY --from, RUN --mount from=)
 * leak through what is copied and through their layer cache, so they are checked too.
 */
export type LintRule = 'copy-ca-file' | 'ca-in-source' | 'arg-ca' | 'env-ca-pointer' | 'trust-store-update' | 'secret-to-disk';

export interface LintFinding {
  readonly rule: LintRule;
  /** 1-based line of the instruction. */
  readonly line: number;
  readonly stage: string;
  /** Whether the stage is part of the release image itself (its FROM chain) or a stage it copies from. */
  readonly inRelease: boolean;
  readonly message: string;
  readonly fix: string;
}

export interface LintResult {
  readonly target: string;
  readonly stages: readonly { name: string; inRelease: boolean }[];
  readonly findings: readonly LintFinding[];
}

export class LintError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LintError';
  }
}


const CA_FILE = /\.(pem|crt|cer|der|p7b|p7c|p12|pfx|jks|keystore|truststore)$|(^|[/_.-])(ca|cacerts?|ca-bundle|ca-certificates|root-?ca|org-?ca)([._-]|$)/i;
const TRUST_DIRS = /\/(usr\/local\/share\/ca-certificates|usr\/share\/ca-certificates|etc\/ssl\/certs|etc\/pki\/ca-trust|etc\/pki\/tls\/certs|etc\/ca-certificates)\b|cacerts\b/;
const TRUST_UPDATE = /\b(update-ca-certificates|update-ca-trust|keytool\b[^\n;&|]*-import(cert)?|trust\s+anchor|certutil\b[^\n;&|]*\s-A\b|c_rehash)\b/;
const CA_ARG = /(^|_)(CA|CAS|CERT|CERTS|CERTIFICATE|PEM|CACERT|CACERTS|TRUST|TRUSTSTORE|BUNDLE|ROOT_CA|ORG_CA)(_|$)/i;

interface Stage {
  readonly index: number;
  readonly name: string;
  readonly base: string;
  readonly instructions: Instruction[];
}

function text(lines: readonly string[], inst: Instruction): string {
  const r = inst.getRange();
  return lines.slice(r.start.line, r.end.line + 1).join('\n');
}

/** `--from=x` of COPY/ADD, and every `from=` of `--mount` options of RUN. */
function fromRefs(raw: string): string[] {
  const refs: string[] = [];
  for (const m of raw.matchAll(/--from=("?)([^\s"]+)\1/g)) refs.push(m[2]!);
  for (const m of raw.matchAll(/--mount=([^\s]+)/g)) {
    for (const opt of m[1]!.split(',')) {
      const [k, v] = opt.split('=');
      if (k === 'from' && v) refs.push(v.replace(/^"|"$/g, ''));
    }
  }
  return refs;
}

export function lintDockerfile(content: string, target?: string): LintResult {
  const doc = DockerfileParser.parse(content);
  const lines = content.split(/\r?\n/);
  const stages: Stage[] = [];
  for (const inst of doc.getInstructions()) {
    if (inst.getKeyword() === 'FROM') {
      const from = inst as unknown as { getImageName(): string | null; getBuildStage(): string | null };
      stages.push({ index: stages.length, name: from.getBuildStage() ?? String(stages.length), base: from.getImageName() ?? '', instructions: [] });
    } else if (stages.length) {
      stages[stages.length - 1]!.instructions.push(inst);
    }
  }
  if (stages.length === 0) throw new LintError('the Dockerfile has no FROM instruction: expected at least one stage.');
  const byName = (ref: string): Stage | undefined =>
    stages.find((s) => s.name.toLowerCase() === ref.toLowerCase()) ?? (/^\d+$/.test(ref) ? stages[Number(ref)] : undefined);
  const release = target ? byName(target) : stages[stages.length - 1];
  if (!release) throw new LintError(`--target '${target}' is not a stage of this Dockerfile: expected one of ${stages.map((s) => s.name).join(', ')}.`);

  // The release image is its FROM chain; everything those stages copy or mount from reaches it too.
  const chain = new Set<Stage>();
  for (let s: Stage | undefined = release; s && !chain.has(s); s = byName(s.base)) chain.add(s);
  const reach = new Set<Stage>(chain);
  const todo = [...chain];
  while (todo.length) {
    const s = todo.pop()!;
    const deps = [byName(s.base), ...s.instructions.flatMap((i) => fromRefs(text(lines, i)).map(byName))];
    for (const d of deps) if (d && !reach.has(d)) (reach.add(d), todo.push(d));
  }

  const findings: LintFinding[] = [];
  // CA-adding commands per stage, to judge what a COPY --from of a bundle brings along.
  const addsCa = new Set<Stage>();
  for (const s of stages) if (s.instructions.some((i) => TRUST_UPDATE.test(text(lines, i)))) addsCa.add(s);
  for (const s of [...reach].sort((a, b) => a.index - b.index)) {
    const inRelease = chain.has(s);
    const where = inRelease ? `the release image (stage '${s.name}')` : `stage '${s.name}', which the release target copies from (its layers and cache hold the CA)`;
    const add = (rule: LintRule, inst: Instruction, message: string, fix = LEAK_FIX): void => {
      findings.push({ rule, line: inst.getRange().start.line + 1, stage: s.name, inRelease, message, fix });
    };
    const args: string[] = [];
    for (const inst of s.instructions) {
      const raw = text(lines, inst);
      const keyword = inst.getKeyword();
      if (raw.includes('-----BEGIN CERTIFICATE')) add('ca-in-source', inst, `A certificate is written inline in the Dockerfile: it ends up in ${where} and in the build history.`);
      if (keyword === 'COPY' || keyword === 'ADD') {
        const parts = inst.getArguments().map((a) => a.getValue()).filter((v) => !v.startsWith('--'));
        const sources = parts.slice(0, -1);
        const dest = parts[parts.length - 1] ?? '';
        const from = fromRefs(raw)[0];
        const fromStage = from ? byName(from) : undefined;
        const caLike = sources.filter((src) => CA_FILE.test(src) || (TRUST_DIRS.test(src) && !fromStage && !from));
        if (caLike.length || (TRUST_DIRS.test(dest) && !from)) {
          add('copy-ca-file', inst, `${keyword} puts ${caLike.length ? caLike.map((c) => `'${c}'`).join(', ') : 'a file'} into ${TRUST_DIRS.test(dest) ? `the trust store path '${dest}' of ` : ''}${where}: a CA file copied in is in that layer for good, even if deleted later.`);
        } else if (fromStage && addsCa.has(fromStage) && sources.some((src) => TRUST_DIRS.test(src))) {
          add('copy-ca-file', inst, `${keyword} --from=${from} copies a trust store from stage '${fromStage.name}', which adds a CA to it, into ${where}.`);
        }
      } else if (keyword === 'ARG') {
        for (const a of inst.getArguments()) {
          const [name, value] = a.getValue().split('=');
          if (name) args.push(name);
          if (name && (CA_ARG.test(name) || value?.includes('BEGIN'))) {
            const usedLater = s.instructions.some((i) => i.getKeyword() === 'RUN' && i.getRange().start.line > inst.getRange().start.line);
            if (usedLater) add('arg-ca', inst, `ARG ${name} looks like it carries a CA; BuildKit records the value of every ARG in scope in the history of each later RUN ('RUN |N ${name}=…'), readable in ${where}.`);
          }
        }
      } else if (keyword === 'ENV' && inRelease) {
        const props = (inst as unknown as { getProperties(): { getName(): string; getValue(): string | null }[] }).getProperties();
        for (const p of props) {
          if (assignmentPointers(p.getName(), p.getValue() ?? '', '').some((pointer) => !isSystemBundlePath(pointer.value))) {
            add('env-ca-pointer', inst, `ENV ${p.getName()} is baked into the release image config: it points every container at a CA file (or at a file that is not there).`, 'Set CA variables only for the build command that needs them, e.g. with-org-ca in a builder stage; never with ENV in the release stage.');
          }
        }
      } else if (keyword === 'RUN') {
        if (TRUST_UPDATE.test(raw)) add('trust-store-update', inst, `RUN updates the system trust store (${TRUST_UPDATE.exec(raw)![1]}): the CA is then in the bundle or keystore this layer writes, in ${where}.`);
        const secretTargets = [...raw.matchAll(/--mount=([^\s]*type=secret[^\s]*)/g)].map((m) => {
          const opts = Object.fromEntries(m[1]!.split(',').map((o) => o.split('=') as [string, string]));
          return opts.target ?? opts.dst ?? opts.destination ?? `/run/secrets/${opts.id ?? ''}`;
        });
        const mentions = ['/run/secrets/', ...secretTargets].some((t) => raw.includes(t));
        if (mentions && /\b(cp|mv|install|tee|rsync|dd|ln)\b|>\s*[^\s&|;]/.test(raw.replace(/--mount=\S+/g, ''))) {
          add('secret-to-disk', inst, `RUN copies a secret mount to disk: the copy stays in the layer of ${where}, defeating the secret mount.`, 'Read the secret in place (with-org-ca reads /run/secrets/org_ca itself) and write nothing from it to the file system.');
        }
        for (const name of args) {
          if (new RegExp(`\\$\\{?${name}\\b`).test(raw) && (TRUST_DIRS.test(raw) || TRUST_UPDATE.test(raw) || /\.(pem|crt)\b/.test(raw))) {
            add('arg-ca', inst, `RUN writes ARG ${name} into a certificate file or trust store in ${where}, and the ARG value is recorded in the image history.`);
          }
        }
      }
    }
  }
  return { target: release.name, stages: [...reach].sort((a, b) => a.index - b.index).map((s) => ({ name: s.name, inRelease: chain.has(s) })), findings };
}

export function renderLintText(file: string, result: LintResult): string {
  const head = `org-ca lint: ${file}: target '${result.target}', stages checked: ${result.stages.map((s) => `${s.name}${s.inRelease ? ' (release)' : ''}`).join(', ')}`;
  const body = result.findings.map((f) => `${file}:${f.line}: ${f.rule}: ${f.message}\n    fix: ${f.fix}`);
  return [head, ...body, result.findings.length ? `FAILED: ${result.findings.length} finding(s).` : 'OK: nothing in these stages would put a CA into the image.'].join('\n');
}
