import { createHash } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

/** A probe verdict reused by the next jobs on the same runner, so job start stays fast. Never the CA itself. */
export interface CachedVerdict {
  readonly key: string;
  /** When the probes ran (ms since the epoch). */
  readonly at: number;
  readonly act: boolean;
  readonly reason: string;
  readonly message: string;
  readonly failure?: string;
  readonly warnings: readonly string[];
}

/** Everything a verdict depends on: the probes, the route to them (proxy variables), the CA and the policy. */
export function verdictKey(parts: {
  readonly probeUrls: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly caFingerprint: string;
  readonly policy: string;
}): string {
  const route = [
    'HTTPS_PROXY',
    'https_proxy',
    'HTTP_PROXY',
    'http_proxy',
    'NO_PROXY',
    'no_proxy',
    'ALL_PROXY',
    'all_proxy',
  ].map((n) => `${n}=${parts.env[n] ?? ''}`);
  return createHash('sha256')
    .update(JSON.stringify([parts.probeUrls, route, parts.caFingerprint, parts.policy]))
    .digest('hex');
}

/** Pure: the cached verdict when it is for this key and younger than ttlMs; a verdict from the future is stale. */
export function freshVerdict(
  cached: CachedVerdict | undefined,
  key: string,
  now: number,
  ttlMs: number,
): CachedVerdict | undefined {
  if (!cached || cached.key !== key) return undefined;
  const age = now - cached.at;
  return age >= 0 && age < ttlMs ? cached : undefined;
}

/**
 * The cached verdict, or undefined. The cache is the runner user's, so a job's own code can write it: anything not
 * shaped like a verdict is ignored (the next job probes again), and what it says is only ever printed through the
 * log-line sink, never as a workflow command.
 */
export function readVerdict(path: string): CachedVerdict | undefined {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
  const v = value as Partial<Record<keyof CachedVerdict, unknown>>;
  const shaped =
    typeof v === 'object' &&
    v !== null &&
    typeof v.key === 'string' &&
    typeof v.at === 'number' &&
    typeof v.act === 'boolean' &&
    typeof v.reason === 'string' &&
    typeof v.message === 'string' &&
    (v.failure === undefined || typeof v.failure === 'string') &&
    Array.isArray(v.warnings) &&
    v.warnings.every((w) => typeof w === 'string');
  return shaped ? (value as CachedVerdict) : undefined;
}

/** Written to a temporary name and renamed: two jobs starting at once never read half a file. */
export function writeVerdict(path: string, verdict: CachedVerdict): void {
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, JSON.stringify(verdict), { mode: 0o644 });
  renameSync(partial, path);
}
