/**
 * Fail closed, with the right words: a table of mangled inputs (shapes that are not images, transports that do not
 * match, truncations, bit flips and garbage in tar headers, JSON of every wrong shape), each run through the bundled
 * CLI as a user would. Every case must exit non-zero (2 for an input that is no readable image, 1 for a part that
 * could not be read) within its time bound, say one line that names the real cause (no
 * stack trace, no JavaScript TypeError), write nothing outside its temp dir and leave the input untouched.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Report } from '../../../src/leak/types.js';
import { IMAGE_FILES, makeInputShapes, type InputShapes } from './inputs.js';
import { MEDIA, sha256, tarOf } from './layout.js';
import { bundle, NODE } from './support.js';
import { logLine } from '../../../src/output/log-line.js';

const FINGERPRINT = 'ab'.repeat(32);
/** Generous for a 2-core machine shared with other suites; the inputs are a few kilobytes. */
const TIME_BOUND_MS = 30_000;
let work: string;
let cli: string;
let shapes: InputShapes;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-failclosed-'));
  shapes = makeInputShapes(join(work, 'shapes'));
  cli = await bundle();
}, 300_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

// ---- Builders of mangled inputs -----------------------------------------------------------------------------------

type Mutator = (doc: Record<string, unknown>) => unknown;
interface LayoutMutations {
  readonly layer?: Buffer;
  readonly config?: Mutator;
  readonly manifest?: Mutator;
  readonly index?: Mutator;
  readonly omit?: 'manifest' | 'config' | 'layer';
}

