/**
 * How a run over many images is split over CI jobs: which shard reads a layer (by its key, so the shards read
 * disjoint sets and a layer shared by many images is read by one; balanced by bytes), which shard owns an image's own
 * parts (config, manifests, attestations), and where `--shard auto` finds its index. Pure.
 */
/** One shard of a run: `index` of `total`, counted from 1 (`--shard 2/3`), as jest and Playwright count. */
export interface Shard {
  readonly index: number;
  readonly total: number;
}

/** More shards than a GitHub Actions matrix may hold (256 jobs) helps no one. */
export const MAX_SHARDS = 256;

export class ShardError extends Error {
  override readonly name = 'ShardError';
}

/** A layer as a run's shares are balanced: its key (digest) and its stored size. */
export interface SizedLayer {
  readonly key: string;
  readonly size: number;
}

/**
 * Which shard reads each distinct layer: the largest first, each to the shard with the fewest bytes so far (ties to
 * the lower index), so the shards' reading stays even when a few base layers are most of the bytes. Every shard
 * computes the same from the same list, whatever its order.
 */
export function assignLayers(layers: readonly SizedLayer[], total: number): ReadonlyMap<string, number> {
  const distinct = new Map<string, number>();
  for (const { key, size } of layers) distinct.set(key, Math.max(distinct.get(key) ?? 0, size));
  const order = [...distinct].sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : ka > kb ? 1 : 0));
  const load = new Array<number>(total).fill(0);
  const shardOf = new Map<string, number>();
  for (const [key, size] of order) {
    let least = 0;
    for (let i = 1; i < total; i++) if (load[i]! < load[least]!) least = i;
    load[least]! += size;
    shardOf.set(key, least + 1);
  }
  return shardOf;
}

/** The shard that reads an image's own parts (config, manifests, attestations): by its place in the run's list. */
export function ownerOf(position: number, total: number): number {
  return (position % total) + 1;
}

/**
 * A CI system's variables for "this is job I of N" in a parallel job, read by `--shard auto`. The first whose index
 * variable is set wins. Kubernetes gives only the index: the total is the Job's `completions`, written `auto/N`.
 */
export const CI_SHARD_VARIABLES: readonly {
  readonly ci: string;
  readonly index: string;
  readonly total?: string;
  /** Whether the index counts from 0 or 1. */
  readonly base: 0 | 1;
}[] = [
  { ci: 'GitLab CI (parallel)', index: 'CI_NODE_INDEX', total: 'CI_NODE_TOTAL', base: 1 },
  { ci: 'a Kubernetes Indexed Job', index: 'JOB_COMPLETION_INDEX', base: 0 },
  { ci: 'CircleCI (parallelism)', index: 'CIRCLE_NODE_INDEX', total: 'CIRCLE_NODE_TOTAL', base: 0 },
  { ci: 'Buildkite (parallelism)', index: 'BUILDKITE_PARALLEL_JOB', total: 'BUILDKITE_PARALLEL_JOB_COUNT', base: 0 },
];

function count(text: string, what: string, min: number): number {
  if (!/^\d{1,6}$/.test(text.trim())) throw new ShardError(`${what} '${text}' is not a whole number`);
  const n = Number(text.trim());
  if (n < min) throw new ShardError(`${what} '${text}' is below ${min}`);
  return n;
}

function checked(index: number, total: number, what: string): Shard {
  if (total > MAX_SHARDS) throw new ShardError(`${what}: ${total} shards is more than ${MAX_SHARDS}`);
  if (index > total) throw new ShardError(`${what}: shard ${index} of ${total} does not exist (1 to ${total})`);
  return { index, total };
}

/**
 * `--shard I/N` (I from 1 to N), `--shard auto` (the CI's variables), or `--shard auto/N` (the CI gives the index
 * only, or N is to be checked against it). Every mistake is one line naming the value and what was expected.
 */
export function parseShard(text: string, env: Readonly<Record<string, string | undefined>>): Shard {
  const given = /^(\d+|auto)(?:\/(\d+))?$/.exec(text.trim());
  if (!given || (given[1] !== 'auto' && given[2] === undefined))
    throw new ShardError(`--shard '${text}': expected I/N (e.g. 1/3), auto or auto/N`);
  const total = given[2] === undefined ? undefined : count(given[2], '--shard total', 1);
  if (given[1] !== 'auto') return checked(count(given[1]!, '--shard index', 1), total!, `--shard '${text}'`);
  const found = CI_SHARD_VARIABLES.find((v) => env[v.index] !== undefined && env[v.index] !== '');
  if (!found)
    throw new ShardError(
      `--shard auto: none of ${CI_SHARD_VARIABLES.map((v) => v.index).join(', ')} is set: write --shard I/N`,
    );
  const index = count(env[found.index]!, found.index, found.base) + (found.base === 0 ? 1 : 0);
  const fromEnv = found.total && env[found.total] ? count(env[found.total]!, found.total, 1) : undefined;
  if (fromEnv !== undefined && total !== undefined && fromEnv !== total)
    throw new ShardError(`--shard '${text}': ${found.total} says ${fromEnv} shards, not ${total}`);
  const n = total ?? fromEnv;
  if (n === undefined)
    throw new ShardError(
      `--shard auto: ${found.index} is set (${found.ci}) but not how many shards there are: write --shard auto/N, N the Job's completions`,
    );
  return checked(index, n, `--shard auto (${found.index}=${env[found.index]})`);
}

/** `--plan N`: the matrix a workflow fans out over, for `strategy.matrix` (`fromJSON`). */
export function shardMatrix(total: number): { readonly shard: readonly string[] } {
  return { shard: Array.from({ length: total }, (_, i) => `${i + 1}/${total}`) };
}

/** `--plan N` as given: a whole number from 1 to MAX_SHARDS. */
export function parseShardCount(text: string): number {
  const n = count(text, '--plan', 1);
  if (n > MAX_SHARDS) throw new ShardError(`--plan '${text}': at most ${MAX_SHARDS} shards`);
  return n;
}
