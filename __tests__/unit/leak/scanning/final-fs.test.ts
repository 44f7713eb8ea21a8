import { FinalFs, LayerIndexBuilder, pathHash } from '../../../../src/leak/scanning/final-fs.js';
import { judgePointer } from '../../../../src/ca-pointers/pointers.js';
import type { EntryType } from '../../../../src/leak/types.js';

/** A layer as tar would list it: [path, type, link]; `.wh.` names are whiteouts. */
type Entry = readonly [string, EntryType?, string?];

function fsOf(layers: readonly (readonly Entry[])[]): FinalFs {
  return FinalFs.build(
    layers.map((entries) => {
      const b = new LayerIndexBuilder();
      for (const [path, type = 'file', link] of entries) b.add(path, type, link);
      return b.finish();
    }),
  );
}

interface Case {
  readonly name: string;
  readonly layers: readonly (readonly Entry[])[];
  /** path → the layer its visible version comes from, or undefined when gone. */
  readonly layerOf: Readonly<Record<string, number | undefined>>;
  /** path → [resolved path, type] or undefined. */
  readonly resolve?: Readonly<Record<string, readonly [string, EntryType] | undefined>>;
}

const cases: Case[] = [
  {
    name: 'a file only in a lower layer stays visible',
    layers: [[['etc', 'dir'], ['etc/ca.pem']], [['usr/bin/x']]],
    layerOf: { 'etc/ca.pem': 0, etc: 0, 'usr/bin/x': 1, 'usr/bin': 1, usr: 1, 'etc/nope': undefined },
  },
  {
    name: 'directories implied by descendants exist without their own entry',
    layers: [[['a/b/c/file']]],
    layerOf: { a: 0, 'a/b': 0, 'a/b/c': 0, 'a/b/c/file': 0, 'a/b/c/file/x': undefined },
    resolve: { '/a/b': ['/a/b', 'dir'], '/a/b/c/file': ['/a/b/c/file', 'file'] },
  },
  {
    name: 'a whiteout deletes the lower file',
    layers: [[['etc/ca.pem'], ['etc/keep']], [['etc/.wh.ca.pem']]],
    layerOf: { 'etc/ca.pem': undefined, 'etc/keep': 0 },
  },
  {
    name: 'a whiteout does not hide a file of its own layer (re-added after delete)',
    layers: [[['etc/ca.pem']], [['etc/.wh.ca.pem'], ['etc/ca.pem']]],
    layerOf: { 'etc/ca.pem': 1 },
  },
  {
    name: 'a file added again in a higher layer replaces the lower one',
    layers: [[['etc/ca.pem']], [['etc/ca.pem']], [['other']]],
    layerOf: { 'etc/ca.pem': 1 },
  },
  {
    name: 'a whiteout of an ancestor directory deletes everything below it',
    layers: [[['opt/org/certs/ca.pem'], ['opt/keep']], [['opt/.wh.org']], [['opt/org2/x']]],
    layerOf: {
      'opt/org/certs/ca.pem': undefined,
      'opt/org/certs': undefined,
      'opt/org': undefined,
      'opt/keep': 0,
      opt: 2,
    },
  },
  {
    name: 'a directory deleted then recreated shows only the new children',
    layers: [[['opt/org/old.pem']], [['opt/.wh.org']], [['opt/org/new.pem']]],
    layerOf: { 'opt/org/old.pem': undefined, 'opt/org/new.pem': 2, 'opt/org': 2 },
  },
  {
    name: 'an opaque directory hides lower children but keeps its own layer and higher ones',
    layers: [
      [['etc/ssl/certs/ca.pem'], ['etc/ssl/certs/sub/deep.pem'], ['etc/ssl/other']],
      [['etc/ssl/certs', 'dir'], ['etc/ssl/certs/.wh..wh..opq'], ['etc/ssl/certs/mine.pem']],
      [['etc/ssl/certs/later.pem']],
    ],
    layerOf: {
      'etc/ssl/certs/ca.pem': undefined,
      'etc/ssl/certs/sub/deep.pem': undefined,
      'etc/ssl/certs/mine.pem': 1,
      'etc/ssl/certs/later.pem': 2,
      'etc/ssl/other': 0,
    },
  },
  {
    name: 'a file in a higher layer replacing a directory hides all below it',
    layers: [[['data/ca.pem'], ['data/sub/x']], [['data', 'file']]],
    layerOf: { data: 1, 'data/ca.pem': undefined, 'data/sub/x': undefined },
    resolve: { '/data': ['/data', 'file'], '/data/ca.pem': undefined },
  },
  {
    name: 'a directory replacing a lower file',
    layers: [[['data', 'file']], [['data/ca.pem']]],
    layerOf: { data: 1, 'data/ca.pem': 1 },
  },
  {
    name: 'a symlink replacing a directory hides its lower children',
    layers: [[['lib/x.so']], [['lib', 'symlink', 'usr/lib'], ['usr/lib/x.so']]],
    layerOf: { 'lib/x.so': undefined, lib: 1 },
    resolve: { '/lib/x.so': ['/usr/lib/x.so', 'file'] },
  },
  {
    name: 'symlinks resolve relative, absolute, chained and through directories',
    layers: [
      [['usr/local/share/ca/org.crt'], ['etc/ssl/certs', 'dir']],
      [
        ['etc/ssl/certs/abcd.0', 'symlink', '../../../usr/local/share/ca/org.crt'],
        ['etc/ssl/cert.pem', 'symlink', '/etc/ssl/certs/abcd.0'],
        ['etc/alias', 'symlink', 'ssl'],
        ['etc/loop', 'symlink', 'loop'],
        ['etc/dangling', 'symlink', '/nowhere/x'],
      ],
    ],
    layerOf: { 'etc/ssl/cert.pem': 1, 'usr/local/share/ca/org.crt': 0 },
    resolve: {
      '/etc/ssl/certs/abcd.0': ['/usr/local/share/ca/org.crt', 'file'],
      '/etc/ssl/cert.pem': ['/usr/local/share/ca/org.crt', 'file'],
      '/etc/alias/cert.pem': ['/usr/local/share/ca/org.crt', 'file'],
      '/etc/alias/certs': ['/etc/ssl/certs', 'dir'],
      '/etc/loop': undefined,
      '/etc/dangling': undefined,
      'ssl/cert.pem': ['/usr/local/share/ca/org.crt', 'file'],
    },
  },
  {
    name: 'a symlink whose target was deleted by a later layer is dangling',
    layers: [[['etc/ca.pem'], ['etc/link', 'symlink', 'ca.pem']], [['etc/.wh.ca.pem']]],
    layerOf: { 'etc/link': 0, 'etc/ca.pem': undefined },
    resolve: { '/etc/link': undefined },
  },
  {
    name: 'a hard link is a file of its own, not followed',
    layers: [[['etc/ca.pem'], ['etc/copy.pem', 'hardlink', 'etc/ca.pem']], [['etc/.wh.ca.pem']]],
    layerOf: { 'etc/copy.pem': 0, 'etc/ca.pem': undefined },
    resolve: { '/etc/copy.pem': ['/etc/copy.pem', 'hardlink'] },
  },
  {
    name: 'device nodes keep their type; the root is a directory',
    layers: [[['dev/null', 'other']]],
    layerOf: { 'dev/null': 0, '': undefined },
    resolve: { '/dev/null': ['/dev/null', 'other'], '/': ['/', 'dir'], '/dev/..': ['/', 'dir'] },
  },
];

