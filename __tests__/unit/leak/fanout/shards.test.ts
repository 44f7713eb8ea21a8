/**
 * A run split into shards over real OCI layouts (real gzip, real digests): every shard reads a disjoint share of the
 * distinct layers (balanced by bytes), and the merge of all shards' reports is the report of one run over the images, findings hidden by
 * a later layer in another shard included. A missing, doubled, foreign, damaged or other-run shard is refused.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintRoot } from '../../../support/pki.js';
import { writeOciLayout } from '../../../e2e/leak/layout.js';
import { checkImages } from '../../../../src/leak/sweep.js';
import {
  checkShard,
  MergeError,
  mergeShards,
  readShardReport,
  serializeShardReport,
  type ShardReport,
} from '../../../../src/leak/fanout/shard-report.js';
import type { SweepReport } from '../../../../src/leak/types.js';
import { comparableSweep as comparable } from '../../../support/sweep.js';

const org = mintRoot({ cn: 'Shard Test Org Root', org: 'Org' });
const spec = { certs: [org], fingerprints: [] };
let work: string;
let images: string[];
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-shards-'));
  const BASE = { 'bin/app': 'binary\n', 'etc/os-release': 'ID=test\n' };
  const CA = 'usr/local/share/ca-certificates/org.crt';
  const layouts: Record<string, Record<string, string | Buffer>[]> = {
    clean: [BASE, { 'app/one': '1\n' }],
    // The CA copied in, then deleted by a later layer: still shipped, in the lower layer.
    hidden: [BASE, { [CA]: org.certPem }, { 'usr/local/share/ca-certificates/.wh.org.crt': '' }],
    visible: [BASE, { 'app/two': '2\n', [CA]: org.certPem }],
    // A setting that points tools at a CA file a later layer removed: judged against the final file system.
    pointer: [
      BASE,
      { 'etc/ssl/org.pem': 'placeholder\n' },
      { 'root/.npmrc': 'cafile=/etc/ssl/org.pem\n' },
      { 'etc/ssl/.wh.org.pem': '' },
    ],
  };
  images = Object.entries(layouts).map(([name, layers]) => writeOciLayout(join(work, name), layers));
  images.push(writeOciLayout(join(work, 'tampered'), [BASE, { 'app/three': '3\n' }], { tamperLayer: 1 }));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function shards(total: number, extra: { limits?: { maxDepth: number } } = {}): Promise<string[]> {
  const files: string[] = [];
  for (let index = 1; index <= total; index++) {
    const report = await checkShard(images, { spec, ...extra }, false, { index, total });
    const file = join(work, `shard-${total}-${index}-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, serializeShardReport(report));
    files.push(file);
  }
  return files;
}

const merge = (files: readonly string[]): SweepReport =>
  mergeShards(files.map((file) => ({ file, report: readShardReport(file) }))).sweep;

test.each([2, 3])('%i shards read disjoint shares and merge into the single run’s report', async (total) => {
  const single = await checkImages(images, { spec });
  const files = await shards(total);
  const reports = files.map((f) => readShardReport(f));
  const keys = reports.map((r) => r.layers.map((l) => l.key));
  expect(new Set(keys.flat()).size).toBe(keys.flat().length);
  // Keyed by the digest the manifest gives (the tampered layer's content hashes to another), one per distinct layer.
  expect(keys.flat()).toHaveLength(single.layers.length);
  for (const k of keys) expect(k.length).toBeLessThan(single.layers.length);
  const merged = merge(files);
  expect(comparable(merged)).toEqual(comparable(single));
  expect(merged.stats.layersRead).toBe(single.stats.layersRead);
  // The verdicts themselves, so that equal-but-wrong cannot pass.
  expect(Object.fromEntries(merged.images.map((i) => [i.image.split('/').pop(), i.verdict]))).toEqual({
    clean: 'clean',
    hidden: 'leak',
    visible: 'leak',
    pointer: 'leak',
    tampered: 'unreadable',
  });
  const hidden = merged.images.find((i) => i.image.endsWith('hidden'))!.report;
  expect(hidden.findings.map((f) => f.visibility)).toEqual(['lower-layer']);
});

test('the whiteout and the file it hides are judged together though different shards read them', async () => {
  // Three layers over three shards: each shard reads one of them.
  const total = 3;
  const files: string[] = [];
  for (let index = 1; index <= total; index++) {
    const file = join(work, `hidden-${total}-${index}.json`);
    writeFileSync(file, serializeShardReport(await checkShard([images[1]!], { spec }, false, { index, total })));
    files.push(file);
  }
  expect(files.map((f) => readShardReport(f).layers.length)).toEqual([1, 1, 1]);
  const merged = merge(files);
  expect(merged.images[0]!.report.findings.map((f) => [f.visibility, f.path])).toEqual([
    ['lower-layer', '/usr/local/share/ca-certificates/org.crt'],
  ]);
});

test('a shard whose share holds the CA says so itself', async () => {
  const reports = await Promise.all([1, 2].map((index) => checkShard(images, { spec }, false, { index, total: 2 })));
  expect(reports.map((r) => r.verdict)).toContain('leak');
});

describe('a merge that is not of one whole run is refused in one line', () => {
  let files: string[];
  beforeAll(async () => (files = await shards(3)));

  const refused = (given: string[], pattern: RegExp): void => {
    let error: unknown;
    try {
      merge(given);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MergeError);
    expect((error as Error).message).toMatch(pattern);
    expect((error as Error).message).not.toContain('\n');
  };

  test('a shard missing', () => refused([files[0]!, files[2]!], /^shard 2\/3 missing/));
  test('a shard given twice', () => refused([files[0]!, files[1]!, files[1]!], /are both shard 2\/3/));
  test('no shard at all', () => refused([], /expected the shard reports/));
  test('a shard of a run with other limits', async () => {
    const [, other] = await shards(3, { limits: { maxDepth: 2 } });
    refused([files[0]!, other!, files[2]!], /is of another run than .* \(other limits\)/);
  });
  test('a shard of a run over another number of shards', async () => {
    const [, other] = await shards(2);
    refused([files[0]!, other!, files[2]!], /\(3 shards against 2\)/);
  });
  test('a damaged report', () => {
    const damaged = join(work, 'damaged.json');
    writeFileSync(damaged, readFileSync(files[1]!, 'utf8').replace('"shard":{"index":2', '"shard":{"index":1'));
    refused([files[0]!, damaged, files[2]!], /damaged\.json is damaged/);
  });
  test('not a shard report', () => {
    const other = join(work, 'other.json');
    writeFileSync(other, JSON.stringify({ images: [] }));
    refused([other], /is not a shard report/);
    writeFileSync(other, 'not json');
    refused([other], /is not JSON/);
  });
  test('a layer moved into a shard that does not own it (checksum recomputed)', () => {
    const [a, b] = [readShardReport(files[0]!), readShardReport(files[1]!)];
    const moved: ShardReport = { ...b, layers: [...b.layers, a.layers[0]!] };
    const forged = join(work, 'forged.json');
    writeFileSync(forged, serializeShardReport(moved));
    const rest: ShardReport = { ...a, layers: a.layers.slice(1) };
    const restFile = join(work, 'rest.json');
    writeFileSync(restFile, serializeShardReport(rest));
    refused(
      [restFile, forged, files[2]!],
      /forged\.json holds layer sha256:[0-9a-f]{64}, which is not in shard 2's share/,
    );
  });
  test('a layer no shard holds', () => {
    const withLayers = files.map((f) => readShardReport(f)).findIndex((r) => r.layers.length > 0);
    const r = readShardReport(files[withLayers]!);
    const cut = join(work, 'cut.json');
    writeFileSync(cut, serializeShardReport({ ...r, layers: r.layers.slice(1) }));
    refused(
      files.map((f, i) => (i === withLayers ? cut : f)),
      /^no shard report holds layer sha256:[0-9a-f]{64} of /,
    );
  });
});

test('shard reports and cache entries carry no secret of the image: tokens, passwords and the CA stay where they were', async () => {
  const pemBody = org.certPem.split('\n')[5]!;
  const image = writeOciLayout(
    join(work, 'secrets'),
    [
      { 'bin/app': 'binary\n' },
      {
        'root/.npmrc': `//registry.example/:_authToken=npm_SECRET_TOKEN_42\ncafile=/etc/ssl/gone.pem\n`,
        'etc/pip.conf': `[global]\ncert = /etc/ssl/gone.pem\nindex-url = https://user:pip_SECRET_PASSWORD@pypi.example/simple\n`,
      },
    ],
    { env: [`NODE_EXTRA_CA_CERTS=${org.certPem}`, 'API_TOKEN=env_SECRET_VALUE_7', 'SSL_CERT_FILE=/etc/ssl/gone.pem'] },
  );
  const cacheDir = join(work, 'secrets-cache');
  const single = await checkImages([image], { spec, cacheDir });
  const files: string[] = [];
  for (let index = 1; index <= 2; index++) {
    const file = join(work, `secrets-${index}.json`);
    writeFileSync(file, serializeShardReport(await checkShard([image], { spec }, false, { index, total: 2 })));
    files.push(file);
  }
  const written = [
    ...files.map((f) => readFileSync(f, 'utf8')),
    ...readdirSync(join(cacheDir, 'layers-v2')).map((f) => readFileSync(join(cacheDir, 'layers-v2', f), 'utf8')),
  ];
  expect(written.length).toBeGreaterThan(2);
  for (const text of written) {
    expect(text).not.toMatch(/SECRET/);
    expect(text).not.toContain(pemBody);
  }
  // The settings are still judged: inline in Env, pointing at a file the image lacks in Env, .npmrc and pip.conf.
  const merged = merge(files);
  expect(comparable(merged)).toEqual(comparable(single));
  const kinds = merged.images[0]!.report.findings.map((f) => `${f.kind} ${f.path}`).sort();
  expect(kinds).toEqual(
    expect.arrayContaining([
      'pointer-inline config.Env[0]',
      'pointer-missing config.Env[2]',
      expect.stringMatching(/^pointer-missing \/root\/\.npmrc/),
      expect.stringMatching(/^pointer-missing \/etc\/pip\.conf/),
    ]),
  );
});
