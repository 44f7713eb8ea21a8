/** Which shard reads what, and where `--shard auto` finds its index: pure, table-driven. */
import {
  MAX_SHARDS,
  parseShard,
  parseShardCount,
  ShardError,
  shardMatrix,
  shardOf,
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

test('keys spread evenly over the shards, the same way every time', () => {
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[shardOf(`sha256:${i.toString(16).padStart(64, '0')}`, 4) - 1]!++;
  for (const c of counts) expect(Math.abs(c - 1000)).toBeLessThan(150);
  expect(shardOf('sha256:abc', 7)).toBe(shardOf('sha256:abc', 7));
  expect(shardOf('anything', 1)).toBe(1);
});

test('--plan N is the matrix of every shard, for strategy.matrix', () => {
  expect(shardMatrix(3)).toEqual({ shard: ['1/3', '2/3', '3/3'] });
  expect(parseShardCount('4')).toBe(4);
  expect(() => parseShardCount('0')).toThrow(/--plan '0' is below 1/);
  expect(() => parseShardCount('many')).toThrow(/--plan 'many' is not a whole number/);
  expect(() => parseShardCount(String(MAX_SHARDS + 1))).toThrow(new RegExp(`at most ${MAX_SHARDS} shards`));
});
