// README's input/output tables are generated from action.yml and leak-check/action.yml, so they cannot drift.
//   node scripts/gen-docs.mjs          rewrite README.md between the markers
//   node scripts/gen-docs.mjs --check  exit 1 when README.md is out of date (a test runs this)
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const ACTIONS = { action: 'action.yml', 'leak-check': 'leak-check/action.yml' };

const cell = (text) => String(text ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ').trim();

export function renderTables(actionYml) {
  const action = parse(actionYml);
  const lines = ['**Inputs**', '', '| Input | Default | Description |', '|---|---|---|'];
  for (const [name, spec] of Object.entries(action.inputs ?? {})) {
    const def = spec.default === undefined || spec.default === '' ? '' : `\`${cell(spec.default)}\``;
    lines.push(`| \`${name}\`${spec.required ? ' (required)' : ''} | ${def} | ${cell(spec.description)} |`);
  }
  lines.push('', '**Outputs**', '', '| Output | Description |', '|---|---|');
  for (const [name, spec] of Object.entries(action.outputs ?? {})) lines.push(`| \`${name}\` | ${cell(spec.description)} |`);
  return lines.join('\n');
}

export function updateReadme(readme, read) {
  let out = readme;
  for (const [key, file] of Object.entries(ACTIONS)) {
    const begin = `<!-- generated:${key} -->`;
    const end = `<!-- /generated:${key} -->`;
    const i = out.indexOf(begin);
    const j = out.indexOf(end);
    if (i === -1 || j === -1) continue;
    out = `${out.slice(0, i + begin.length)}\n${renderTables(read(file))}\n${out.slice(j)}`;
  }
  return out;
}

const readme = readFileSync(`${root}/README.md`, 'utf8');
const next = updateReadme(readme, (file) => readFileSync(`${root}/${file}`, 'utf8'));
if (process.argv.includes('--check')) {
  if (next !== readme) {
    console.error('README.md input/output tables are out of date: run `node scripts/gen-docs.mjs`.');
    process.exit(1);
  }
} else {
  writeFileSync(`${root}/README.md`, next);
}
