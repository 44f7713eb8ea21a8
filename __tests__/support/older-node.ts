import { spawnSync } from 'node:child_process';

/** The machine's own Node when it is older than 24 (Debian's /usr/bin/node is 20 on these hosts), if it has one. */
export function olderNode(
  candidates: readonly string[] = ['/usr/bin/node', '/usr/local/bin/node', 'node'],
): string | undefined {
  for (const candidate of candidates) {
    const r = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
    const major = Number(/^v(\d+)\./.exec(r.stdout ?? '')?.[1]);
    if (r.status === 0 && major < 24) return candidate;
  }
  return undefined;
}
