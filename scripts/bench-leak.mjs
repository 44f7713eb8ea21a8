#!/usr/bin/env node
// Benchmark of `org-ca leak-check` (not a test): a large OCI image made from real files of this machine (binaries
// and text from /usr, gzip layers, built once and cached), timed against
//   - the floor: `gzip -dc` of every layer to /dev/null, one after the other (single core), and
//   - the naive way: extract every layer and `grep -rF` the PEM body,
// with the check's peak RSS. Targets: wall time <= 1.2 x the floor, peak RSS < 256 MB. Exit 1 if one is missed.
//   node scripts/bench-leak.mjs [--cache DIR] [--rebuild]
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, createWriteStream } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { node24Path } from './node24.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = process.argv.slice(2);
const cache = args.includes('--cache') ? args[args.indexOf('--cache') + 1] : '/var/cache/org-ca-test/leak/bench';
const image = join(cache, 'oci');
const node = node24Path();

// Layers of roughly equal size from real trees; one small extra layer holds the CA, so both methods find something.
const LAYERS = [
  ['usr/lib/x86_64-linux-gnu'],
  ['usr/share/doc', 'usr/share/man', 'usr/share/locale', 'usr/share/perl', 'usr/share/perl5', 'usr/share/zoneinfo', 'usr/share/i18n'],
  ['usr/bin', 'usr/sbin'],
  ['usr/lib/jvm'],
];
const MIN_LAYER_FILES_BYTES = 1;

function sh(cmd, opts = {}) {
  return execFileSync('bash', ['-c', cmd], { encoding: 'utf8', maxBuffer: 1 << 26, ...opts });
}

function makeCa(dir) {
  // A throwaway self-signed CA made with openssl; only its PEM matters here.
  sh(`openssl req -x509 -newkey rsa:2048 -nodes -keyout ${dir}/k.pem -subj "/CN=Bench Org Root" -days 30 -addext basicConstraints=critical,CA:TRUE -out ${dir}/ca.pem 2>/dev/null && rm ${dir}/k.pem`);
}