describe('FinalFs: visibility from compact layer indexes', () => {
  test.each(cases)('$name', ({ layers, layerOf, resolve }) => {
    const fs = fsOf(layers);
    for (const [path, expected] of Object.entries(layerOf)) expect([path, fs.layerOf(path)]).toEqual([path, expected]);
    for (const [path, expected] of Object.entries(resolve ?? {})) {
      const got = fs.resolve(path, '/etc');
      expect([path, got ? [got.path, got.type] : undefined]).toEqual([path, expected]);
    }
  });
});

describe('LayerIndexBuilder', () => {
  test('keeps sorted distinct hashes, whiteouts and links as strings, nothing per file beyond the hash', () => {
    const b = new LayerIndexBuilder();
    for (let i = 0; i < 5000; i++) b.add(`srv/d${i % 7}/f${i}`, 'file');
    b.add('srv/d1', 'dir');
    b.add('srv/.wh.gone', 'file');
    b.add('srv/d2/.wh..wh..opq', 'file');
    b.add('srv/l', 'symlink', 'd1');
    b.add('srv/h', 'hardlink', 'srv/d1/f1');
    const index = b.finish();
    expect(index.nondirs.length).toBe(5002);
    expect(index.dirs.length).toBe(8); // srv and its 7 subdirectories, each once
    expect([...index.nondirs].every((h, i, all) => i === 0 || all[i - 1]! < h)).toBe(true);
    expect(index.nondirs.buffer.byteLength).toBe(5002 * 8);
    expect(index.dirs).toContain(pathHash('srv/d6'));
    expect(index.whiteouts).toEqual(['srv/gone']);
    expect(index.opaques).toEqual(['srv/d2']);
    expect(index.symlinks).toEqual([['srv/l', 'd1']]);
    expect(index.hardlinks).toEqual([['srv/h', 'srv/d1/f1']]);
  });

  test('files cost about 8 bytes each', () => {
    const b = new LayerIndexBuilder();
    for (let i = 0; i < 200_000; i++) b.add(`srv/d${Math.floor(i / 1000)}/f${i}.txt`, 'file');
    const index = b.finish();
    expect(index.nondirs.buffer.byteLength + index.dirs.buffer.byteLength).toBeLessThan(8.1 * 200_000);
    expect(fsOfIndex(index).layerOf('srv/d199/f199999.txt')).toBe(0);
    expect(fsOfIndex(index).layerOf('srv/d199/f200000.txt')).toBeUndefined();
  });
});

