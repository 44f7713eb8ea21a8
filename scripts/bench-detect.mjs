// Benchmark (not a test) of TLS-inspection detection, loopback only: `node scripts/bench-detect.mjs`.
//   decision time: `org-ca detect` through a CONNECT proxy to a loopback TLS server (probe + classification),
//                  wall time of the whole process and the probe's own time, median and p90 over BENCH_RUNS runs;
//   dead URL:      a server that accepts and never answers, next to a live one, under a 1 s deadline: the process
//                  must exit within the deadline plus the start-up measured above (target: ≤ deadline + 300 ms).
// Uses the CLI bundle (dist/cli, via bin/org-ca.js); openssl mints the throwaway test PKI.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { node24Path } from './node24.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const node = node24Path();
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const DEADLINE_MS = 1000;
const DEAD_MARGIN_MS = 300;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

function mintPki(dir) {
  const run = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'root.key',
    '-out',
    'root.pem',
    '-subj',
    '/CN=Bench Public Root',
    '-days',
    '2',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
  );
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  run(
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'root.pem',
    '-CAkey',
    'root.key',
    '-CAcreateserial',
    '-out',
    'leaf.pem',
    '-days',
    '1',
    '-extfile',
    'ext.cnf',
  );
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

/** A minimal CONNECT proxy: the probe's path through HTTPS_PROXY, without an inspection step. */
function connectProxy(sockets) {
  return createServer((client) => {
    sockets.add(client);
    client.on('error', () => {});
    client.once('data', (head) => {
      const [host, port] = head.toString('latin1').split(' ')[1].split(':');
      const upstream = connect({ host, port: Number(port) }, () => {
        client.write('HTTP/1.1 200 Connection established\r\n\r\n');
        client.pipe(upstream).pipe(client);
      });
      sockets.add(upstream);
      upstream.on('error', () => client.destroy());
    });
  });
}

/** Runs the CLI asynchronously: the loopback servers live in this process and must keep answering meanwhile. */
async function detect(args, env) {
  const start = process.hrtime.bigint();
  const child = spawn(node, [join(root, 'bin', 'org-ca.js'), 'detect', '--json', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const status = await new Promise((resolve) => child.on('close', resolve));
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  if (status === 2 || !stdout) throw new Error(`org-ca detect failed (${status}): ${stderr}`);
  return { wall, status, probes: JSON.parse(stdout) };
}

const dir = mkdtempSync(join(tmpdir(), 'org-ca-bench-detect-'));
const sockets = new Set();
const servers = [];
let failed;
try {
  mintPki(dir);
  const tls = createTlsServer(
    { cert: readFileSync(join(dir, 'leaf.pem')), key: readFileSync(join(dir, 'leaf.key')) },
    (s) => s.end(),
  );
  tls.on('connection', (s) => sockets.add(s));
  tls.on('tlsClientError', () => {});
  const hole = createServer((s) => {
    sockets.add(s);
    s.resume();
  });
  const proxy = connectProxy(sockets);
  servers.push(tls, hole, proxy);
  const [tlsPort, holePort, proxyPort] = await Promise.all([listen(tls), listen(hole), listen(proxy)]);
  const url = `https://127.0.0.1:${tlsPort}/`;
  const env = { PATH: process.env.PATH, HOME: dir, HTTPS_PROXY: `http://127.0.0.1:${proxyPort}` };
  const common = ['--public-roots', join(dir, 'root.pem')];

  await detect([url, ...common], env); // warm the file cache
  const walls = [];
  const probes = [];
  for (let i = 0; i < RUNS; i++) {
    const r = await detect([url, ...common], env);
    if (r.status !== 0 || r.probes[0].verdict !== 'direct')
      throw new Error(`unexpected verdict: ${JSON.stringify(r.probes[0])}`);
    walls.push(r.wall);
    probes.push(r.probes[0].elapsedMs);
  }
  const startup = median(walls) - median(probes);

  const dead = await detect([`https://127.0.0.1:${holePort}/`, url, ...common, '--timeout', `${DEADLINE_MS}ms`], env);
  const deadVerdicts = dead.probes.map((p) => p.verdict).join(', ');
  const deadCost = dead.wall - startup;
  const deadOk =
    deadCost <= DEADLINE_MS + DEAD_MARGIN_MS &&
    dead.probes[0].verdict === 'unreachable' &&
    dead.probes[1].verdict === 'direct';
  failed = !deadOk;

  console.log(`detect over loopback through a CONNECT proxy (${RUNS} runs, ${node})`);
  console.log('| measure | median ms | p90 ms |');
  console.log('|---|---|---|');
  console.log(`| org-ca detect, whole process | ${median(walls).toFixed(0)} | ${p90(walls).toFixed(0)} |`);
  console.log(`| probe + handshake (elapsedMs) | ${median(probes).toFixed(0)} | ${p90(probes).toFixed(0)} |`);
  console.log(`| start-up and classification (difference) | ${startup.toFixed(0)} | |`);
  console.log('');
  console.log(
    `dead URL next to a live one, deadline ${DEADLINE_MS} ms: process ${dead.wall.toFixed(0)} ms, minus start-up ${deadCost.toFixed(0)} ms ` +
      `(target ≤ ${DEADLINE_MS + DEAD_MARGIN_MS}); verdicts: ${deadVerdicts} → ${deadOk ? 'OK' : 'MISSED'}`,
  );
} finally {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
