/**
 * The shape checks of image metadata, the tar header errors and the report of a check that could not run: pure
 * functions, tested by tables.
 */
import { CaInputError } from '../../../../src/ca/parse.js';
import {
  failureReport,
  renderMarkdown,
  renderSarif,
  renderText,
  safeMessage,
} from '../../../../src/leak/reporting/report.js';
import { artifactUri } from '../../../../src/output/sarif-uri.js';
import {
  descriptor,
  dockerSaveManifest,
  imageConfig,
  imageIndex,
  imageManifest,
  parseDocument,
  ShapeError,
} from '../../../../src/leak/sources/shapes.js';
import { TarError, TarParser, type TarHeader } from '../../../../src/leak/tar.js';
import { tarOf } from '../../../e2e/leak/layout.js';

const D = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'a'.repeat(64)}`, size: 10 };
const doc = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

describe('documents of the right shape are read, typed', () => {
  test('an index with Go nulls (Docker 25: manifests null) and extra fields', () => {
    expect(
      parseDocument(doc({ schemaVersion: 2, manifests: null, extra: { any: 1 } }), 'index.json', imageIndex),
    ).toEqual({});
    expect(
      parseDocument(
        doc({
          manifests: [
            { ...D, annotations: null, urls: null, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
          ],
        }),
        'index.json',
        imageIndex,
      ).manifests![0]!.platform,
    ).toEqual({
      os: 'linux',
      architecture: 'arm64',
      variant: 'v8',
    });
  });
  test('a config with Go nulls and Entrypoint as a string (strslice)', () => {
    const c = parseDocument(
      doc({
        config: { Env: null, Cmd: null, Entrypoint: '/bin/sh', Labels: null },
        history: null,
        rootfs: { type: 'layers', diff_ids: [D.digest] },
      }),
      'c',
      imageConfig,
    );
    expect(c.config!.Entrypoint).toBe('/bin/sh');
    expect(c.rootfs!.diff_ids).toEqual([D.digest]);
  });
  test('annotations are a prototype-free map: __proto__ is a key like any other', () => {
    const m = parseDocument(
      Buffer.from(`{"config":${JSON.stringify(D)},"layers":[],"annotations":{"__proto__":"x","a":"b"}}`),
      'm',
      imageManifest,
    );
    expect(Object.getPrototypeOf(m.annotations)).toBeNull();
    expect(m.annotations!['__proto__']).toBe('x');
  });
});

describe('every wrong shape is one ShapeError naming the file and the field', () => {
  test.each<[string, Buffer, Parameters<typeof parseDocument>[2], string]>([
    ['not JSON', Buffer.from('{'), imageIndex, /^index\.json: not valid JSON \(/.source],
    ['null document', doc(null), imageIndex, '^index\\.json: the document is null, expected an image index'],
    [
      'null entry',
      doc({ manifests: [null] }),
      imageIndex,
      '^index\\.json: manifests\\[0\\] is null, expected a descriptor',
    ],
    [
      'digest traversal',
      doc({ manifests: [{ ...D, digest: 'sha256:../x' }] }),
      imageIndex,
      'manifests\\[0\\]\\.digest is the string "sha256:\\.\\./x", expected a digest',
    ],
    [
      'size as string',
      doc({ manifests: [{ ...D, size: '10' }] }),
      imageIndex,
      'manifests\\[0\\]\\.size is the string "10"',
    ],
    [
      'fractional size',
      doc({ manifests: [{ ...D, size: 1.5 }] }),
      imageIndex,
      'manifests\\[0\\]\\.size is the number 1\\.5, expected a whole number',
    ],
    [
      'missing mediaType',
      doc({ manifests: [{ digest: D.digest, size: 1 }] }),
      imageIndex,
      'manifests\\[0\\]\\.mediaType is missing, expected a string',
    ],
    [
      'platform without os',
      doc({ manifests: [{ ...D, platform: { architecture: 'amd64' } }] }),
      imageIndex,
      'manifests\\[0\\]\\.platform\\.os is missing',
    ],
    [
      'Env as a string',
      doc({ config: { Env: 'A=b' } }),
      imageConfig,
      'config\\.Env is the string "A=b", expected a list of strings',
    ],
    [
      'a long bad value is described, not quoted',
      doc({ config: { Env: 'x'.repeat(300) } }),
      imageConfig,
      'config\\.Env is a string of 300 characters',
    ],
    [
      'history as an object',
      doc({ history: {} }),
      imageConfig,
      '^c: history is an object, expected a list of history entries',
    ],
    [
      'empty_layer as a string',
      doc({ history: [{ empty_layer: 'true' }] }),
      imageConfig,
      'history\\[0\\]\\.empty_layer is the string "true", expected true or false',
    ],
    [
      'a label key with dots',
      doc({ config: { Labels: { 'a.b': 1 } } }),
      imageConfig,
      'config\\.Labels\\["a\\.b"\\] is the number 1',
    ],
    ['a manifest without config', doc({ layers: [] }), imageManifest, 'config is missing, expected a descriptor'],
    ['docker save as an object', doc({}), dockerSaveManifest, 'the document is an object, expected a list of images'],
    [
      'docker save Layers of numbers',
      doc([{ Config: 'c', Layers: [1] }]),
      dockerSaveManifest,
      '\\[0\\]\\.Layers\\[0\\] is the number 1, expected a string',
    ],
  ])('%s', (_name, bytes, shape, message) => {
    const file = shape === imageConfig ? 'c' : shape === imageIndex ? 'index.json' : 'f';
    let thrown: unknown;
    try {
      parseDocument(bytes, file, shape);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ShapeError);
    expect((thrown as Error).message).toMatch(new RegExp(message));
    expect((thrown as Error).message).not.toContain('\n');
  });

  test('a descriptor is checked on its own too', () => {
    expect(() => descriptor({ ...D, urls: 'http://x' }, 'layers[3]')).toThrow(
      'layers[3].urls is the string "http://x", expected a list of URLs',
    );
  });
});

describe('tar header errors name the entry and the field', () => {
  /** A one-file tar whose size field is replaced (and the checksum fixed, so only the size is wrong). */
  function withSize(size: Buffer): Buffer {
    const tar = Buffer.from(tarOf({ 'etc/ssl/certs/org.pem': 'x' }));
    size.copy(tar, 124);
    tar.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += tar[i]!;
    tar.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    return tar;
  }
  const parse = (tar: Buffer): void => {
    const p = new TarParser({ entry: (_h: TarHeader) => undefined, data: () => undefined, entryEnd: () => undefined });
    p.write(tar);
    p.end();
  };

  test.each([
    [
      'not octal',
      Buffer.from('12345678zz9\0'),
      "invalid tar header at entry 1 ('etc/ssl/certs/org.pem'): size field '12345678zz9' is not an octal number",
    ],
    [
      'negative base-256',
      Buffer.alloc(12, 0xff),
      "invalid tar header at entry 1 ('etc/ssl/certs/org.pem'): size field is a negative base-256 number",
    ],
    [
      'base-256 over 2^53',
      Buffer.from([0x80, ...Array(11).fill(0xff)]),
      "invalid tar header at entry 1 ('etc/ssl/certs/org.pem'): size field is a base-256 number over 2^53",
    ],
  ])('size %s', (_name, size, message) => {
    expect(() => parse(withSize(size))).toThrow(TarError);
    expect(() => parse(withSize(size))).toThrow(message);
  });

  test('a PAX size that is not a number', () => {
    const record = (k: string, v: string): string => {
      const body = ` ${k}=${v}\n`;
      let n = body.length + 1;
      while (`${n}${body}`.length !== n) n++;
      return `${n}${body}`;
    };
    const pax = Buffer.from(tarOf({ PaxHeader: record('size', '-5') }));
    pax[156] = 'x'.charCodeAt(0);
    pax.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += pax[i]!;
    pax.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    const tar = Buffer.concat([pax.subarray(0, pax.length - 1024), tarOf({ 'a.txt': 'x' })]);
    expect(() => parse(tar)).toThrow(
      "invalid tar header at entry 1 ('a.txt'): PAX size '-5' is not a whole number of bytes",
    );
  });

  test('a stream cut inside an entry names it', () => {
    expect(() => parse(tarOf({ 'big.bin': Buffer.alloc(2000) }).subarray(0, 1024))).toThrow(
      "tar stream truncated inside entry 1 ('big.bin')",
    );
  });
});

describe('the report of a check that could not run', () => {
  const r = failureReport('oci:/x', "'/x' is an empty directory: rerun the export.");

  test('text is the one line; Markdown says nothing is counted clean', () => {
    expect(renderText(r)).toBe("FAILED: oci:/x: '/x' is an empty directory: rerun the export.");
    expect(renderMarkdown(r)).toContain('**Could not check** <code>oci:/x</code>: &#39;/x&#39; is an empty directory');
    expect(renderMarkdown(r)).toContain('nothing is counted clean');
  });

  test('SARIF: a run that did not execute successfully, the reason as a tool notification', () => {
    const sarif = renderSarif(r) as {
      runs: { results: unknown[]; invocations: unknown[]; tool: { driver: { notifications: { id: string }[] } } }[];
    };
    expect(sarif.runs[0]!.results).toEqual([]);
    expect(sarif.runs[0]!.invocations).toEqual([
      {
        executionSuccessful: false,
        toolExecutionNotifications: [{ level: 'error', message: { text: r.error }, descriptor: { id: 'input-error' } }],
      },
    ]);
    expect(sarif.runs[0]!.tool.driver.notifications.map((n) => n.id)).toEqual(['input-error', 'not-scanned']);
  });

  test('CA input messages are redacted; image messages keep their digests; always one line', () => {
    const b64 = Buffer.alloc(90, 7).toString('base64');
    expect(safeMessage(new CaInputError(`fingerprint '${b64}' is not a SHA-256 fingerprint`))).toBe(
      "fingerprint '[redacted base64]' is not a SHA-256 fingerprint",
    );
    const digest = `sha256:${'ab'.repeat(32)}`;
    expect(safeMessage(new Error(`blob ${digest}\nmissing`))).toBe(`blob ${digest} missing`);
  });

  test.each([
    ['Dockerfile', undefined, 'Dockerfile'],
    ['./build/Dockerfile', undefined, 'build/Dockerfile'],
    ['/home/runner/work/app/app/Dockerfile', '/home/runner/work/app/app', 'Dockerfile'],
    ['/elsewhere/Dockerfile', '/home/runner/work/app/app', 'file:///elsewhere/Dockerfile'],
  ])('SARIF location of %s (workspace %s)', (path, workspace, uri) => {
    expect(artifactUri(path, workspace)).toBe(uri);
  });
});
