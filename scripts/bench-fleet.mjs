#!/usr/bin/env node
// Benchmark (not a test) of the leak check over a fleet: 30 tags built on 3 shared bases (two layers of real files of
// this machine each, plus one small layer per tag; the CA planted in one tag's layer), pushed to a loopback
// docker-registry (TLS) and read through a TLS-inspection proxy (mitmdump re-signing with the org CA, which the
// check is given). It prints three ratios, with their targets:
//   sweep:  `leak-check registry:HOST/fleet` (every tag) against one image that holds the 36 distinct layers once:
//           the cost grows with the distinct layers, not with the images (target <= 1.3x);
//   shards: each of `--shard 1/2` and `--shard 2/2` (two jobs, run one after the other as two machines would) against
//           the single run (target <= 0.6x each), and `report merge` of the two equal to the single run's report;
//   cache:  the sweep again with a warm --cache-dir against the first (target <= 0.1x).
// Each time is the fastest of two runs (a neighbour on a shared machine only ever slows a run down).
//   node scripts/bench-fleet.mjs [--cache DIR] [--rebuild]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { node24Path } from './node24.mjs';
import { startBenchRegistry } from './bench-registry.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const cache = args.includes('--cache') ? args[args.indexOf('--cache') + 1] : '/var/cache/org-ca-test/leak/bench-fleet';
const layout = join(cache, 'oci');
const node = node24Path();
const cli = join(root, 'dist/cli/index.js');
const TAGS = 30;
const LEAKY_TAG = 17;
// Three bases of two layers each, from real trees (binaries, text, compressed man pages, python).
const BASES = [
  [['usr/share/man'], ['usr/share/perl', 'usr/share/perl5', 'usr/share/i18n', 'usr/share/zoneinfo']],
  [['usr/lib/python3'], ['usr/share/icons', 'usr/share/mime', 'usr/share/java']],
  [['usr/share/doc'], ['usr/share/locale']],
];
// The registry is addressed as `vm` (scripts/setup.sh maps it to 127.0.0.1): clients send loopback names through the
// proxy only when they are not 127.0.0.1 or localhost.
const HOST = 'vm';

