/**
 * A layer streamed from a registry straight into the layer scanner (no file in between), against a real local HTTPS
 * server: the negotiated Authorization travels with the blob, 5xx before the first byte is retried, and after it a
 * break, a short or long body, or a wrong byte fails the layer with one line naming the blob.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { mintLeaf, mintRoot } from '../../../../support/pki.js';
import { useRecordingHttpsServer } from '../../../../support/https-server.js';
import { tarOf } from '../../../../e2e/leak/layout.js';
import { buildMatcher } from '../../../../../src/leak/scanning/matcher.js';
import { scanLayer } from '../../../../../src/leak/scanning/layer.js';
import { openBlob } from '../../../../../src/leak/sources/blob.js';
import { DEFAULT_LIMITS, type LayerJob, type RegistryBlob } from '../../../../../src/leak/types.js';

const root = mintRoot({ cn: 'Stream Test Root' });
const leaf = mintLeaf(root, { cn: '127.0.0.1', ipAddresses: ['127.0.0.1'] });
const org = mintRoot({ cn: 'Org Inspection Root', org: 'Org' });
const matcher = buildMatcher({ certs: [org], fingerprints: [] });

// Incompressible filler so the body spans many TLS records and a break lands mid-stream.
const filler = createHash('sha256');
const noise = Buffer.concat(Array.from({ length: 40000 }, (_, i) => filler.update(String(i)).copy().digest()));
const layer = gzipSync(tarOf({ 'opt/noise.bin': noise, 'etc/ssl/org.pem': org.certPem }));
const digest = `sha256:${createHash('sha256').update(layer).digest('hex')}`;

const srv = useRecordingHttpsServer(leaf);

function job(size = layer.length): LayerJob {
  const blob: RegistryBlob = {
    kind: 'registry',
    digest,
    size,
    label: `127.0.0.1:${srv.port}/org/app:1`,
    fetch: {
      host: `127.0.0.1:${srv.port}`,
      repository: 'org/app',
      extraCa: [root.certPem],
      env: {},
      authorization: 'Bearer tok-1',
      backoffMs: 10,
      timeoutMs: 5000,
    },
  };
  return { id: 'layer', blob, where: digest, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest };
}

test('a layer streams into the scanner, verified, with the negotiated authorization; a 503 first is retried', async () => {
  let calls = 0;
  srv.handler = (req, res) => {
    if (calls++ === 0) {
      res.writeHead(503);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-length': String(layer.length) });
    res.end(layer);
  };
  const r = await scanLayer(job(), matcher, DEFAULT_LIMITS, openBlob);
  expect(r.error).toBeUndefined();
  expect(r.digest).toBe(digest);
  expect(r.compression).toBe('gzip');
  expect(r.hits.map((h) => h.path)).toEqual(['etc/ssl/org.pem']);
  expect(srv.seen.map((s) => `${s.url} ${s.authorization}`)).toEqual([
    `/v2/org/app/blobs/${digest} Bearer tok-1`,
    `/v2/org/app/blobs/${digest} Bearer tok-1`,
  ]);
});

test('a connection dropped after the first bytes fails the layer with one line naming the blob', async () => {
  srv.handler = (_req, res) => {
    res.writeHead(200, { 'content-length': String(layer.length) });
    res.write(layer.subarray(0, Math.floor(layer.length / 2)));
    setTimeout(() => res.socket?.destroy(), 50);
  };
  const r = await scanLayer(job(), matcher, DEFAULT_LIMITS, openBlob);
  expect(r.error).toMatch(
    new RegExp(
      `blob ${digest} of 127\\.0\\.0\\.1:\\d+/org/app:1: (the download broke off after \\d+ of ${layer.length} bytes|got \\d+ of ${layer.length} bytes)`,
    ),
  );
  expect(r.error).not.toContain('\n');
  // Nothing after the first byte is retried: the scan cannot rewind what it already read.
  expect(srv.seen).toHaveLength(1);
});

test('content whose digest differs from the descriptor is not accepted', async () => {
  const bad = Buffer.from(layer);
  const at = Math.floor(bad.length / 3);
  bad[at] = bad[at]! ^ 0x01;
  srv.handler = (_req, res) => {
    res.writeHead(200, { 'content-length': String(bad.length) });
    res.end(bad);
  };
  const r = await scanLayer(job(), matcher, DEFAULT_LIMITS, openBlob);
  expect(r.error).toBeDefined();
  expect(r.digest).not.toBe(digest);
});

test('a body longer than the descriptor says fails at the first extra byte', async () => {
  srv.handler = (_req, res) => {
    res.writeHead(200);
    res.end(Buffer.concat([layer, Buffer.alloc(4096)]));
  };
  const r = await scanLayer(job(), matcher, DEFAULT_LIMITS, openBlob);
  expect(r.error).toMatch(
    new RegExp(`blob ${digest} of .*: the registry sent more than the ${layer.length} bytes its descriptor says`),
  );
});

test('a 404 for the blob fails with one line', async () => {
  srv.handler = (_req, res) => {
    res.writeHead(404);
    res.end();
  };
  const r = await scanLayer(job(), matcher, DEFAULT_LIMITS, openBlob);
  expect(r.error).toMatch(new RegExp(`^blob ${digest} of 127\\.0\\.0\\.1:\\d+/org/app:1: the registry answered 404$`));
});

test('a layer refused by its first bytes closes its connection at once (a paused download is never left open)', async () => {
  const junk = Buffer.alloc(8 * 1024 * 1024, 0x78);
  let closed!: Promise<number>;
  srv.handler = (_req, res) => {
    const started = Date.now();
    closed = new Promise((r) => res.once('close', () => r(Date.now() - started)));
    res.writeHead(200, { 'content-length': String(junk.length) });
    res.end(junk);
  };
  const job8: LayerJob = {
    ...job(junk.length),
    blob: {
      ...(job(junk.length).blob as RegistryBlob),
      digest: `sha256:${createHash('sha256').update(junk).digest('hex')}`,
    },
  };
  const r = await scanLayer(job8, matcher, DEFAULT_LIMITS, openBlob);
  expect(r.error).toMatch(/^unknown layer format/);
  // The 8 MB were not all sent (the reader paused), and the connection was closed by the scan, not by a timeout.
  const ms = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 3000))]);
  expect(ms).toBeGreaterThanOrEqual(0);
});
