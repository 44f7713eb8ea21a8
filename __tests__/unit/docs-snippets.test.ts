/**
 * Every code block a user can paste from README.md and docs/ is checked: workflow YAML through actionlint (a step list
 * is wrapped in a job first), other YAML (GitLab, Azure, CircleCI) through a YAML parser, shell through `bash -n`,
 * Dockerfile lines through dockerfile-ast, Jenkinsfiles' sh steps through `bash -n`. Blocks that are output or a layout say
 * `text`. Every relative link resolves to a file, and every anchor to a heading of that file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseDocument } from 'yaml';
import { DockerfileParser } from 'dockerfile-ast';
// @ts-expect-error: a plain .mjs module of the project's scripts
import { workflowLinter } from '../../scripts/actionlint.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const DOCS = [
  'README.md',
  'CONTRIBUTING.md',
  'SECURITY.md',
  'CHANGELOG.md',
  ...readdirSync(join(root, 'docs'))
    .filter((n) => n.endsWith('.md'))
    .map((n) => `docs/${n}`),
];
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

interface Block {
  readonly file: string;
  readonly line: number;
  readonly lang: string;
  readonly code: string;
}

function blocks(file: string): Block[] {
  const out: Block[] = [];
  const lines = read(file).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]!); j++) body.push(lines[j]!.slice(indent));
    out.push({ file, line: i + 1, lang: open[2]!, code: `${body.join('\n')}\n` });
    i = j;
  }
  return out;
}

const ALL = DOCS.flatMap(blocks);
const KNOWN = ['yaml', 'sh', 'bash', 'dockerfile', 'groovy', 'text'];

test('every code block says what it is', () => {
  expect(ALL.filter((b) => !KNOWN.includes(b.lang)).map((b) => `${b.file}:${b.line} '${b.lang}'`)).toEqual([]);
  expect(ALL.length).toBeGreaterThan(30);
});

/** A GitHub workflow, a list of workflow steps, or another CI system's YAML. */
function workflowOf(block: Block): string | undefined {
  const doc = parseYaml(block.code) as unknown;
  if (Array.isArray(doc) && doc.every((s) => s && typeof s === 'object' && ('uses' in s || 'run' in s))) {
    const steps = block.code.replace(/^/gm, '      ');
    return `on: push\njobs:\n  snippet:\n    runs-on: ubuntu-latest\n    steps:\n${steps}`;
  }
  if (doc && typeof doc === 'object' && 'jobs' in doc) {
    const jobs = Object.values((doc as { jobs: Record<string, unknown> }).jobs);
    if (jobs.every((j) => j && typeof j === 'object' && 'runs-on' in j))
      return 'on' in doc ? block.code : `on: push\n${block.code}`;
  }
  return undefined;
}

describe.each(ALL.filter((b) => b.lang === 'yaml').map((b) => [`${b.file}:${b.line}`, b] as const))(
  'YAML %s',
  (_at, block) => {
    test('parses, and a GitHub workflow or step list passes actionlint', async () => {
      const doc = parseDocument(block.code);
      expect(doc.errors.map((e) => e.message)).toEqual([]);
      const workflow = workflowOf(block);
      if (!workflow) return;
      const lint = (await workflowLinter()) as (
        text: string,
        path: string,
      ) => { line: number; column: number; message: string }[];
      expect(lint(workflow, `${block.file}:${block.line}`).map((p) => `${p.line}:${p.column} ${p.message}`)).toEqual(
        [],
      );
    });
  },
);

test('the workflow snippets are recognised as workflows (the README Quick start and the step lists)', () => {
  const workflows = ALL.filter((b) => b.lang === 'yaml' && workflowOf(b));
  expect(workflows.length).toBeGreaterThanOrEqual(8);
  expect(workflows.some((b) => b.file === 'README.md' && b.code.includes('runs-on: [self-hosted, linux]'))).toBe(true);
});

test.each(ALL.filter((b) => b.lang === 'sh' || b.lang === 'bash').map((b) => [`${b.file}:${b.line}`, b] as const))(
  'shell %s passes bash -n',
  (_at, block) => {
    const r = spawnSync('bash', ['-n'], { input: block.code, encoding: 'utf8' });
    expect(`${r.status} ${r.stderr}`).toBe('0 ');
  },
);

test.each(ALL.filter((b) => b.lang === 'dockerfile').map((b) => [`${b.file}:${b.line}`, b] as const))(
  'Dockerfile %s parses into known instructions',
  (_at, block) => {
    const source = /^\s*FROM\s/im.test(block.code) ? block.code : `FROM scratch\n${block.code}`;
    const instructions = DockerfileParser.parse(source).getInstructions();
    const known = [
      'FROM',
      'RUN',
      'COPY',
      'ADD',
      'ENV',
      'ARG',
      'WORKDIR',
      'USER',
      'CMD',
      'ENTRYPOINT',
      'LABEL',
      'EXPOSE',
      'VOLUME',
      'SHELL',
      'HEALTHCHECK',
      'STOPSIGNAL',
      'ONBUILD',
    ];
    expect(instructions.length).toBeGreaterThan(1);
    expect(instructions.map((i) => i.getKeyword()).filter((k) => !known.includes(k))).toEqual([]);
  },
);

test.each(ALL.filter((b) => b.lang === 'groovy').map((b) => [`${b.file}:${b.line}`, b] as const))(
  'Jenkinsfile %s: balanced, and its sh steps pass bash -n',
  (_at, block) => {
    let depth = 0;
    for (const c of block.code.replace(/'''[\s\S]*?'''|'[^'\n]*'|"[^"\n]*"|\/\/.*$/gm, ''))
      depth += c === '{' ? 1 : c === '}' ? -1 : 0;
    expect(depth).toBe(0);
    for (const [, script] of block.code.matchAll(/sh '''([\s\S]*?)'''|sh '([^'\n]*)'/g)) {
      const r = spawnSync('bash', ['-n'], { input: script ?? '', encoding: 'utf8' });
      expect(`${r.status} ${r.stderr}`).toBe('0 ');
    }
  },
);

describe('links', () => {
  const slug = (heading: string): string =>
    heading
      .trim()
      .toLowerCase()
      .replace(/[^\w\s-]/g, '')
      .replace(/\s/g, '-');
  const anchorsOf = (file: string): Set<string> => {
    const text = read(file).replace(/^\s*```[\s\S]*?^\s*```/gm, '');
    return new Set([
      ...[...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1]!)),
      ...[...text.matchAll(/<a id="([^"]+)"/g)].map((m) => m[1]!),
    ]);
  };
  test.each(DOCS)('every relative link of %s resolves, anchors included', (file) => {
    const broken: string[] = [];
    const text = read(file).replace(/^\s*```[\s\S]*?^\s*```/gm, '');
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^(https?:|mailto:)/.test(target!)) continue;
      const [path, anchor] = target!.split('#') as [string, string | undefined];
      const resolved = path ? normalize(join(dirname(file), path)) : file;
      if (!existsSync(join(root, resolved))) broken.push(`${target}: no file ${resolved}`);
      else if (anchor && resolved.endsWith('.md') && !anchorsOf(resolved).has(anchor))
        broken.push(`${target}: no heading #${anchor} in ${resolved}`);
    }
    expect(broken).toEqual([]);
  });
});
