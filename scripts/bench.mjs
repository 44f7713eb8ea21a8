// Benchmarks (not tests): `npm run bench`. Each part prints a table and exits non-zero when it misses its target.
//   main step: wall time of dist/main/index.js as the runner runs it, no network (target: median < 150 ms), against
//              Node's own start-up and against X.509-parsing the OS trust store once; size of dist/.
//   detect / leak / fleet: scripts/bench-detect.mjs, scripts/bench-leak.mjs and scripts/bench-fleet.mjs (run with `all`).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { node24Path } from './node24.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const node = node24Path();
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const TARGET_MS = 150;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.9)];

function timeRun(args, env) {
  const start = process.hrtime.bigint();
  const r = spawnSync(node, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) throw new Error(`bench run failed (${r.status}): ${r.stderr}`);
  return ms;
}

/** The step's saved state (GITHUB_STATE, `name<<DELIMITER` blocks) as the STATE_name variables its post step gets. */
function savedState(file) {
  const state = {};
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const block = /^([^<=]+)<<(.+)$/.exec(lines[i]);
    if (!block) continue;
    const end = lines.indexOf(block[2], i + 1);
    state[`STATE_${block[1]}`] = lines.slice(i + 1, end).join('\n');
    i = end;
  }
  return state;
}

function dirSize(dir) {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const s = statSync(p);
    total += s.isDirectory() ? dirSize(p) : s.size;
  }
  return total;
}

function benchMain() {
  const work = mkdtempSync(join(tmpdir(), 'org-ca-bench-'));
  try {
    const ca = join(work, 'ca.pem');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(work, 'ca.key'),
        '-out',
        ca,
        '-days',
        '30',
        '-subj',
        '/CN=Bench Org Root',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign',
      ],
      { stdio: 'ignore' },
    );
    const runnerTemp = join(work, 'runner-temp');
    const files = Object.fromEntries(
      ['GITHUB_ENV', 'GITHUB_OUTPUT', 'GITHUB_STATE', 'GITHUB_STEP_SUMMARY'].map((n) => [n, join(work, n)]),
    );
    const env = () => {
      rmSync(runnerTemp, { recursive: true, force: true });
      mkdirSync(runnerTemp);
      for (const f of Object.values(files)) writeFileSync(f, '');
      return {
        PATH: process.env.PATH,
        HOME: work,
        'INPUT_CA-FILE': ca,
        INPUT_WHEN: 'self-hosted',
        RUNNER_ENVIRONMENT: 'self-hosted',
        RUNNER_TEMP: runnerTemp,
        ...files,
      };
    };
    const entry = join(root, 'dist/main/index.js');
    // Each main step is followed by its post step (not timed), as in a job: run as root, the main step adds registry
    // trust under /etc/*/certs.d, which only the post step takes out again.
    const post = join(root, 'dist/post/index.js');
    const stepThenPost = () => {
      const stepEnv = env();
      const ms = timeRun([entry], stepEnv);
      timeRun([post], { ...stepEnv, ...savedState(files.GITHUB_STATE) });
      return ms;
    };
    stepThenPost(); // warm the page cache
    const step = Array.from({ length: RUNS }, stepThenPost);
    const bare = Array.from({ length: RUNS }, () => timeRun(['-e', '0'], {}));
    const parseScript =
      "const t=performance.now();const tls=require('node:tls');const {X509Certificate}=require('node:crypto');" +
      "for(const p of tls.getCACertificates('system'))new X509Certificate(p);console.error((performance.now()-t).toFixed(1))";
    const parseMs = Array.from({ length: 5 }, () =>
      Number(spawnSync(node, ['-e', parseScript], { encoding: 'utf8' }).stderr.trim()),
    );
    const rows = [
      ['main step, median', median(step)],
      ['main step, p90', p90(step)],
      ['node -e 0 (start-up floor), median', median(bare)],
      ['main step minus start-up, median', median(step) - median(bare)],
      ['X.509-parse the OS store once (reference)', median(parseMs)],
    ];
    console.log(`\nmain step (${RUNS} runs, no network)`);
    for (const [name, ms] of rows) console.log(`  ${name.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms`);
    console.log(`  ${'dist/ size'.padEnd(44)} ${(dirSize(join(root, 'dist')) / 1024).toFixed(0).padStart(8)} KiB`);
    for (const d of readdirSync(join(root, 'dist'))) {
      const p = join(root, 'dist', d);
      if (statSync(p).isDirectory())
        console.log(`    ${d.padEnd(42)} ${(dirSize(p) / 1024).toFixed(0).padStart(8)} KiB`);
    }
    const ok = median(step) < TARGET_MS;
    console.log(`  target: median < ${TARGET_MS} ms: ${ok ? 'met' : 'MISSED'}`);
    return ok;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const which = process.argv[2] ?? 'main';
let ok = true;
if (which === 'main' || which === 'all') ok = benchMain() && ok;
for (const [name, script] of [
  ['detect', 'bench-detect.mjs'],
  ['leak', 'bench-leak.mjs'],
  ['fleet', 'bench-fleet.mjs'],
]) {
  if (which !== name && which !== 'all') continue;
  const path = join(root, 'scripts', script);
  if (!existsSync(path)) {
    console.log(`\n${name}: ${script} not present`);
    ok = false;
    continue;
  }
  ok = spawnSync(node, [path], { stdio: 'inherit' }).status === 0 && ok;
}
process.exit(ok ? 0 : 1);
