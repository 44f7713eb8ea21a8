/** Which shard reads what, and where `--shard auto` finds its index: pure, table-driven. */
import {
  assignLayers,
  MAX_SHARDS,
  ownerOf,
  parseShard,
  parseShardCount,
  ShardError,
  shardMatrix,
} from '../../../../src/leak/fanout/shares.js';

test.each([
  ['1/3', {}, { index: 1, total: 3 }],
  ['3/3', {}, { index: 3, total: 3 }],
  [' 2/2 ', {}, { index: 2, total: 2 }],
  ['auto', { CI_NODE_INDEX: '2', CI_NODE_TOTAL: '3' }, { index: 2, total: 3 }],
  ['auto/3', { CI_NODE_INDEX: '3', CI_NODE_TOTAL: '3' }, { index: 3, total: 3 }],
  // Kubernetes counts from 0 and gives no total: auto/N.
  ['auto/4', { JOB_COMPLETION_INDEX: '0' }, { index: 1, total: 4 }],
  ['auto/4', { JOB_COMPLETION_INDEX: '3' }, { index: 4, total: 4 }],
  ['auto', { CIRCLE_NODE_INDEX: '0', CIRCLE_NODE_TOTAL: '2' }, { index: 1, total: 2 }],
  ['auto', { BUILDKITE_PARALLEL_JOB: '4', BUILDKITE_PARALLEL_JOB_COUNT: '5' }, { index: 5, total: 5 }],
  // GitLab's variables win over the others when a job somehow has several.
  ['auto', { CI_NODE_INDEX: '1', CI_NODE_TOTAL: '2', JOB_COMPLETION_INDEX: '1' }, { index: 1, total: 2 }],
])('--shard %s with %j is %j', (text, env, expected) => {
  expect(parseShard(text, env)).toEqual(expected);
});

test.each([
  ['', {}, /expected I\/N \(e\.g\. 1\/3\), auto or auto\/N/],
  ['2', {}, /'2': expected I\/N/],
  ['0/3', {}, /--shard index '0' is below 1/],
  ['4/3', {}, /shard 4 of 3 does not exist \(1 to 3\)/],
  ['1/0', {}, /--shard total '0' is below 1/],
  [`1/${MAX_SHARDS + 1}`, {}, new RegExp(`${MAX_SHARDS + 1} shards is more than ${MAX_SHARDS}`)],
  ['-1/3', {}, /expected I\/N/],
  ['1/3x', {}, /expected I\/N/],
  ['auto', {}, /none of CI_NODE_INDEX, JOB_COMPLETION_INDEX, .* is set: write --shard I\/N/],
  [
    'auto',
    { JOB_COMPLETION_INDEX: '2' },
    /JOB_COMPLETION_INDEX is set \(a Kubernetes Indexed Job\) but not how many shards .* auto\/N/,
  ],
  ['auto/5', { CI_NODE_INDEX: '1', CI_NODE_TOTAL: '3' }, /CI_NODE_TOTAL says 3 shards, not 5/],
  ['auto', { CI_NODE_INDEX: '0', CI_NODE_TOTAL: '3' }, /CI_NODE_INDEX '0' is below 1/],
  ['auto', { CI_NODE_INDEX: '4', CI_NODE_TOTAL: '3' }, /CI_NODE_INDEX=4.*shard 4 of 3 does not exist/],
  ['auto', { CI_NODE_INDEX: 'two', CI_NODE_TOTAL: '3' }, /CI_NODE_INDEX 'two' is not a whole number/],
])('--shard %j with %j is refused: %s', (text, env, message) => {
  let error: unknown;
  try {
    parseShard(text, env);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ShardError);
  expect((error as Error).message).toMatch(message);
});

test('layers are shared out by bytes: the big base layers spread over the shards, the same whatever the order', () => {
  const layers = [
    { key: 'sha256:base-a', size: 400 },
    { key: 'sha256:base-b', size: 350 },
    { key: 'sha256:base-c', size: 300 },
    ...Array.from({ length: 30 }, (_, i) => ({ key: `sha256:app-${String(i).padStart(2, '0')}`, size: 10 + i })),
    // The same layer in two images is one layer.
    { key: 'sha256:base-a', size: 400 },
  ];
  const shares = assignLayers(layers, 2);
  expect(shares.size).toBe(33);
  const load = [0, 0];
  for (const [key, shard] of shares) load[shard - 1]! += layers.find((l) => l.key === key)!.size;
  // Even to within the largest layer that is not a base.
  expect(Math.abs(load[0]! - load[1]!)).toBeLessThanOrEqual(39);
  expect(shares.get('sha256:base-a')).not.toBe(shares.get('sha256:base-b'));
  const reversed = assignLayers([...layers].reverse(), 2);
  expect([...reversed].sort()).toEqual([...shares].sort());
  // Every layer in its own shard when there are as many shards.
  expect(new Set(assignLayers(layers.slice(0, 3), 3).values())).toEqual(new Set([1, 2, 3]));
  expect([...assignLayers(layers, 1).values()].every((s) => s === 1)).toBe(true);
});

test('images are owned round the shards by their place in the run', () => {
  expect([0, 1, 2, 3, 4].map((p) => ownerOf(p, 3))).toEqual([1, 2, 3, 1, 2]);
});

test('--plan N is the matrix of every shard, for strategy.matrix', () => {
  expect(shardMatrix(3)).toEqual({ shard: ['1/3', '2/3', '3/3'] });
  expect(parseShardCount('4')).toBe(4);
  expect(() => parseShardCount('0')).toThrow(/--plan '0' is below 1/);
  expect(() => parseShardCount('many')).toThrow(/--plan 'many' is not a whole number/);
  expect(() => parseShardCount(String(MAX_SHARDS + 1))).toThrow(new RegExp(`at most ${MAX_SHARDS} shards`));
});
