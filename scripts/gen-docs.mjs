// Sections of docs/ generated from the code and the action.yml files, so they cannot drift:
//   action, leak-check     the inputs/outputs tables of action.yml and leak-check/action.yml
//   tools                  the tool registry (src/tools/registry.ts): ids, variables, readers, semantics
//   reasons                every value of the `reason` output (src/decision/reasons.ts)
//   troubleshooting        the error catalogue (src/detect/catalogue.ts): error text → meaning → fix
//   node scripts/gen-docs.mjs          rewrite each file between its <!-- generated:NAME --> markers
//   node scripts/gen-docs.mjs --check  exit 1 when a file is out of date (a unit test runs this)
// The TypeScript sources are imported directly: Node 24 strips types, and a resolve hook maps the sources' `.js`
// import suffixes to their `.ts` files. On an older Node the script runs itself again on Node 24.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { node24Path } from './node24.mjs';

if (Number(process.versions.node.split('.')[0]) < 24) {
  const r = spawnSync(node24Path(), [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const { registerHooks } = await import('node:module');
registerHooks({
  resolve(specifier, context, next) {
    if (specifier.startsWith('.') && specifier.endsWith('.js') && context.parentURL?.endsWith('.ts')) {
      const ts = new URL(specifier.replace(/\.js$/, '.ts'), context.parentURL);
      if (existsSync(fileURLToPath(ts))) return next(ts.href, context);
    }
    return next(specifier, context);
  },
});

const root = fileURLToPath(new URL('..', import.meta.url));
const source = (path) => import(new URL(`../${path}`, import.meta.url).href);
const { TOOL_REGISTRY } = await source('src/tools/registry.ts');
const { REASONS } = await source('src/decision/reasons.ts');
const { ERROR_CATALOGUE, fixFor } = await source('src/detect/catalogue.ts');

const cell = (text) =>
  String(text ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ')
    .trim();

export function renderTables(actionYml) {
  const action = parse(actionYml);
  const lines = ['**Inputs**', '', '| Input | Default | Description |', '|---|---|---|'];
  for (const [name, spec] of Object.entries(action.inputs ?? {})) {
    const def = spec.default === undefined || spec.default === '' ? '' : `\`${cell(spec.default)}\``;
    lines.push(`| \`${name}\`${spec.required ? ' (required)' : ''} | ${def} | ${cell(spec.description)} |`);
  }
  lines.push('', '**Outputs**', '', '| Output | Description |', '|---|---|');
  for (const [name, spec] of Object.entries(action.outputs ?? {}))
    lines.push(`| \`${name}\` | ${cell(spec.description)} |`);
  return lines.join('\n');
}

const SEMANTICS = {
  ca: 'appends → org CA',
  bundle: 'replaces → bundle',
  wgetrc: 'replaces → a wgetrc naming the bundle',
  truststore: 'replaces `cacerts` → JDK roots + org CA (JKS), appended to your value',
  setting: 'a setting (no file)',
};
const PLATFORM = { linux: 'Linux', darwin: 'macOS', win32: 'Windows' };

function renderTools() {
  const lines = ['| `tools` id | Variable | Read by | Semantics |', '|---|---|---|---|'];
  for (const t of TOOL_REGISTRY) {
    const where = t.platforms ? ` (${t.platforms.map((p) => PLATFORM[p]).join('/')} only)` : '';
    lines.push(`| \`${t.id}\` | \`${t.variable}\`${where} | ${cell(t.readers)} | ${cell(SEMANTICS[t.file])} |`);
  }
  return lines.join('\n');
}

function renderReasons() {
  const lines = ['| `reason` | Injected | Step fails | When |', '|---|---|---|---|'];
  for (const r of REASONS)
    lines.push(`| \`${r.code}\` | ${r.injected ? 'yes' : 'no'} | ${r.fails ? 'yes' : 'no'} | ${cell(r.meaning)} |`);
  return lines.join('\n');
}

function renderTroubleshooting() {
  const out = [];
  for (const e of ERROR_CATALOGUE) {
    const entry = TOOL_REGISTRY.find((t) => t.id === e.tool);
    out.push(
      `**\`${e.example}\`**`,
      '',
      `- *Means* (${e.runtime}, \`${e.id}\`): ${e.meaning}.`,
      `- *Check*: \`org-ca doctor https://<the host>\` runs this client and the others the way the job does and names the error.`,
      `- *Fix*: \`${fixFor(entry)}\` — the action and \`org-ca env\` / \`org-ca exec\` set it ([source](${entry.source})).`,
      '',
    );
  }
  return out.join('\n').trimEnd();
}

/** Each generated section, in the file that holds it. */
const GENERATED = {
  'docs/action-reference.md': {
    action: () => renderTables(readFileSync(`${root}/action.yml`, 'utf8')),
    'leak-check': () => renderTables(readFileSync(`${root}/leak-check/action.yml`, 'utf8')),
  },
  'docs/tools.md': { tools: renderTools },
  'docs/how-it-decides.md': { reasons: renderReasons },
  'docs/troubleshooting.md': { troubleshooting: renderTroubleshooting },
};

export function updateSections(path, text) {
  let out = text;
  for (const [key, render] of Object.entries(GENERATED[path])) {
    const begin = `<!-- generated:${key} -->`;
    const end = `<!-- /generated:${key} -->`;
    const i = out.indexOf(begin);
    const j = out.indexOf(end);
    if (i === -1 || j === -1) throw new Error(`${path} has no ${begin} … ${end} section`);
    out = `${out.slice(0, i + begin.length)}\n${render()}\n${out.slice(j)}`;
  }
  return out;
}

let stale = 0;
for (const path of Object.keys(GENERATED)) {
  const text = readFileSync(`${root}/${path}`, 'utf8');
  const next = updateSections(path, text);
  if (next === text) continue;
  if (process.argv.includes('--check')) {
    console.error(`${path}: generated sections are out of date: run \`npm run docs\`.`);
    stale++;
  } else {
    writeFileSync(`${root}/${path}`, next);
  }
}
if (stale) process.exit(1);