const sh = (cmd) => execFileSync('sh', ['-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 26 }).trim();
const time = (fn) => {
  const t = process.hrtime.bigint();
  const out = fn();
  return { s: Number(process.hrtime.bigint() - t) / 1e9, out };
};

if (!existsSync(cli)) throw new Error('dist/cli/index.js is missing: npm run build first');
if (args.includes('--rebuild') || !existsSync(join(layout, 'index.json'))) buildFleet();

const work = mkdtempSync(join(tmpdir(), 'org-ca-bench-fleet-'));
const pids = [];
const misses = [];
try {
  run();
} finally {
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  rmSync(work, { recursive: true, force: true });
}
if (misses.length) {
  console.log(`MISSED: ${misses.join('; ')}`);
  process.exit(1);
}
console.log('all targets met');

function run() {
  const orgCa = join(cache, 'org-ca.pem');
  const registry = startBenchRegistry(work, { host: HOST });
  pids.push(registry.pid);
  const { port } = registry;
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const tags = index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name']);
  for (const tag of tags) {
    const repo = tag === 'unique' ? 'fleet-unique' : 'fleet';
    sh(
      `skopeo copy --quiet --dest-cert-dir ${registry.certsDir} oci:${layout}:${tag} docker://${HOST}:${port}/${repo}:${tag}`,
    );
  }

  // The inspection proxy: mitmdump re-signing every connection with the org CA, verifying the registry upstream.
  const confdir = join(work, 'mitm');
  mkdirSync(confdir);
  writeFileSync(
    join(confdir, 'mitmproxy-ca.pem'),
    readFileSync(join(cache, 'org-ca.key'), 'utf8') + readFileSync(orgCa),
  );
  const proxyPort = port + 10000;
  const proxy = spawn(
    'timeout',
    [
      '900',
      'mitmdump',
      '--mode',
      'regular',
      '--listen-host',
      '127.0.0.1',
      '--listen-port',
      String(proxyPort),
      '--set',
      `confdir=${confdir}`,
      '--set',
      `ssl_verify_upstream_trusted_ca=${registry.ca}`,
      '--set',
      args.includes('--serve') ? 'flow_detail=1' : 'flow_detail=0',
      // As an inspecting proxy does: bodies stream through (mitmproxy otherwise holds each whole before passing it on).
      '--set',
      'stream_large_bodies=256k',
    ],
    {
      stdio: args.includes('--serve') ? ['ignore', 'inherit', 'ignore'] : 'ignore',
      detached: true,
      env: { ...process.env, HOME: work, PYTHONUNBUFFERED: '1' },
    },
  );
  pids.push(proxy.pid);
  waitFor(() => spawnSync('curl', ['-s', '-o', '/dev/null', `http://127.0.0.1:${proxyPort}/`]).status === 0);
  const env = {
    ...process.env,
    HTTPS_PROXY: `http://127.0.0.1:${proxyPort}`,
    https_proxy: `http://127.0.0.1:${proxyPort}`,
    NO_PROXY: '',
    no_proxy: '',
  };
  const leakCheck = (extra) =>
    time(() =>
      spawnSync(node, [cli, 'leak-check', ...extra, '--ca', orgCa], {
        encoding: 'utf8',
        maxBuffer: 1 << 28,
        env,
      }),
    );
  const best = (make) => {
    const runs = [make(), make()];
    return runs.reduce((a, b) => (a.s <= b.s ? a : b));
  };
  const fleet = `registry:${HOST}:${port}/fleet`;
  if (args.includes('--serve')) {
    // For looking into a run by hand: the registry and the proxy stay up until this process is stopped.
    console.log(`HTTPS_PROXY=http://127.0.0.1:${proxyPort} NO_PROXY= ${node} ${cli} leak-check ${fleet} --ca ${orgCa}`);
    spawnSync('sleep', ['600']);
    return;
  }

  const unique = best(() => leakCheck([`registry:${HOST}:${port}/fleet-unique:unique`, '--json']));
  const uniqueReport = parsed(unique, 'the image of the distinct layers');
  const sweep = best(() => leakCheck([fleet, '--json']));
  const sweepReport = parsed(sweep, 'the sweep');
  const sweepRatio = sweep.s / unique.s;
  const leaking = sweepReport.images.filter((i) => i.verdict === 'leak').map((i) => i.image.split(':').pop());
  const shardRuns = [1, 2].map((i) =>
    best(() => leakCheck([fleet, '--shard', `${i}/2`, '--report', join(work, `shard-${i}.json`)])),
  );
  const merge = spawnSync(
    node,
    [cli, 'report', 'merge', join(work, 'shard-1.json'), join(work, 'shard-2.json'), '--json'],
    { encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  const merged = JSON.parse(merge.stdout);
  const sameAsSingle = JSON.stringify(comparable(merged)) === JSON.stringify(comparable(sweepReport));
  const cacheDir = join(work, 'layer-cache');
  const cold = leakCheck([fleet, '--json', '--cache-dir', cacheDir]);
  const warm = leakCheck([fleet, '--json', '--cache-dir', cacheDir]);
  const warmReport = parsed(warm, 'the warm sweep');
  const cacheRatio = warm.s / cold.s;

  const rows = [
    [
      'fleet: the 36 distinct layers, one image',
      `${unique.s.toFixed(2)} s, ${uniqueReport.stats.layers} layers, ${(uniqueReport.stats.bytes / 1e6).toFixed(0)} MB uncompressed`,
    ],
    [
      `fleet: every tag (${sweepReport.stats.images} images)`,
      `${sweep.s.toFixed(2)} s (${sweepRatio.toFixed(2)}x the distinct layers; target <= 1.3x), ${sweepReport.stats.layers} distinct layers, ${sweepReport.stats.layersRead} read; leaking: ${leaking.join(', ') || 'none'}`,
    ],
    ...shardRuns.map((r, i) => [
      `fleet: shard ${i + 1}/2`,
      `${r.s.toFixed(2)} s (${(r.s / sweep.s).toFixed(2)}x the single run; target <= 0.6x), exit ${r.out.status}`,
    ]),
    [
      'fleet: report merge of the 2 shards',
      `${sameAsSingle ? 'equal to' : 'DIFFERENT from'} the single run's report (exit ${merge.status})`,
    ],
    [
      'fleet: warm --cache-dir',
      `${warm.s.toFixed(2)} s against ${cold.s.toFixed(2)} s cold (${cacheRatio.toFixed(3)}x; target <= 0.1x), ${warmReport.images.reduce((n, i) => n + (i.report.stats.cachedLayers ?? 0), 0)} layers from the cache`,
    ],
  ];
  for (const [what, r] of [
    ['the distinct layers', uniqueReport],
    ...sweepReport.images.map((i) => [i.image, i.report]),
  ])
    if (r.error) rows.push([`fleet: ERROR in ${what}`, r.error]);
  const width = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
  if (sweepRatio > 1.3) misses.push(`fleet sweep ${sweepRatio.toFixed(2)}x the distinct layers (target <= 1.3x)`);
  shardRuns.forEach((r, i) => {
    if (r.s / sweep.s > 0.6)
      misses.push(`shard ${i + 1}/2 ${(r.s / sweep.s).toFixed(2)}x the single run (target <= 0.6x)`);
  });
  if (!sameAsSingle || merge.status !== 1) misses.push('the merged report differs from the single run');
  if (cacheRatio > 0.1) misses.push(`warm cache ${cacheRatio.toFixed(3)}x the cold run (target <= 0.1x)`);
  if (JSON.stringify(leaking) !== JSON.stringify([`1.0.${LEAKY_TAG}`]))
    misses.push(`the sweep found ${JSON.stringify(leaking)}, not the planted tag 1.0.${LEAKY_TAG}`);
  if (JSON.stringify(comparable(warmReport)) !== JSON.stringify(comparable(sweepReport)))
    misses.push('the warm run reported something else');
}

function parsed(timed, what) {
  try {
    return JSON.parse(timed.out.stdout);
  } catch {
    throw new Error(
      `${what} gave no report (exit ${timed.out.status}): ${timed.out.stderr.trim().split('\n').slice(-3).join(' | ')}`,
    );
  }
}

/** A sweep as two runs must agree on it: everything but the times and where layers were judged from. */
function comparable(sweep) {
  return {
    ...sweep,
    stats: undefined,
    images: sweep.images.map((i) => ({
      ...i,
      report: { ...i.report, stats: { ...i.report.stats, ms: undefined, cachedLayers: undefined } },
    })),
  };
}

function waitFor(ready) {
  for (let i = 0; i < 150 && !ready(); i++) sh('sleep 0.1');
  if (!ready()) throw new Error('a service did not start');
}

/** The fleet as one OCI layout: 30 tags on 3 bases, and the image of the distinct layers (tag `unique`). Built once. */
function buildFleet() {
  process.stderr.write(`building the fleet in ${cache} (once) …\n`);
  rmSync(cache, { recursive: true, force: true });
  mkdirSync(join(layout, 'blobs/sha256'), { recursive: true });
  sh(
    `openssl req -x509 -newkey rsa:2048 -nodes -keyout ${cache}/org-ca.key -subj "/CN=Bench Fleet Org Root/O=Org" -days 3650 -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign -out ${cache}/org-ca.pem 2>/dev/null`,
  );
  const put = (bytes) => {
    const hex = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(layout, 'blobs/sha256', hex), bytes);
    return { digest: `sha256:${hex}`, size: bytes.length };
  };
  const layer = (dir, paths) => {
    const tar = join(cache, 'layer.tar');
    sh(`tar --format=pax --numeric-owner -C ${dir} -cf ${tar} ${paths.join(' ')} 2>/dev/null || true`);
    const diffId = sh(`sha256sum ${tar}`).split(' ')[0];
    sh(`gzip -6 -n -c ${tar} > ${tar}.gz && rm ${tar}`);
    const hex = sh(`sha256sum ${tar}.gz`).split(' ')[0];
    sh(`mv ${tar}.gz ${layout}/blobs/sha256/${hex}`);
    return {
      descriptor: {
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
        digest: `sha256:${hex}`,
        size: statSync(join(layout, 'blobs/sha256', hex)).size,
      },
      diffId: `sha256:${diffId}`,
    };
  };
  const bases = BASES.map((base) =>
    base.map((paths) =>
      layer(
        '/',
        paths.filter((p) => existsSync(`/${p}`)),
      ),
    ),
  );
  const apps = [];
  const text = readFileSync('/usr/share/common-licenses/GPL-3', 'utf8');
  for (let i = 0; i < TAGS; i++) {
    const dir = mkdtempSync(join(tmpdir(), 'org-ca-bench-app-'));
    mkdirSync(join(dir, 'app'), { recursive: true });
    writeFileSync(join(dir, 'app/VERSION'), `1.0.${i}\n`);
    writeFileSync(join(dir, 'app/LICENSES'), `${text}\n${i}\n`.repeat(20));
    const paths = ['app'];
    if (i === LEAKY_TAG) {
      mkdirSync(join(dir, 'etc/ssl/certs'), { recursive: true });
      writeFileSync(join(dir, 'etc/ssl/certs/org.pem'), readFileSync(join(cache, 'org-ca.pem')));
      paths.push('etc');
    }
    apps.push(layer(dir, paths));
    rmSync(dir, { recursive: true, force: true });
  }
  const image = (layers) => {
    const config = put(
      Buffer.from(
        JSON.stringify({
          architecture: 'amd64',
          os: 'linux',
          config: { Env: ['PATH=/usr/bin'] },
          rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
          history: layers.map((_, i) => ({ created_by: `COPY layer${i} /` })),
        }),
      ),
    );
    return put(
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
          layers: layers.map((l) => l.descriptor),
        }),
      ),
    );
  };
  const manifests = apps.map((app, i) => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    ...image([...bases[i % BASES.length], app]),
    annotations: { 'org.opencontainers.image.ref.name': `1.0.${i}` },
  }));
  manifests.push({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    ...image([...bases.flat(), ...apps]),
    annotations: { 'org.opencontainers.image.ref.name': 'unique' },
  });
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
  writeFileSync(join(layout, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
}