const bytesOf = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(JSON.stringify(v) ?? ''));
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** An OCI layout of one image, its documents passed through the mutators; digests always match the bytes. */
function layout(name: string, m: LayoutMutations = {}): string {
  const dir = join(work, 'cases', name);
  mkdirSync(join(dir, 'blobs/sha256'), { recursive: true });
  const put = (b: Buffer, role: LayoutMutations['omit']): { digest: string; size: number } => {
    const hex = sha256(b);
    if (m.omit !== role) writeFileSync(join(dir, 'blobs/sha256', hex), b);
    return { digest: `sha256:${hex}`, size: b.length };
  };
  const tar = tarOf(IMAGE_FILES);
  const layer = { mediaType: MEDIA.layerGzip, ...put(m.layer ?? gzipSync(tar), 'layer') };
  const config = {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/bin'], Cmd: ['/app/run'], Labels: { team: 'a' } },
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(tar)}`] },
    history: [{ created_by: 'COPY . /' }],
  };
  const configDesc = {
    mediaType: MEDIA.config,
    ...put(bytesOf(m.config ? m.config(clone(config)) : config), 'config'),
  };
  const manifest = { schemaVersion: 2, mediaType: MEDIA.manifest, config: configDesc, layers: [layer] };
  const manifestDesc = {
    mediaType: MEDIA.manifest,
    ...put(bytesOf(m.manifest ? m.manifest(clone(manifest)) : manifest), 'manifest'),
    platform: { os: 'linux', architecture: 'amd64' },
  };
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [{ ...manifestDesc, annotations: { 'org.opencontainers.image.ref.name': '1' } }],
  };
  writeFileSync(join(dir, 'index.json'), bytesOf(m.index ? m.index(clone(index)) : index));
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  return dir;
}

/** The extracted docker save of the shapes, with its manifest.json replaced. */
function dockerSave(name: string, manifestJson: unknown): string {
  const dir = join(work, 'cases', name);
  cpSync(shapes.legacyDir, dir, { recursive: true });
  writeFileSync(join(dir, 'manifest.json'), bytesOf(manifestJson));
  return dir;
}

/** Offsets and names of the headers of a well-formed tar. */
function headers(tar: Buffer): { offset: number; name: string }[] {
  const out: { offset: number; name: string }[] = [];
  for (let pos = 0; pos + 512 <= tar.length;) {
    const h = tar.subarray(pos, pos + 512);
    if (h.every((b) => b === 0)) break;
    const size = parseInt(h.toString('latin1', 124, 136).replace(/\0.*$/, ''), 8) || 0;
    out.push({ offset: pos, name: h.toString('latin1', 0, 100).replace(/\0.*$/s, '') });
    pos += 512 + Math.ceil(size / 512) * 512;
  }
  return out;
}

/** Writes `value` into a header field and recomputes the checksum, so only that field is wrong. */
function withField(tar: Buffer, headerAt: number, offset: number, value: Buffer): Buffer {
  const out = Buffer.from(tar);
  value.copy(out, headerAt + offset);
  out.fill(0x20, headerAt + 148, headerAt + 156);
  let sum = 0;
  for (let i = headerAt; i < headerAt + 512; i++) sum += out[i]!;
  out.write(sum.toString(8).padStart(6, '0') + '\0 ', headerAt + 148, 'latin1');
  return out;
}

function flipBit(buf: Buffer, at: number): Buffer {
  const out = Buffer.from(buf);
  out[at]! ^= 0x10;
  return out;
}

function file(name: string, bytes: Buffer): string {
  const path = join(work, 'cases', name);
  mkdirSync(join(work, 'cases'), { recursive: true });
  writeFileSync(path, bytes);
  return path;
}

const SIZE = 124;
/** GNU base-256: the first byte's high bit set, then the value big-endian. */
const base256 = (bytes: number[]): Buffer =>
  Buffer.from([...Array(12 - bytes.length).fill(0), ...bytes].map((b, i) => (i === 0 ? b | 0x80 : b)));
const deep = (n: number): Buffer => Buffer.from('['.repeat(n) + ']'.repeat(n));

// ---- The table ------------------------------------------------------------------------------------------------------

/** `error`: the check cannot run, one line on stderr. `unscanned`: the rest is checked, the part is listed. */
interface Case {
  readonly name: string;
  readonly image: () => string;
  readonly expect: RegExp;
  readonly as: 'error' | 'unscanned';
}

const cases: Case[] = [
  // What the input is
  {
    name: 'bare directory that is not an image',
    image: () => shapes.plainDir,
    as: 'error',
    expect: /holds no image .*write rootfs:/,
  },
  {
    name: 'empty directory',
    image: () => shapes.emptyDir,
    as: 'error',
    expect: /empty directory: .*type=oci,tar=false.*rerun the export/,
  },
  {
    name: 'OCI layout without index.json',
    image: () => shapes.noIndexDir,
    as: 'error',
    expect: /no index\.json: .*re-export the image/,
  },
  { name: 'oci: on a tar', image: () => `oci:${shapes.ociTar}`, as: 'error', expect: /write oci-archive:/ },
  {
    name: 'docker-archive: on an OCI layout',
    image: () => `docker-archive:${shapes.ociDir}`,
    as: 'error',
    expect: /write oci:/,
  },
  {
    name: 'oci-archive: on a docker save',
    image: () => `oci-archive:${shapes.legacyTar}`,
    as: 'error',
    expect: /write docker-archive:/,
  },
  { name: 'rootfs: on an OCI layout', image: () => `rootfs:${shapes.ociDir}`, as: 'error', expect: /write oci:/ },
  { name: 'dir: on a plain directory', image: () => `dir:${shapes.plainDir}`, as: 'error', expect: /write rootfs:/ },

  // index.json of every wrong shape
  {
    name: 'index.json is null',
    image: () => layout('index-null', { index: () => null }),
    as: 'error',
    expect: /index\.json: the document is null, expected an image index/,
  },
  {
    name: 'index.json is a list',
    image: () => layout('index-list', { index: () => [] }),
    as: 'error',
    expect: /index\.json: the document is a list, expected an image index/,
  },
  {
    name: 'index.json is not JSON',
    image: () => layout('index-garbage', { index: () => Buffer.from('{"manifests": [') }),
    as: 'error',
    expect: /index\.json: not valid JSON/,
  },
  {
    name: 'index.json is empty',
    image: () => layout('index-empty-file', { index: () => Buffer.alloc(0) }),
    as: 'error',
    expect: /index\.json: not valid JSON/,
  },
  {
    name: 'index.json lists no manifests',
    image: () => layout('index-no-manifests', { index: (i) => ({ ...i, manifests: [] }) }),
    as: 'error',
    expect: /lists no image/,
  },
  {
    name: 'index.json manifests: null (Docker 25)',
    image: () => layout('index-manifests-null', { index: (i) => ({ ...i, manifests: null }) }),
    as: 'error',
    expect: /lists no image/,
  },
  {
    name: 'index.json manifests is a string',
    image: () => layout('index-manifests-string', { index: (i) => ({ ...i, manifests: 'x' }) }),
    as: 'error',
    expect: /index\.json: manifests is the string "x", expected a list of descriptors/,
  },
  {
    name: 'a null entry in manifests',
    image: () => layout('index-null-entry', { index: (i) => ({ ...i, manifests: [null] }) }),
    as: 'error',
    expect: /index\.json: manifests\[0\] is null, expected a descriptor/,
  },
  {
    name: 'a number as digest',
    image: () =>
      layout('index-digest-number', {
        index: (i) => ({ manifests: [{ ...(i.manifests as object[])[0], digest: 5 }] }),
      }),
    as: 'error',
    expect: /manifests\[0\]\.digest is the number 5, expected a digest/,
  },
  {
    name: 'a digest that walks out of blobs/',
    image: () =>
      layout('index-digest-traversal', {
        index: (i) => ({ manifests: [{ ...(i.manifests as object[])[0], digest: 'sha256:../../../etc/passwd' }] }),
      }),
    as: 'error',
    expect: /manifests\[0\]\.digest is the string "sha256:\.\.\/\.\.\/\.\.\/etc\/passwd", expected a digest/,
  },
  {
    name: 'a descriptor without mediaType',
    image: () =>
      layout('index-no-mediatype', {
        index: (i) => ({ manifests: [{ ...(i.manifests as object[])[0], mediaType: undefined }] }),
      }),
    as: 'error',
    expect: /manifests\[0\]\.mediaType is missing, expected a string/,
  },
  {
    name: 'size as a string',
    image: () =>
      layout('index-size-string', {
        index: (i) => ({ manifests: [{ ...(i.manifests as object[])[0], size: '345' }] }),
      }),
    as: 'error',
    expect: /manifests\[0\]\.size is the string "345", expected a whole number/,
  },
  {
    name: 'a negative size',
    image: () =>
      layout('index-size-negative', { index: (i) => ({ manifests: [{ ...(i.manifests as object[])[0], size: -1 }] }) }),
    as: 'error',
    expect: /manifests\[0\]\.size is the number -1/,
  },
  {
    name: 'platform as a string',
    image: () =>
      layout('index-platform-string', {
        index: (i) => ({ manifests: [{ ...(i.manifests as object[])[0], platform: 'linux/amd64' }] }),
      }),
    as: 'error',
    expect: /manifests\[0\]\.platform is the string "linux\/amd64", expected an object with os and architecture/,
  },
  {
    name: 'annotations as a list',
    image: () =>
      layout('index-annotations-list', {
        index: (i) => ({ manifests: [{ ...(i.manifests as object[])[0], annotations: ['a'] }] }),
      }),
    as: 'error',
    expect: /manifests\[0\]\.annotations is a list, expected an object of strings/,
  },
  {
    name: 'deeply nested garbage in manifests',
    image: () => layout('index-deep', { index: () => Buffer.from(`{"manifests":${deep(200_000).toString()}}`) }),
    as: 'error',
    expect: /index\.json: manifests\[0\] is a list, expected a descriptor/,
  },
  {
    name: 'an index pointing at a missing manifest',
    image: () => layout('index-missing-manifest', { omit: 'manifest' }),
    as: 'error',
    expect:
      /no image could be read from .*index\.json manifests\[0\] .*: the manifest sha256:[0-9a-f]{64} it points at is missing from the input: the export is incomplete/,
  },

  // a manifest of every wrong shape (the index is fine): nothing can be planned, so the whole input is an error
  {
    name: 'manifest is null',
    image: () => layout('manifest-null', { manifest: () => null }),
    as: 'error',
    expect: /blobs\/sha256\/[0-9a-f]{64} is neither an image manifest .* nor an image index/,
  },
  {
    name: 'a null layer',
    image: () => layout('manifest-null-layer', { manifest: (m) => ({ ...m, layers: [null] }) }),
    as: 'error',
    expect: /blobs\/sha256\/[0-9a-f]{64}: layers\[0\] is null, expected a descriptor/,
  },
  {
    name: 'layers as an object',
    image: () => layout('manifest-layers-object', { manifest: (m) => ({ ...m, layers: {} }) }),
    as: 'error',
    expect: /layers is an object, expected a list of descriptors/,
  },
  {
    name: 'config digest is a number',
    image: () =>
      layout('manifest-config-digest', { manifest: (m) => ({ ...m, config: { ...(m.config as object), digest: 7 } }) }),
    as: 'error',
    expect: /config\.digest is the number 7, expected a digest/,
  },
  {
    name: 'a layer without mediaType',
    image: () =>
      layout('manifest-layer-no-mediatype', {
        manifest: (m) => ({ ...m, layers: [{ ...(m.layers as object[])[0], mediaType: undefined }] }),
      }),
    as: 'error',
    expect: /layers\[0\]\.mediaType is missing, expected a string/,
  },
  {
    name: 'a Docker schema 1 manifest',
    image: () => layout('manifest-schema1', { manifest: () => ({ schemaVersion: 1, fsLayers: [] }) }),
    as: 'error',
    expect: /Docker schema 1 manifest, which is not supported/,
  },
  {
    name: 'manifest is not JSON',
    image: () => layout('manifest-garbage', { manifest: () => Buffer.from('\x00\x01garbage') }),
    as: 'error',
    expect: /blobs\/sha256\/[0-9a-f]{64}: not valid JSON/,
  },

  // a config of every wrong shape: the layers are still checked, the config is listed as not scanned
  {
    name: 'Env as a string',
    image: () => layout('config-env-string', { config: (c) => ({ ...c, config: { Env: 'PATH=/bin' } }) }),
    as: 'unscanned',
    expect: /blobs\/sha256\/[0-9a-f]{64}: config\.Env is the string "PATH=\/bin", expected a list of strings/,
  },
  {
    name: 'a number in Env',
    image: () => layout('config-env-number', { config: (c) => ({ ...c, config: { Env: ['A=b', 42] } }) }),
    as: 'unscanned',
    expect: /config\.Env\[1\] is the number 42, expected a string/,
  },
  {
    name: 'history as an object',
    image: () => layout('config-history-object', { config: (c) => ({ ...c, history: { created_by: 'x' } }) }),
    as: 'unscanned',
    expect: /history is an object, expected a list of history entries/,
  },
  {
    name: 'created_by as a number',
    image: () => layout('config-created-by', { config: (c) => ({ ...c, history: [{ created_by: 1 }] }) }),
    as: 'unscanned',
    expect: /history\[0\]\.created_by is the number 1, expected a string/,
  },
  {
    name: 'Labels as a list',
    image: () => layout('config-labels-list', { config: (c) => ({ ...c, config: { Labels: ['a=b'] } }) }),
    as: 'unscanned',
    expect: /config\.Labels is a list, expected an object of strings/,
  },
  {
    name: 'a label value as a number',
    image: () =>
      layout('config-label-number', { config: (c) => ({ ...c, config: { Labels: { 'org.example/v': 2 } } }) }),
    as: 'unscanned',
    expect: /config\.Labels\["org\.example\/v"\] is the number 2, expected a string/,
  },
  {
    name: 'Entrypoint as a number',
    image: () => layout('config-entrypoint', { config: (c) => ({ ...c, config: { Entrypoint: 5 } }) }),
    as: 'unscanned',
    expect: /config\.Entrypoint is the number 5, expected a list of strings or a string/,
  },
  {
    name: 'diff_ids of numbers',
    image: () => layout('config-diffids', { config: (c) => ({ ...c, rootfs: { diff_ids: [1] } }) }),
    as: 'unscanned',
    expect: /rootfs\.diff_ids\[0\] is the number 1, expected a digest/,
  },
  {
    name: 'config is null',
    image: () => layout('config-null', { config: () => null }),
    as: 'unscanned',
    expect: /the document is null, expected an image config/,
  },
  {
    name: 'deeply nested garbage in Env',
    image: () => layout('config-deep', { config: () => Buffer.from(`{"config":{"Env":${deep(200_000).toString()}}}`) }),
    as: 'unscanned',
    expect: /config\.Env\[0\] is a list, expected a string/,
  },
  {
    name: 'a missing config blob',
    image: () => layout('config-missing', { omit: 'config' }),
    as: 'unscanned',
    expect: /blobs\/sha256\/[0-9a-f]{64} is missing from the input/,
  },
  {
    name: 'a missing layer blob',
    image: () => layout('layer-missing', { omit: 'layer' }),
    as: 'unscanned',
    expect: /referenced blob is missing from the input/,
  },

  // docker save's manifest.json
  {
    name: 'manifest.json is an object',
    image: () => dockerSave('save-object', { Config: 'x' }),
    as: 'error',
    expect: /manifest\.json: the document is an object, expected a list of images/,
  },
  {
    name: 'manifest.json has a null entry',
    image: () => dockerSave('save-null', [null]),
    as: 'error',
    expect: /manifest\.json: \[0\] is null, expected an object with Config and Layers/,
  },
  {
    name: 'Config as a number',
    image: () => dockerSave('save-config-number', [{ Config: 5, Layers: [] }]),
    as: 'error',
    expect: /manifest\.json: \[0\]\.Config is the number 5, expected a string/,
  },
  {
    name: 'Layers as a string',
    image: () => dockerSave('save-layers-string', [{ Config: 'c.json', Layers: 'a/layer.tar' }]),
    as: 'error',
    expect: /\[0\]\.Layers is the string "a\/layer\.tar", expected a list of paths/,
  },
  {
    name: 'manifest.json lists nothing',
    image: () => dockerSave('save-empty', []),
    as: 'error',
    expect: /lists no image/,
  },

  // the archive's own tar headers
  {
    name: 'archive cut at 10%',
    image: () =>
      file('cut10.tar', readFileSync(shapes.ociTar).subarray(0, Math.floor(statSync(shapes.ociTar).size / 10))),
    as: 'error',
    expect: /not a readable tar archive: .*truncated/,
  },
  {
    name: 'archive cut inside its last entry',
    image: () => {
      const tar = readFileSync(shapes.ociTar);
      return file('cut-last.tar', tar.subarray(0, headers(tar).at(-1)!.offset + 520));
    },
    as: 'error',
    expect: /not a readable tar archive: archive truncated inside 'oci-layout'/,
  },
  {
    name: 'archive with a flipped bit in a header name',
    image: () => file('flip-name.tar', flipBit(readFileSync(shapes.ociTar), 3)),
    as: 'error',
    expect: /not a readable tar archive: bad tar header checksum at byte 0 \('bl.?.?s\/'\)/,
  },
  {
    name: 'archive with a flipped bit in the magic',
    image: () => file('flip-magic.tar', flipBit(readFileSync(shapes.ociTar), 258)),
    as: 'error',
    expect: /is a file that is not a tar archive: expected a docker save or OCI archive/,
  },
  {
    name: 'archive header size not octal',
    image: () =>
      file('size-garbage.tar', withField(readFileSync(shapes.ociTar), 0, SIZE, Buffer.from('zzzzzzzzzzz\0'))),
    as: 'error',
    expect: /invalid tar header at byte 0 \('blobs\/'\): size field 'zzzzzzzzzzz' is not an octal number/,
  },
  {
    name: 'archive header size base-256 negative',
    image: () => file('size-negative.tar', withField(readFileSync(shapes.ociTar), 0, SIZE, Buffer.alloc(12, 0xff))),
    as: 'error',
    expect: /invalid tar header at byte 0 \('blobs\/'\): size field is a negative base-256 number/,
  },
  {
    name: 'archive header size base-256 over 2^53',
    image: () => file('size-huge.tar', withField(readFileSync(shapes.ociTar), 0, SIZE, base256(Array(11).fill(0xff)))),
    as: 'error',
    expect: /invalid tar header at byte 0 \('blobs\/'\): size field is a base-256 number over 2\^53/,
  },
  {
    name: 'archive with a huge base-256 file size',
    image: () => {
      const tar = readFileSync(shapes.ociTar);
      const at = headers(tar).find((h) => h.name === 'index.json')!.offset;
      return file('size-big-file.tar', withField(tar, at, SIZE, base256([0x10, 0, 0, 0, 0, 0])));
    },
    as: 'error',
    expect: /archive truncated inside 'index\.json'/,
  },

  // tar headers inside a layer: a tar error names the entry and is not blamed on gzip
  {
    name: 'layer header size not octal',
    image: () =>
      layout('layer-size-garbage', {
        layer: gzipSync(withField(tarOf(IMAGE_FILES), 0, SIZE, Buffer.from('zz99zz99zz9\0'))),
      }),
    as: 'unscanned',
    expect: /^invalid tar header at entry 1 \('etc\/hello\.txt'\): size field 'zz99zz99zz9' is not an octal number$/,
  },
  {
    name: 'layer header size base-256 negative',
    image: () =>
      layout('layer-size-negative', {
        layer: gzipSync(withField(tarOf(IMAGE_FILES), 0, SIZE, Buffer.alloc(12, 0xff))),
      }),
    as: 'unscanned',
    expect: /^invalid tar header at entry 1 \('etc\/hello\.txt'\): size field is a negative base-256 number$/,
  },
  {
    name: 'layer with a bad header checksum',
    image: () => layout('layer-checksum', { layer: gzipSync(flipBit(tarOf(IMAGE_FILES), 1)) }),
    as: 'unscanned',
    expect: /^bad tar header checksum at entry 1/,
  },
  {
    name: 'layer tar cut inside an entry',
    image: () =>
      layout('layer-cut', { layer: gzipSync(tarOf({ 'big.bin': Buffer.alloc(4096, 1) }).subarray(0, 2048)) }),
    as: 'unscanned',
    expect: /tar stream truncated inside entry 1 \('big\.bin'\)/,
  },
  {
    name: 'a flipped bit inside the gzip data (the blob no longer matches its digest)',
    image: () => {
      const dir = layout('layer-flip');
      const blobs = join(dir, 'blobs/sha256');
      const gz = readdirSync(blobs)
        .map((n) => join(blobs, n))
        .find((p) => readFileSync(p)[0] === 0x1f)!;
      writeFileSync(gz, flipBit(readFileSync(gz), 40));
      return dir;
    },
    as: 'unscanned',
    expect: /gzip data is corrupt|gzip stream is truncated|the blob is corrupt: its digest is|blob digest is/,
  },
];

// ---- The runs -------------------------------------------------------------------------------------------------------

function treeHash(path: string): string {
  const h = createHash('sha256');
  const walk = (p: string): void => {
    const st = statSync(p);
    h.update(`${p}\0${st.mode}\0`);
    if (st.isDirectory()) for (const n of readdirSync(p).sort()) walk(join(p, n));
    else h.update(readFileSync(p));
  };
  walk(path);
  return h.digest('hex');
}

test.each(cases.map((c) => [c.name, c] as const))(
  '%s',
  (_name, c) => {
    const image = c.image();
    const path = image.replace(/^(oci|oci-archive|docker-archive|dir|rootfs):/, '');
    const before = treeHash(path);
    // A fresh cwd, HOME and TMPDIR: after the run all three must be empty again.
    const sandbox = mkdtempSync(join(work, 'sandbox-'));
    const [cwd, home, temp] = ['cwd', 'home', 'tmp'].map((d) => join(sandbox, d));
    for (const d of [cwd, home, temp]) mkdirSync(d!);
    const started = Date.now();
    const r = spawnSync(
      NODE,
      [join(cli, 'cli/index.js'), 'leak-check', image, '--fingerprint', FINGERPRINT, '--json'],
      {
        cwd,
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOME: home, TMPDIR: temp },
        timeout: TIME_BOUND_MS * 2,
      },
    );
    const elapsed = Date.now() - started;

    // An input that cannot be read as an image at all is an input error (2, as for every org-ca command); a part of an
    // image that could not be read is a failed check (1). Neither is ever 0.
    expect(r.status).toBe(c.as === 'error' ? 2 : 1);
    expect(elapsed).toBeLessThan(TIME_BOUND_MS);
    for (const out of [r.stdout, r.stderr]) {
      expect(out).not.toMatch(/^\s+at /m);
      expect(out).not.toMatch(
        /TypeError|RangeError|ReferenceError|SyntaxError: Unexpected|Cannot read propert|is not a function|Maximum call stack/,
      );
    }
    const report = JSON.parse(r.stdout) as Report;
    if (c.as === 'error') {
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^org-ca leak-check: /);
      expect(lines[0]).toMatch(c.expect);
      // The --json report says the same, so a pipeline's report file is never empty.
      // (the log line shows control characters escaped; the JSON keeps the text as it was, JSON-escaped)
      expect(logLine(report.error!)).toBe(lines[0]!.replace(/^org-ca leak-check: /, ''));
    } else {
      expect(r.stderr).toBe('');
      expect(report.error).toBeUndefined();
      expect(report.unscanned.length).toBeGreaterThan(0);
      for (const u of report.unscanned) expect(`${u.what}: ${u.reason}`).not.toContain('\n');
      expect(report.unscanned.map((u) => u.reason)).toContainEqual(expect.stringMatching(c.expect));
    }
    for (const d of [cwd, home, temp]) expect(readdirSync(d!)).toEqual([]);
    expect(treeHash(path)).toBe(before);
  },
  120_000,
);
