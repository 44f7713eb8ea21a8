import { describeDefault, parseBoolean, parseBytes, parseLimits } from '../../../../src/leak/scanning/limits.js';
import { Budget, LimitError, NestedLimitError, newTotals } from '../../../../src/leak/scanning/nested/budget.js';
import { DEFAULT_LIMITS } from '../../../../src/leak/types.js';
import { innerName } from '../../../../src/leak/scanning/nested/scan.js';
import { sniffContainer } from '../../../../src/leak/sniff.js';

test.each([
  ['1024', 1024],
  ['4K', 4096],
  ['512M', 512 * 1024 ** 2],
  ['512MiB', 512 * 1024 ** 2],
  ['16g', 16 * 1024 ** 3],
  ['1.5G', 1.5 * 1024 ** 3],
  ['2 TB', 2 * 1024 ** 4],
  ['0', undefined],
  ['lots', undefined],
  ['-1G', undefined],
  ['1e9', undefined],
])('parseBytes(%s)', (text, expected) => {
  expect(parseBytes(text)).toBe(expected);
});

test('parseLimits reads the named options, leaves the rest to the defaults, quotes a bad value', () => {
  const raw: Record<string, string> = { 'max-depth': '2', 'max-nested-layer-bytes': '1G', 'max-layer-bytes': '' };
  expect(parseLimits((n) => raw[n])).toEqual({ maxDepth: 2, maxNestedLayerBytes: 1024 ** 3 });
  expect(() => parseLimits((n) => (n === 'max-depth' ? 'deep' : undefined), '--')).toThrow(
    "--max-depth 'deep' is not a whole number from 0 to 64",
  );
  expect(() => parseLimits((n) => (n === 'max-image-bytes' ? '12 apples' : undefined))).toThrow(
    "max-image-bytes '12 apples' is not a size",
  );
});

test('defaults as the help and the action say them', () => {
  expect(describeDefault('max-depth')).toBe(String(DEFAULT_LIMITS.maxDepth));
  expect(describeDefault('max-layer-bytes')).toBe('32G');
  expect(describeDefault('max-nested-image-bytes')).toBe('32G');
});

test('parseBoolean takes what the runner takes, and names a bad value', () => {
  expect(parseBoolean('strict', '')).toBe(false);
  expect(parseBoolean('strict', 'true')).toBe(true);
  expect(parseBoolean('strict', 'False')).toBe(false);
  expect(() => parseBoolean('strict', 'yes')).toThrow("strict 'yes' is not a boolean: expected true or false");
});

describe('Budget: absolute bytes, per layer and shared over the check', () => {
  const limits = {
    ...DEFAULT_LIMITS,
    maxLayerBytes: 100,
    maxImageBytes: 150,
    maxNestedLayerBytes: 10,
    maxNestedImageBytes: 15,
  };
  test('a layer over its own bound fails', () => {
    const b = new Budget(limits);
    b.layer(100);
    expect(() => b.layer(1)).toThrow(LimitError);
  });
  test('two layers share the total', () => {
    const totals = newTotals();
    new Budget(limits, totals).layer(90);
    expect(() => new Budget(limits, totals).layer(90)).toThrow(/--max-image-bytes/);
  });
  test('nested bytes have their own budget, and say when it is spent', () => {
    const totals = newTotals();
    const a = new Budget(limits, totals);
    a.nested(10);
    expect(a.exhausted).toMatch(/--max-nested-layer-bytes/);
    expect(() => a.nested(1)).toThrow(NestedLimitError);
    const b = new Budget(limits, totals);
    expect(() => b.nested(6)).toThrow(/--max-nested-image-bytes/);
  });
});

test.each([
  ['/opt/ca.pem.gz', 'ca.pem'],
  ['/opt/x.tgz', 'x.tar'],
  ['/opt/a.tar.zst', 'a.tar'],
  ['/a.jar!/b/blob', 'blob.decompressed'],
])('innerName(%s) = %s', (path, name) => {
  expect(innerName(path)).toBe(name);
});

test.each<[string, Buffer, string, string | undefined]>([
  ['gzip', Buffer.from('1f8b0800000000000003', 'hex'), 'x', 'gzip'],
  ['zip local header', Buffer.from('504b0304140000000800', 'hex'), 'x', 'zip'],
  ['jmod', Buffer.from('4a4d0100504b03041400', 'hex'), 'x.jmod', 'zip'],
  [
    'a zip with a launch script, by name',
    Buffer.concat([Buffer.from('#!/bin/bash\n'), Buffer.alloc(40, 0x20)]),
    'app.jar',
    'zip',
  ],
  [
    'a script not named like a zip',
    Buffer.concat([Buffer.from('#!/bin/bash\n'), Buffer.alloc(40, 0x20)]),
    'run.sh',
    undefined,
  ],
  ['deb', Buffer.from('!<arch>\ndebian-binary   '), 'x.deb', 'ar'],
  ['rpm', Buffer.from('edabeedb030000000001', 'hex'), 'x.rpm', 'rpm'],
  ['cpio', Buffer.from('070701000000'), 'x', 'cpio'],
  ['xz', Buffer.from('fd377a585a000004e6d6', 'hex'), 'x', 'xz'],
  ['bzip2', Buffer.from('425a683931415926535900', 'hex'), 'x', 'bzip2'],
  ['zstd skippable frame first', Buffer.from('502a4d1808000000', 'hex'), 'x', 'zstd'],
  ['text', Buffer.from('hello world, nothing to open here'), 'x.txt', undefined],
])('sniffContainer: %s', (_name, head, name, expected) => {
  expect(sniffContainer(head, name)).toBe(expected);
});