function buildImage() {
  rmSync(cache, { recursive: true, force: true });
  mkdirSync(join(image, 'blobs/sha256'), { recursive: true });
  makeCa(cache);
  const layers = [];
  const diffIds = [];
  const work = mkdtempSync(join(tmpdir(), 'org-ca-bench-'));
  mkdirSync(join(work, 'etc/pki'), { recursive: true });
  writeFileSync(join(work, 'etc/pki/org-ca.pem'), readFileSync(join(cache, 'ca.pem')));
  const specs = [...LAYERS.map((paths) => ({ dir: '/', paths: paths.filter((p) => existsSync(`/${p}`)) })), { dir: work, paths: ['etc'] }];
  for (const { dir, paths } of specs) {
    if (paths.length < MIN_LAYER_FILES_BYTES) continue;
    const tarFile = join(cache, 'layer.tar');
    sh(`tar --format=pax --numeric-owner -C ${dir} -cf ${tarFile} ${paths.join(' ')} 2>/dev/null || true`);
    const diffId = sh(`sha256sum ${tarFile}`).split(' ')[0];
    sh(`gzip -6 -n -c ${tarFile} > ${cache}/layer.tar.gz`);
    const digest = sh(`sha256sum ${cache}/layer.tar.gz`).split(' ')[0];
    sh(`mv ${cache}/layer.tar.gz ${image}/blobs/sha256/${digest} && rm ${tarFile}`);
    layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${digest}`, size: statSync(`${image}/blobs/sha256/${digest}`).size });
    diffIds.push(`sha256:${diffId}`);
  }
  rmSync(work, { recursive: true, force: true });
  const put = (obj) => {
    const b = Buffer.from(JSON.stringify(obj));
    const hex = createHash('sha256').update(b).digest('hex');
    writeFileSync(join(image, 'blobs/sha256', hex), b);
    return { digest: `sha256:${hex}`, size: b.length };
  };
  const config = put({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/bin'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: diffIds.map((_, i) => ({ created_by: `COPY layer${i} /` })),
  });
  const manifest = put({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers });
  writeFileSync(join(image, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest }] }));
  writeFileSync(join(image, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
}

function time(fn) {
  const t = process.hrtime.bigint();
  const out = fn();
  return { s: Number(process.hrtime.bigint() - t) / 1e9, out };
}

function cliPath() {
  if (existsSync(join(root, 'dist/cli/index.js')) && existsSync(join(root, 'dist/leak-check/index.js')) && !args.includes('--bundle')) return join(root, 'dist/cli/index.js');
  const out = mkdtempSync(join(tmpdir(), 'org-ca-bench-bundle-'));
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  for (const [name, entry] of [['cli', 'src/cli/index.ts'], ['leak-check', 'src/leak/action-index.ts']]) {
    execFileSync(node, [join(root, 'node_modules/@vercel/ncc/dist/ncc/cli.js'), 'build', entry, '-o', join(out, name), '--no-source-map-register', '--quiet'], { cwd: root });
  }
  return join(out, 'cli/index.js');
}

if (args.includes('--rebuild') || !existsSync(join(image, 'index.json'))) {
  process.stderr.write(`building the benchmark image in ${cache} (once) …\n`);
  buildImage();
}
const index = JSON.parse(readFileSync(join(image, 'index.json'), 'utf8'));
const manifest = JSON.parse(readFileSync(join(image, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
const blobs = manifest.layers.map((l) => join(image, 'blobs/sha256', l.digest.slice(7)));
const compressed = blobs.reduce((n, b) => n + statSync(b).size, 0);
const caPem = join(cache, 'ca.pem');
const cli = cliPath();

// Warm the page cache so every method reads from memory.
for (const b of blobs) sh(`cat ${b} > /dev/null`);

const floor = time(() => blobs.reduce((n, b) => n + time(() => sh(`gzip -dc ${b} > /dev/null`)).s, 0)).out;

const check = time(() => spawnSync('/usr/bin/time', ['-f', '%M', node, cli, 'leak-check', image, '--ca', caPem, '--json'], { encoding: 'utf8', maxBuffer: 1 << 26 }));
const rssKb = Number(check.out.stderr.trim().split('\n').pop());
const report = JSON.parse(check.out.stdout);
const uncompressed = report.stats.bytes;

const naiveDir = mkdtempSync(join(tmpdir(), 'org-ca-bench-naive-'));
const needle = readFileSync(caPem, 'utf8').split('\n')[1];
const naive = time(() => {
  for (const b of blobs) sh(`tar -xzf ${b} -C ${naiveDir} 2>/dev/null || true`);
  return spawnSync('grep', ['-rlF', needle, naiveDir], { encoding: 'utf8' }).stdout;
});
rmSync(naiveDir, { recursive: true, force: true });

const ratio = check.s / floor;
const rows = [
  ['image', `${blobs.length} gzip layers, ${(compressed / 1e6).toFixed(0)} MB compressed, ${(uncompressed / 1e6).toFixed(0)} MB uncompressed, ${report.stats.files} files`],
  ['cores', String(availableParallelism())],
  ['floor: gzip -dc of each layer, summed', `${floor.toFixed(2)} s`],
  ['org-ca leak-check', `${check.s.toFixed(2)} s  (${ratio.toFixed(2)}x the floor, ${(uncompressed / 1e6 / check.s).toFixed(0)} MB/s)`],
  ['naive: extract all + grep -rF', `${naive.s.toFixed(2)} s  (${(naive.s / check.s).toFixed(1)}x the check), found ${naive.out.trim().split('\n').filter(Boolean).length} file(s)`],
  ['check peak RSS', `${(rssKb / 1024).toFixed(0)} MB`],
  ['check findings', `${report.findings.length} (${report.findings.map((f) => `${f.kind} ${f.path}`).join(', ')}), not scanned: ${report.unscanned.length}`],
];
const width = Math.max(...rows.map((r) => r[0].length));
for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);

const misses = [];
if (ratio > 1.2) misses.push(`wall time ${ratio.toFixed(2)}x the decompression floor (target <= 1.2x)`);
if (rssKb / 1024 >= 256) misses.push(`peak RSS ${(rssKb / 1024).toFixed(0)} MB (target < 256 MB)`);
if (report.findings.length !== 1 || report.unscanned.length !== 0) misses.push('expected exactly the one planted CA and nothing unscanned');
if (misses.length) {
  console.log(`MISSED: ${misses.join('; ')}`);
  process.exit(1);
}
console.log('all targets met');
