/**
 * End to end through the bundled CLI and its layer workers (dist/leak-worker): big archives found in a layer are
 * handed to whichever worker is free (src/leak/scanning/nested/offer.ts). Their findings come back under the layer, with the
 * whole nested path and through hard links; the layer's nested budget holds wherever they are opened; the result
 * equals the one-thread scan; and nothing is left in the temporary directory.
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Report } from '../../../src/leak/types.js';
import { jarOf, zipOf } from '../../support/archives.js';
import { mintRoot } from '../../support/pki.js';
import { Blobs, MEDIA, sha256 } from './layout.js';
import { bundle, NODE } from './support.js';

const org = mintRoot({ cn: 'Org Inspection Root', org: 'Org' });
let work: string;
let cli: string;
let caFile: string;
let image: string;

/** A layer tar made by GNU tar from a real tree (so hard links are real ones). */
function layerTar(name: string, build: (dir: string) => void): Buffer {
  const dir = join(work, name);
  mkdirSync(dir);
  build(dir);
  return execFileSync('tar', ['--format=pax', '--numeric-owner', '--sort=name', '-C', dir, '-cf', '-', '.'], {
    maxBuffer: 1 << 28,
  });
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-leak-parallel-e2e-'));
  caFile = join(work, 'org-ca.pem');
  writeFileSync(caFile, org.certPem);
  // Over the 2 MB in-memory bound, so spilled to a file and offered: incompressible filler, stored.
  const filler = (n: number): Buffer => randomBytes(n);
  const inner = readFileSync(jarOf(join(work, 'inner.jar'), { 'ca/org.pem': org.certPem }));
  const big = readFileSync(
    zipOf(
      join(work, 'big.jar'),
      { 'BOOT-INF/lib/inner.jar': inner, 'BOOT-INF/lib/filler.bin': filler(3 << 20) },
      { store: true },
    ),
  );
  const clean = readFileSync(
    zipOf(join(work, 'clean.jar'), { 'lib/filler.bin': filler(3 << 20), 'README.txt': 'nothing to see' }),
  );
  const tars = [
    layerTar('l1', (d) => {
      mkdirSync(join(d, 'app'));
      writeFileSync(join(d, 'app/big.jar'), big);
      linkSync(join(d, 'app/big.jar'), join(d, 'app/same.jar'));
      writeFileSync(join(d, 'app/clean-a.jar'), clean);
    }),
    layerTar('l2', (d) => {
      mkdirSync(join(d, 'opt'));
      for (const n of ['b', 'c', 'd']) writeFileSync(join(d, `opt/clean-${n}.jar`), clean);
    }),
  ];
  const blobs = new Blobs();
  const layers = tars.map((t) => blobs.put(gzipSync(t), MEDIA.layerGzip));
  const config = blobs.put(
    {
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: tars.map((t) => `sha256:${sha256(t)}`) },
      history: tars.map((_, i) => ({ created_by: `COPY layer${i} /` })),
    },
    MEDIA.config,
  );
  const manifest = blobs.put({ schemaVersion: 2, mediaType: MEDIA.manifest, config, layers }, MEDIA.manifest);
  image = blobs.write(join(work, 'oci'), manifest);
  cli = await bundle();
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Watched {
  readonly status: number | null;
  readonly report: Report;
  /** Names created in the offer directory during the run. */
  readonly offered: string[];
  readonly leftOver: string[];
}

/** Runs the check with a private TMPDIR, watching what is created in it. */
async function check(extra: string[]): Promise<Watched> {
  const temp = mkdtempSync(join(work, 'tmp-'));
  const offered = new Set<string>();
  const watcher = watch(temp, { recursive: true }, (_event, name) => {
    const m = /^org-ca-leak-offers-[^/]+\/(.+)$/.exec(String(name));
    if (m) offered.add(m[1]!);
  });
  try {
    const child = spawn(NODE, [join(cli, 'cli/index.js'), 'leak-check', image, '--ca', caFile, '--json', ...extra], {
      env: { ...process.env, TMPDIR: temp },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    const status = await new Promise<number | null>((resolve) => child.once('close', resolve));
    clearTimeout(timer);
    let report: Report;
    try {
      report = JSON.parse(stdout) as Report;
    } catch {
      throw new Error(`no JSON from leak-check (exit ${status}): ${stderr}`);
    }
    return { status, report, offered: [...offered], leftOver: readdirSync(temp) };
  } finally {
    watcher.close();
  }
}

const paths = (r: Report): string[] => r.findings.map((f) => `${f.kind}@${f.path}:${f.visibility}`).sort();

describe('big archives opened by whichever worker is free', () => {
  let two: Watched;
  beforeAll(async () => {
    two = await check(['--parallel', '2']);
  }, 180_000);

  test('the archives were handed over (moved into the offer directory) and nothing is left in TMPDIR', () => {
    expect(two.offered.length).toBeGreaterThanOrEqual(4);
    expect(two.leftOver).toEqual([]);
  });

  test('the CA inside a handed-over jar is found under its layer, with the whole nested path, also through the hard link', () => {
    expect(two.status).toBe(1);
    expect(paths(two.report)).toEqual([
      'pem@/app/big.jar!/BOOT-INF/lib/inner.jar!/ca/org.pem:final',
      'pem@/app/same.jar!/BOOT-INF/lib/inner.jar!/ca/org.pem:final',
    ]);
    expect(two.report.findings.every((f) => f.layer?.index === 0)).toBe(true);
    expect(two.report.unscanned).toEqual([]);
    expect(two.report.notLookedInside).toEqual([]);
  });

  test('the same findings and counts as the scan on one thread', async () => {
    const one = await check(['--parallel', '1']);
    expect(one.offered).toEqual([]);
    expect(paths(one.report)).toEqual(paths(two.report));
    expect(one.report.stats.nestedFiles).toBe(two.report.stats.nestedFiles);
    expect(one.report.stats.files).toBe(two.report.stats.files);
  }, 180_000);

  test("a layer's nested budget holds for the archives other workers open", async () => {
    // Each jar expands about 3 MB: of layer 2's three, at most one fits a 4 MB budget, whichever workers open them;
    // counted per layer, so layer 1's jars do not eat layer 2's budget (nor the reverse).
    const r = await check(['--parallel', '2', '--max-nested-layer-bytes', '4M']);
    expect(r.offered.length).toBeGreaterThanOrEqual(4);
    const over = r.report.notLookedInside.filter((n) => /--max-nested-layer-bytes/.test(n.reason));
    const inLayer = (i: number): string[] => over.filter((n) => n.layer === i).map((n) => n.path);
    expect(inLayer(1).length).toBeGreaterThanOrEqual(2);
    expect(inLayer(1).every((p) => p.startsWith('/opt/clean-'))).toBe(true);
    expect(inLayer(0).length).toBeLessThanOrEqual(1);
    expect(r.leftOver).toEqual([]);
  }, 180_000);
});