function fsOfIndex(index: ReturnType<LayerIndexBuilder['finish']>): FinalFs {
  return FinalFs.build([index]);
}

describe('judgePointer on a directory of certificates', () => {
  const fs = fsOf([
    [['usr/local/share/ca/org.crt'], ['etc/ssl/certs/public.pem'], ['etc/pki/org.pem']],
    [
      ['etc/ssl/certs/abcd.0', 'symlink', '/usr/local/share/ca/org.crt'],
      ['etc/ssl/certs/efgh.0', 'symlink', 'public.pem'],
    ],
  ]);
  test.each([
    [
      'a symlink in the directory leads to the CA',
      '/etc/ssl/certs',
      ['/usr/local/share/ca/org.crt'],
      { kind: 'pointer-to-ca', file: '/usr/local/share/ca/org.crt' },
    ],
    [
      'the CA is a file in the directory',
      '/etc/pki',
      ['/etc/pki/org.pem'],
      { kind: 'pointer-to-ca', file: '/etc/pki/org.pem' },
    ],
    ['nothing in the directory is the CA', '/etc/ssl/certs', ['/etc/pki/org.pem'], undefined],
    ['the directory is missing', '/etc/nope', [], { kind: 'pointer-missing', file: '/etc/nope' }],
  ])('%s', (_name, dir, caPaths, expected) => {
    expect(
      judgePointer(
        { where: 'config.Env[0]', setting: 'SSL_CERT_DIR', value: dir, form: 'path-list' },
        fs,
        new Set(caPaths),
      ),
    ).toEqual(expected);
  });
});
