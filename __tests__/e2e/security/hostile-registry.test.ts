/**
 * Attack: a registry that never stops naming manifests. An index of thousands of valid child manifests (each served
 * with its true digest, so every check passes): the leak check must stop at its request bound, fail closed in one
 * line, and never report clean. Guard: REGISTRY_BOUNDS (src/leak/sources/registry/pull.ts). A real HTTPS server on loopback.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEntry, runCli } from '../../support/cli.js';
import { useRecordingHttpsServer } from '../../support/https-server.js';
import { mintLeaf, mintRoot } from '../../support/pki.js';

const INDEX = 'application/vnd.oci.image.index.v1+json';
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const CHILDREN = 5000;

const ca = mintRoot({ cn: 'Hostile Registry Test Root' });
const server = useRecordingHttpsServer(mintLeaf(ca, { cn: '127.0.0.1', ipAddresses: ['127.0.0.1'] }));

const sha = (text: string): string => `sha256:${createHash('sha256').update(text).digest('hex')}`;
const config = '{}';
const children = Array.from({ length: CHILDREN }, (_, i) =>
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha(config), size: 2 },
    layers: [],
    annotations: { n: String(i) },
  }),
);
const byDigest = new Map(children.map((text) => [sha(text), text]));
const root = JSON.stringify({
  schemaVersion: 2,
  mediaType: INDEX,
  manifests: children.map((text) => ({ mediaType: MANIFEST, digest: sha(text), size: Buffer.byteLength(text) })),
});

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-hostile-registry-'));
  writeFileSync(join(work, 'ca.pem'), ca.certPem);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

beforeEach(() => {
  server.handler = (req, res) => {
    const url = req.url ?? '';
    const manifest = /\/manifests\/(.+)$/.exec(url)?.[1];
    const body = manifest === 'latest' ? root : manifest ? byDigest.get(decodeURIComponent(manifest)) : undefined;
    if (body) {
      res.writeHead(200, {
        'content-type': manifest === 'latest' ? INDEX : MANIFEST,
        'docker-content-digest': sha(body),
      });
      res.end(body);
    } else if (url.endsWith(`/blobs/${sha(config)}`)) {
      res.writeHead(200).end(config);
    } else {
      res.writeHead(404).end();
    }
  };
});

test.each([
  ['a bound given with --max-registry-requests', ['--max-registry-requests', '40'], 40],
  ['the default bound', [], 1024],
])(
  '%s: the check stops there, fails closed in one line, and is not clean',
  async (_name, flags, bound) => {
    const r = await runCli(
      await cliEntry(),
      ['leak-check', `registry:127.0.0.1:${server.port}/app:latest`, '--ca', join(work, 'ca.pem'), ...flags],
      {
        env: { PATH: process.env.PATH, HOME: work },
        timeoutMs: 120_000,
      },
    );
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toMatch(
      new RegExp(
        `over ${bound} manifest and referrer requests .*nothing is counted clean: raise --max-registry-requests`,
      ),
    );
    expect(r.stdout).not.toMatch(/^OK:/m);
    const metadata = server.seen.filter((s) => /\/(manifests|referrers)\//.test(s.url));
    expect(metadata.length).toBeLessThanOrEqual(bound);
    expect(metadata.length).toBeGreaterThan(bound / 2);
  },
  150_000,
);

test('a bound that is not a number is refused in one line (exit 2)', async () => {
  const r = await runCli(
    await cliEntry(),
    [
      'leak-check',
      `registry:127.0.0.1:${server.port}/app:latest`,
      '--ca',
      join(work, 'ca.pem'),
      '--max-registry-requests',
      'lots',
    ],
    { env: { PATH: process.env.PATH, HOME: work } },
  );
  expect(r.status).toBe(2);
  expect(r.stderr).toBe("org-ca leak-check: --max-registry-requests 'lots' is not a whole number from 1 to 9999999\n");
});
