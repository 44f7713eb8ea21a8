/**
 * The layer-verdict cache over real OCI layouts (real gzip, real digests): a second check of the same image reads no
 * layer and reports the same thing, findings and "not looked inside" included; a corrupt, truncated or foreign entry
 * is ignored and the layer rescanned; another CA or other limits never reuse an entry; a layer that could not be
 * read is never kept.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mintRoot } from '../../support/pki.js';
import { writeOciLayout } from '../../e2e/leak/layout.js';
import { checkImage } from '../../../src/leak/check.js';
import { checkImages } from '../../../src/leak/sweep.js';
import type { Report } from '../../../src/leak/types.js';

const org = mintRoot({ cn: 'Cache Test Org Root', org: 'Org' });
const other = mintRoot({ cn: 'Another Org Root', org: 'Other' });
let work: string;
beforeAll(() => (work = mkdtempSync(join(tmpdir(), 'org-ca-cache-'))));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function layout(name: string, layers: Record<string, string | Buffer>[]): string {
  return writeOciLayout(join(work, name), layers);
}

const lz4 = execFileSync('lz4', ['-q', '-c'], { input: Buffer.from('not opened') });
const BASE = { 'bin/app': 'binary\n', 'usr/share/doc/app.lz4': lz4 };
const LEAKY = { 'usr/local/share/ca-certificates/org.crt': org.certPem };

const spec = { certs: [org], fingerprints: [] };
const without = ({ stats: { ms: _ms, cachedLayers: _c, ...stats }, ...rest }: Report): unknown => ({ ...rest, stats });

test('a second check reads no layer and reports what the first did, findings and gaps included', async () => {
  const cacheDir = join(work, 'cache-a');
  const image = layout('a', [BASE, LEAKY]);
  const first = await checkImage({ image, spec, cacheDir });
  const second = await checkImage({ image, spec, cacheDir });
  const uncached = await checkImage({ image, spec });
  expect(first.stats.cachedLayers).toBe(0);
  expect(second.stats.cachedLayers).toBe(2);
  expect(first.findings.map((f) => f.path)).toEqual(['/usr/local/share/ca-certificates/org.crt']);
  expect(first.notLookedInside.map((n) => n.path)).toEqual(['/usr/share/doc/app.lz4']);
  expect(without(second)).toEqual(without(first));
  expect(without(uncached)).toEqual(without(first));
});

test('a layer shared with another image is judged from the cache; the new layer is read', async () => {
  const cacheDir = join(work, 'cache-b');
  await checkImage({ image: layout('b1', [BASE, { 'etc/one': '1\n' }]), spec, cacheDir });
  const second = await checkImage({ image: layout('b2', [BASE, { 'etc/two': '2\n' }]), spec, cacheDir });
  expect(second.stats.cachedLayers).toBe(1);
  expect(second.notLookedInside.map((n) => n.path)).toEqual(['/usr/share/doc/app.lz4']);
});

test('another CA, or other limits, never reuse an entry', async () => {
  const cacheDir = join(work, 'cache-c');
  const image = layout('c', [BASE, LEAKY]);
  await checkImage({ image, spec, cacheDir });
  const otherCa = await checkImage({ image, spec: { certs: [other], fingerprints: [] }, cacheDir });
  expect(otherCa.stats.cachedLayers).toBe(0);
  expect(otherCa.findings).toEqual([]);
  const deeper = await checkImage({ image, spec, cacheDir, limits: { maxDepth: 2 } });
  expect(deeper.stats.cachedLayers).toBe(0);
});

test.each([
  [
    // The body is JSON inside JSON: its quotes are escaped (\"files\":N).
    'a changed count',
    (text: string) => text.replace(/(files\\":)(\d)/, (_, k: string, d: string) => `${k}${(Number(d) + 1) % 10}`),
  ],
  ['a truncated entry', (text: string) => text.slice(0, Math.floor(text.length / 2))],
  ['not JSON at all', () => '\u0000garbage'],
])('%s is ignored and the layer rescanned, the report unchanged', async (_, damage) => {
  const cacheDir = join(work, `cache-d-${Math.random().toString(36).slice(2)}`);
  const image = layout(`d-${Math.random().toString(36).slice(2)}`, [BASE, LEAKY]);
  const first = await checkImage({ image, spec, cacheDir });
  const entries = readdirSync(join(cacheDir, 'layers-v2')).map((f) => join(cacheDir, 'layers-v2', f));
  expect(entries).toHaveLength(2);
  for (const e of entries) {
    const text = readFileSync(e, 'utf8');
    expect(damage(text)).not.toBe(text);
    writeFileSync(e, damage(text));
  }
  const again = await checkImage({ image, spec, cacheDir });
  expect(again.stats.cachedLayers).toBe(0);
  expect(without(again)).toEqual(without(first));
});

test("a foreign entry (another layer's, under this layer's name) is not trusted", async () => {
  const cacheDir = join(work, 'cache-e');
  const image = layout('e', [BASE, LEAKY]);
  const first = await checkImage({ image, spec, cacheDir });
  const dir = join(cacheDir, 'layers-v2');
  const [a, b] = readdirSync(dir);
  // Swap the two entries: each now sits under the other layer's key.
  renameSync(join(dir, a!), join(dir, 'swap'));
  renameSync(join(dir, b!), join(dir, a!));
  renameSync(join(dir, 'swap'), join(dir, b!));
  const again = await checkImage({ image, spec, cacheDir });
  expect(again.stats.cachedLayers).toBe(0);
  expect(without(again)).toEqual(without(first));
});

test('a layer that could not be read is not kept', async () => {
  const cacheDir = join(work, 'cache-f');
  const image = layout('f', [BASE]);
  const manifest = JSON.parse(readFileSync(join(image, 'index.json'), 'utf8')).manifests[0].digest.slice(7);
  const layer = JSON.parse(readFileSync(join(image, 'blobs/sha256', manifest), 'utf8')).layers[0].digest.slice(7);
  const blob = join(image, 'blobs/sha256', layer);
  writeFileSync(blob, readFileSync(blob).subarray(0, 40));
  const report = await checkImage({ image, spec, cacheDir });
  expect(report.unscanned.length).toBeGreaterThan(0);
  expect(readdirSync(join(cacheDir, 'layers-v2'))).toEqual([]);
});

test('a single check and a run over many images share the cache: what one judged, the other does not read', async () => {
  const cacheDir = join(work, 'cache-shared');
  const image = layout('shared', [BASE, LEAKY]);
  await checkImage({ image, spec, cacheDir });
  const run = await checkImages([image], { spec, cacheDir });
  expect(run.stats.layersRead).toBe(0);
  expect(run.images[0]!.report.stats.cachedLayers).toBe(2);
  // And the other way round, with the spill bound given (a check's own flag, no part of a layer's answer).
  const other = layout('shared-2', [BASE, { 'etc/other': 'x\n' }]);
  await checkImages([other], { spec, cacheDir });
  const single = await checkImage({ image: other, spec, cacheDir, limits: { maxSpillBytes: 4 * 1024 ** 3 } });
  expect(single.stats.cachedLayers).toBe(2);
});
