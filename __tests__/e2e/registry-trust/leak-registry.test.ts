/**
 * Issue 12's end-to-end proof for `leak-check registry:…`: images pushed to a real registry (docker-registry, TLS with
 * a "public" certificate, once with htpasswd auth) are read through a real TLS-inspection proxy (mitmdump re-signing
 * with the org CA, which the check is given and also trusts for the connection). A leak in a layer, in the config
 * and in an attestation is found, as is one in a referrer found through the `sha256-<hex>` tag fallback; a clean
 * image passes; credentials come from a docker config file and from a docker-credential-* helper; a 404, a 401, a
 * corrupted blob and a dropped connection each fail closed with one line.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Report } from '../../../src/leak/types.js';
import { runAction, useInspectionLab, type Lab } from '../../support/inspection/index.js';
import { bundle, NODE, runCli, type Run } from '../leak/support.js';
import { Blobs, MEDIA, type Descriptor } from '../leak/layout.js';
import {
  loopbackNamesResolve,
  pushRaw,
  startRegistry,
  startTamperFront,
  writeRegistryTls,
  type Registry,
  type RegistryTls,
} from '../../support/registry/index.js';
import { comparableSweep as comparable } from '../../support/sweep.js';

const lab = useInspectionLab({ mitmproxy: true });
// Root (daemons, certs.d) and the loopback registry names scripts/setup.sh maps in /etc/hosts: missing, the file
// fails at once with the reason rather than skipping.
const usable = loopbackNamesResolve();
if (!usable)
  throw new Error('registry e2e needs root and the loopback names vm and runsc in /etc/hosts: run scripts/setup.sh');
const maybe = describe;

let tls: RegistryTls;
let open: Registry;
let authed: Registry;
let dist: string;
let caPem: string;
const stops: (() => Promise<void>)[] = [];

const CLEAN_FILES = { 'app/run': '#!/bin/sh\necho ok\n', 'etc/motd': 'hello\n' };

function manifestBytes(blobs: Blobs, d: Descriptor): Buffer {
  return blobs.blobs.get(d.digest.slice(7))!;
}

/** Pushes every blob of `blobs` except manifests, then the manifests given (children before the index). */
async function push(
  registry: Registry,
  repo: string,
  blobs: Blobs,
  manifests: { reference: string; descriptor: Descriptor }[],
  children: Descriptor[] = [],
): Promise<void> {
  const manifestHexes = new Set(
    [...manifests.map((m) => m.descriptor.digest), ...children.map((c) => c.digest)].map((d) => d.slice(7)),
  );
  const plain = new Map([...blobs.blobs].filter(([hex]) => !manifestHexes.has(hex)));
  await pushRaw(registry, tls, repo, plain, [
    ...children.map((c) => ({ reference: c.digest, bytes: manifestBytes(blobs, c), mediaType: c.mediaType })),
    ...manifests.map((m) => ({
      reference: m.reference,
      bytes: manifestBytes(blobs, m.descriptor),
      mediaType: m.descriptor.mediaType,
    })),
  ]);
}

beforeAll(async () => {
  if (!usable) return;
  const l = lab();
  dist = await bundle();
  caPem = readFileSync(l.pki.paths.orgCa, 'utf8');
  tls = writeRegistryTls(l.pki, l.scratch('registry-tls'));
  open = await startRegistry({ name: 'registry-open', dir: l.dir, tls });
  stops.push(() => open.stop());
  authed = await startRegistry({
    name: 'registry-auth',
    dir: l.dir,
    tls,
    basicAuth: { user: 'reader', password: 'read-secret' },
  });
  stops.push(() => authed.stop());
  const amd64 = { architecture: 'amd64', os: 'linux' };
  const arm64 = { architecture: 'arm64', os: 'linux' };

  // A leak in a layer (a file), in the config (history, as a build arg would put it) and in an attestation.
  {
    const b = new Blobs();
    const img = b.image(amd64, [
      {
        files: { ...CLEAN_FILES, 'usr/local/share/ca-certificates/org.crt': caPem },
        createdBy: 'COPY org.crt /usr/local/share/ca-certificates/',
      },
    ]);
    await push(open, 'app', b, [{ reference: 'leaky-layer', descriptor: img.descriptor }]);
  }
  {
    const b = new Blobs();
    const img = b.image(amd64, [
      { files: CLEAN_FILES, createdBy: `RUN |1 ORG_CA=${caPem.replace(/\n/g, '\\n')} /bin/sh -c make` },
    ]);
    await push(open, 'app', b, [{ reference: 'leaky-config', descriptor: img.descriptor }]);
  }
  for (const [tag, leak] of [
    ['leaky-attestation', true],
    ['clean', false],
  ] as const) {
    const b = new Blobs();
    const x = b.image(amd64, [{ files: CLEAN_FILES, createdBy: 'COPY app /app' }]);
    const y = b.image(arm64, [{ files: CLEAN_FILES, createdBy: 'COPY app /app' }]);
    const args = leak ? { 'build-arg:ORG_CA': caPem } : { 'build-arg:VERSION': '1.2' };
    const att = b.attestation(x.descriptor, [
      {
        predicateType: 'https://slsa.dev/provenance/v0.2',
        statement: { _type: 'https://in-toto.io/Statement/v0.1', predicate: { invocation: { parameters: { args } } } },
      },
    ]);
    const index = b.index([x.descriptor, y.descriptor, att.descriptor]);
    await push(open, 'app', b, [{ reference: tag, descriptor: index }], [x.descriptor, y.descriptor, att.descriptor]);
  }
  // A clean image whose referrer (an artifact with a subject, found by the sha256-<hex> tag) carries the CA.
  {
    const b = new Blobs();
    // Its own content: a referrer tag names a manifest digest, and would attach to any byte-identical manifest.
    const img = b.image(amd64, [
      { files: { ...CLEAN_FILES, 'etc/version': 'with-referrer\n' }, createdBy: 'COPY app /app' },
    ]);
    const empty = b.put('{}', 'application/vnd.oci.empty.v1+json');
    const payload = b.put(JSON.stringify({ note: 'sbom', certificate: caPem }), 'application/spdx+json');
    const artifact = b.put(
      {
        schemaVersion: 2,
        mediaType: MEDIA.manifest,
        artifactType: 'application/spdx+json',
        config: empty,
        layers: [payload],
        subject: { mediaType: MEDIA.manifest, digest: img.descriptor.digest, size: img.descriptor.size },
      },
      MEDIA.manifest,
    );
    const referrers = b.index([{ ...artifact, annotations: { 'org.opencontainers.image.description': 'sbom' } }]);
    await push(
      open,
      'app',
      b,
      [
        { reference: 'with-referrer', descriptor: img.descriptor },
        { reference: `sha256-${img.descriptor.digest.slice(7)}`, descriptor: referrers },
      ],
      [artifact],
    );
  }
  // Two layers large enough that a staged copy would sit on disk for a while (random bytes: gzip cannot shrink them).
  {
    const b = new Blobs();
    const img = b.image(amd64, [
      { files: { 'opt/big-a.bin': randomBytes(12 * 1024 * 1024), ...CLEAN_FILES }, createdBy: 'COPY big-a /opt/' },
      {
        files: { 'opt/big-b.bin': randomBytes(12 * 1024 * 1024), 'etc/ssl/certs/org.pem': caPem },
        createdBy: 'COPY org.pem /etc/ssl/certs/',
      },
    ]);
    await push(open, 'app', b, [{ reference: 'large', descriptor: img.descriptor }]);
  }
  // The clean image behind auth, for the credential sources.
  {
    const b = new Blobs();
    const img = b.image(amd64, [{ files: CLEAN_FILES, createdBy: 'COPY app /app' }]);
    await push(authed, 'private', b, [{ reference: '1', descriptor: img.descriptor }]);
  }
}, 180000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
}, 60000);

/** The CLI through the inspection proxy, trusting the org CA it checks for. */
function check(
  l: Lab,
  image: string,
  env: NodeJS.ProcessEnv = {},
  extra: string[] = [],
): { run: Run; report?: Report } {
  const run = runCli(dist, ['leak-check', image, '--ca', l.pki.paths.orgCa, '--json', ...extra], {
    HTTPS_PROXY: l.mitmproxy!.url,
    NO_PROXY: '',
    ...env,
  });
  try {
    return { run, report: JSON.parse(run.stdout) as Report };
  } catch {
    return { run };
  }
}

/** What the sweep JSON holds that these tests read. */
interface SweepJson {
  images: { image: string; verdict: string; report: Report }[];
  layers: { digest: string; verdict: string; images: string[] }[];
  stats: { images: number; layers: number; layersRead: number; ms: number };
}

/** The shard report fields these tests read. */
interface ShardJson {
  shard: { index: number; total: number };
  layers: { key: string }[];
}

function oneLineFailure(run: Run, pattern: RegExp): void {
  expect(run.status).not.toBe(0);
  const lines = run.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  // --json is written in every case (a pipeline's report file is never empty): it says the same, and finds nothing.
  const report = JSON.parse(run.stdout) as Report;
  expect(report.error).toBe(lines[0]!.replace(/^org-ca leak-check: /, ''));
  expect(report.findings).toEqual([]);
}

maybe('leak-check reading a registry through TLS inspection', () => {
  test('registry:HOST/REPO with no tag checks every tag: a verdict per image, shared layers read once', () => {
    const { run } = check(lab(), `registry:${open.host}/app`);
    const sweep = JSON.parse(run.stdout) as {
      images: { image: string; verdict: string; report: Report }[];
      layers: { digest: string; verdict: string; images: string[] }[];
      stats: { images: number; layers: number; layersRead: number };
    };
    expect(run.status).toBe(1);
    const at = (tag: string): string => `registry:${open.host}/app:${tag}`;
    // The tag list, less the referrer tag (sha256-<hex>), which is checked with its subject.
    expect(Object.fromEntries(sweep.images.map((i) => [i.image, i.verdict]))).toEqual({
      [at('clean')]: 'clean',
      [at('large')]: 'leak',
      [at('leaky-attestation')]: 'leak',
      [at('leaky-config')]: 'leak',
      [at('leaky-layer')]: 'leak',
      [at('with-referrer')]: 'leak',
    });
    // The layer of the clean files is shipped by several images (two platforms, two tags) and read once.
    const referenced = sweep.images.reduce((n, i) => n + i.report.stats.layers, 0);
    expect(sweep.stats.layersRead).toBe(sweep.stats.layers);
    expect(sweep.stats.layersRead).toBeLessThan(referenced);
    const shared = sweep.layers.find(
      (l) => l.images.includes(at('clean')) && l.images.includes(at('leaky-attestation')),
    );
    expect(shared?.verdict).toBe('clean');
    const leaking = sweep.layers.filter((l) => l.verdict === 'leak').flatMap((l) => l.images);
    expect(leaking).toEqual(expect.arrayContaining([at('leaky-layer'), at('large')]));
    expect(leaking).not.toContain(at('clean'));
  }, 180000);

  test('--images FILE and several IMAGE arguments: one run, each image its verdict', () => {
    const l = lab();
    const list = join(l.scratch('images'), 'images.txt');
    mkdirSync(l.scratch('images'), { recursive: true });
    writeFileSync(
      list,
      `# release images\nregistry:${open.host}/app:clean\n\nregistry:${open.host}/app:leaky-config\n`,
    );
    const { run } = check(l, `registry:${open.host}/app:clean`, {}, ['--images', list]);
    const sweep = JSON.parse(run.stdout) as { images: { image: string; verdict: string }[] };
    expect(run.status).toBe(1);
    expect(sweep.images.map((i) => [i.image, i.verdict])).toEqual([
      [`registry:${open.host}/app:clean`, 'clean'],
      [`registry:${open.host}/app:leaky-config`, 'leak'],
    ]);
  }, 120000);

  test('--shard I/N from --plan N over every tag: the merged report is the single run’s', () => {
    const l = lab();
    const dir = l.scratch('shards');
    mkdirSync(dir, { recursive: true });
    const proxy = { HTTPS_PROXY: l.mitmproxy!.url, NO_PROXY: '' };
    const plan = runCli(dist, ['leak-check', '--plan', '3']);
    expect(plan.status).toBe(0);
    const matrix = JSON.parse(plan.stdout) as { shard: string[] };
    expect(matrix).toEqual({ shard: ['1/3', '2/3', '3/3'] });
    const repo = `registry:${open.host}/app`;
    const { run: singleRun } = check(l, repo);
    const single = JSON.parse(singleRun.stdout) as SweepJson;
    const files = matrix.shard.map((shard, i) => {
      const file = join(dir, `shard-${i + 1}.json`);
      const run = runCli(
        dist,
        ['leak-check', repo, '--ca', l.pki.paths.orgCa, '--shard', shard, '--report', file],
        proxy,
      );
      // A shard fails on what its own share holds; the run's verdict is the merge's.
      expect([0, 1]).toContain(run.status);
      expect(run.stdout).toContain(`shard ${shard} of a run over ${single.images.length} image(s)`);
      return file;
    });
    const shards = files.map((f) => (JSON.parse(readFileSync(f, 'utf8')) as { report: ShardJson }).report);
    const keys = shards.flatMap((r) => r.layers.map((x) => x.key));
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual(single.layers.map((x) => x.digest).sort());
    const sarif = join(dir, 'merged.sarif');
    const merge = runCli(dist, ['report', 'merge', ...files, '--json', '--sarif', sarif]);
    expect(merge.status).toBe(1);
    expect(comparable(JSON.parse(merge.stdout) as SweepJson)).toEqual(comparable(single));
    expect((JSON.parse(readFileSync(sarif, 'utf8')) as { runs: unknown[] }).runs).toHaveLength(single.images.length);
    // --shard auto: GitLab's parallel job names this job 2 of 3, and it reads shard 2's share.
    const autoFile = join(dir, 'auto.json');
    const auto = runCli(
      dist,
      ['leak-check', repo, '--ca', l.pki.paths.orgCa, '--shard', 'auto', '--report', autoFile],
      {
        ...proxy,
        CI_NODE_INDEX: '2',
        CI_NODE_TOTAL: '3',
      },
    );
    expect([0, 1]).toContain(auto.status);
    const autoReport = (JSON.parse(readFileSync(autoFile, 'utf8')) as { report: ShardJson }).report;
    expect(autoReport.shard).toEqual({ index: 2, total: 3 });
    expect(autoReport.layers.map((x) => x.key)).toEqual(shards[1]!.layers.map((x) => x.key));
    // Without shard 3, no verdict: exit 2, one line.
    const partial = runCli(dist, ['report', 'merge', files[0]!, files[1]!]);
    expect(partial.status).toBe(2);
    expect(partial.stderr.trim().split('\n')).toEqual([
      'org-ca report: shard 3/3 missing: a run is judged only with all 3',
    ]);
  }, 300000);

  test('a tag pushed between two shards’ listings: the merge is refused, never judged on half a fleet', async () => {
    const l = lab();
    const dir = l.scratch('moving');
    mkdirSync(dir, { recursive: true });
    const proxy = { HTTPS_PROXY: l.mitmproxy!.url, NO_PROXY: '' };
    const pushTag = async (tag: string): Promise<void> => {
      const b = new Blobs();
      const img = b.image({ architecture: 'amd64', os: 'linux' }, [
        { files: { 'etc/tag': `${tag}\n` }, createdBy: 'COPY tag /etc/' },
      ]);
      await push(open, 'fleet', b, [{ reference: tag, descriptor: img.descriptor }]);
    };
    await pushTag('1.0');
    await pushTag('1.1');
    const shard = (s: string): string => {
      const file = join(dir, `${s.replace('/', '-of-')}.json`);
      const run = runCli(
        dist,
        ['leak-check', `registry:${open.host}/fleet`, '--ca', l.pki.paths.orgCa, '--shard', s, '--report', file],
        proxy,
      );
      expect(run.status).toBe(0);
      return file;
    };
    const first = shard('1/2');
    await pushTag('1.2');
    const second = shard('2/2');
    const merge = runCli(dist, ['report', 'merge', first, second]);
    expect(merge.status).toBe(2);
    const lines = merge.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /2-of-2\.json is of another run than .*1-of-2\.json \(another list of tags \(a tag was pushed or deleted between the shards\)\): run every shard again/,
    );
  }, 180000);

  test('--attest: an in-toto statement whose subject is the digest the registry serves the tag by', () => {
    const l = lab();
    const statementFile = join(l.scratch('attest'), 'clean.intoto.json');
    const predicateFile = join(l.scratch('attest'), 'clean.predicate.json');
    mkdirSync(join(l.scratch('attest')), { recursive: true });
    const { run } = check(l, `registry:${open.host}/app:clean`, {}, [
      '--attest',
      statementFile,
      '--predicate',
      predicateFile,
    ]);
    expect(run.status).toBe(0);
    // The registry's own answer: the Docker-Content-Digest of the tag, asked directly (not through org-ca).
    const head = execFileSync(
      'curl',
      [
        '-sSfI',
        '--cacert',
        tls.publicRoot,
        '-H',
        'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json',
        `https://${open.host}/v2/app/manifests/clean`,
      ],
      { encoding: 'utf8', env: { ...process.env, NO_PROXY: '*' } },
    );
    const served = /^docker-content-digest:\s*(sha256:[0-9a-f]{64})/im.exec(head)![1]!;
    const statement = JSON.parse(readFileSync(statementFile, 'utf8')) as {
      _type: string;
      subject: { name: string; digest: Record<string, string> }[];
      predicateType: string;
      predicate: { verdict: string; searchedFor: string[] };
    };
    expect(statement._type).toBe('https://in-toto.io/Statement/v1');
    expect(statement.subject).toEqual([{ name: `${open.host}/app`, digest: { sha256: served.slice(7) } }]);
    expect(statement.predicate.verdict).toBe('clean');
    expect(JSON.parse(readFileSync(predicateFile, 'utf8'))).toEqual(statement.predicate);
    // Fingerprints only: the CA itself is nowhere in the statement.
    const body = caPem.replace(/-----[^-]+-----|\s/g, '');
    expect(readFileSync(statementFile, 'utf8')).not.toContain(body.slice(0, 40));
  }, 120000);

  test('a CA in a layer is found, with the file it is in', () => {
    const { run, report } = check(lab(), `registry:${open.host}/app:leaky-layer`);
    expect(run.status).toBe(1);
    expect(report!.unscanned).toEqual([]);
    expect(report!.findings.map((f) => `${f.path} ${f.visibility}`)).toContain(
      '/usr/local/share/ca-certificates/org.crt final',
    );
    // It went through the proxy: mitmdump logged the registry's requests.
    expect(lab().mitmproxy!.saw(`${open.host}/v2/app/manifests/leaky-layer`)).toBe(true);
  }, 120000);

  test('layers stream into the scanner: nothing of the image is ever written under TMPDIR', async () => {
    const l = lab();
    const tmp = l.scratch('tmpdir');
    mkdirSync(tmp, { recursive: true });
    const seen = new Set<string>();
    const list = (dir: string, rel = ''): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        seen.add(`${rel}${e.name}`);
        if (e.isDirectory()) list(join(dir, e.name), `${rel}${e.name}/`);
      }
    };
    const child = spawn(
      NODE,
      [
        join(dist, 'cli/index.js'),
        'leak-check',
        `registry:${open.host}/app:large`,
        '--ca',
        l.pki.paths.orgCa,
        '--json',
      ],
      {
        env: { ...process.env, TMPDIR: tmp, HTTPS_PROXY: l.mitmproxy!.url, NO_PROXY: '' },
      },
    );
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    let polls = 0;
    const poll = setInterval(() => {
      polls++;
      list(tmp);
    }, 5);
    const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearInterval(poll);
    list(tmp);
    const report = JSON.parse(stdout) as Report;
    expect(status).toBe(1);
    expect(report.unscanned).toEqual([]);
    // Both large layers were read to their end and verified (a digest or size mismatch would have failed the run).
    expect(report.stats.layers).toBe(2);
    expect(report.stats.bytes).toBeGreaterThan(24 * 1024 * 1024);
    expect(report.findings.map((f) => `${f.path} ${f.layer?.index}`)).toContain('/etc/ssl/certs/org.pem 1');
    expect(polls).toBeGreaterThan(5);
    expect([...seen]).toEqual([]);
  }, 180000);

  test('a CA in the image config (history) is found', () => {
    const { run, report } = check(lab(), `docker://${open.host}/app:leaky-config`);
    expect(run.status).toBe(1);
    expect(report!.findings.some((f) => f.visibility === 'config' && f.path.startsWith('history['))).toBe(true);
  }, 120000);

  test('a CA in an attestation of a multi-platform index is found; every platform is read', () => {
    const { run, report } = check(lab(), `registry:${open.host}/app:leaky-attestation`);
    expect(run.status).toBe(1);
    expect(report!.stats.images).toBe(2);
    expect(report!.findings.some((f) => /attestation/.test(f.message))).toBe(true);
  }, 120000);

  test('a CA in a referrer found through the sha256-<hex> tag fallback is found', () => {
    const { run, report } = check(lab(), `registry:${open.host}/app:with-referrer`);
    expect(run.status).toBe(1);
    expect(report!.findings.length).toBeGreaterThan(0);
    expect(report!.findings.every((f) => f.visibility === 'n/a')).toBe(true);
  }, 120000);

  test('a clean multi-platform image with its attestation passes', () => {
    const { run, report } = check(lab(), `registry:${open.host}/app:clean`);
    expect(report!.findings.map((f) => f.message)).toEqual([]);
    expect(report!.unscanned).toEqual([]);
    expect(`${run.status} ${run.stderr}`).toBe('0 ');
    expect(report!.stats.images).toBe(2);
  }, 120000);

  test('--platform reads one platform of an index', () => {
    const { run, report } = check(lab(), `registry:${open.host}/app:clean`, {}, ['--platform', 'linux/arm64']);
    expect(run.status).toBe(0);
    expect(report!.stats.images).toBe(1);
  }, 120000);

  test('credentials from a docker config file', () => {
    const l = lab();
    const dir = l.scratch('docker-config');
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ auths: { [authed.host]: { auth: Buffer.from('reader:read-secret').toString('base64') } } }),
    );
    const { run, report } = check(l, `registry:${authed.host}/private:1`, { DOCKER_CONFIG: dir });
    expect(`${run.status} ${run.stderr}`).toBe('0 ');
    expect(report!.stats.layers).toBeGreaterThan(0);
  }, 120000);

  test('credentials from a docker-credential-* helper (the real helper protocol)', () => {
    const l = lab();
    const dir = l.scratch('docker-config');
    const bin = l.scratch('bin');
    const asked = join(dir, 'asked');
    // get: the server URL on stdin, {"ServerURL","Username","Secret"} on stdout.
    writeFileSync(
      join(bin, 'docker-credential-lab'),
      `#!/bin/sh\n[ "$1" = get ] || exit 1\nread url\nprintf '%s' "$url" > '${asked}'\nprintf '{"ServerURL":"%s","Username":"reader","Secret":"read-secret"}' "$url"\n`,
    );
    chmodSync(join(bin, 'docker-credential-lab'), 0o755);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ credHelpers: { [authed.host]: 'lab' } }));
    const { run } = check(l, `registry:${authed.host}/private:1`, {
      DOCKER_CONFIG: dir,
      PATH: `${bin}:${process.env.PATH}`,
    });
    expect(`${run.status} ${run.stderr}`).toBe('0 ');
    expect(readFileSync(asked, 'utf8')).toBe(authed.host);
  }, 120000);

  test('the leak-check sub-action takes the same image input, with credentials from the docker config', async () => {
    const l = lab();
    const dir = l.scratch('docker-config');
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ auths: { [authed.host]: { auth: Buffer.from('reader:read-secret').toString('base64') } } }),
    );
    const env = { ...l.jobEnv(), HTTPS_PROXY: l.mitmproxy!.url, NO_PROXY: '', DOCKER_CONFIG: dir };
    const leaky = await runAction('leak-check', {
      inputs: { image: `registry:${open.host}/app:leaky-layer`, 'ca-file': l.pki.paths.orgCa },
      env,
      timeoutMs: 120000,
    });
    expect(leaky.exitCode).not.toBe(0);
    expect(Number(leaky.outputs.leaks)).toBeGreaterThan(0);
    const clean = await runAction('leak-check', {
      inputs: { image: `registry:${authed.host}/private:1`, 'ca-file': l.pki.paths.orgCa },
      env,
      timeoutMs: 120000,
    });
    expect(
      `${clean.exitCode} ${clean.stdout
        .split('\n')
        .filter((x) => x.startsWith('::error'))
        .join(' ')}`,
    ).toBe('0 ');
    expect(clean.outputs.leaks).toBe('0');
  }, 240000);

  test('the sub-action over every tag: a verdict per image in the report and the job summary', async () => {
    const l = lab();
    const env = { ...l.jobEnv(), HTTPS_PROXY: l.mitmproxy!.url, NO_PROXY: '' };
    const swept = await runAction('leak-check', {
      inputs: { image: `registry:${open.host}/app`, 'ca-file': l.pki.paths.orgCa },
      env,
      timeoutMs: 180000,
    });
    expect(swept.exitCode).not.toBe(0);
    const at = (tag: string): string => `registry:${open.host}/app:${tag}`;
    const report = JSON.parse(readFileSync(swept.outputs['report-file']!, 'utf8')) as SweepJson;
    expect(report.images.find((i) => i.image === at('clean'))?.verdict).toBe('clean');
    expect(report.images.find((i) => i.image === at('leaky-layer'))?.verdict).toBe('leak');
    expect(swept.summary).toMatch(/^## org-ca leak check: 6 image\(s\)$/m);
    expect(swept.summary).toContain(`| <code>${at('clean')}</code> | clean |`);
    expect(swept.summary).toContain(`| <code>${at('leaky-layer')}</code> | **LEAK** |`);
    expect(swept.summary).toContain(`### <code>${at('leaky-layer')}</code>`);
    const sarif = JSON.parse(readFileSync(swept.outputs['sarif-file']!, 'utf8')) as { runs: unknown[] };
    expect(sarif.runs).toHaveLength(6);
    // Two images in one input, one a line; with attest, refused in one line (a statement names one image).
    const two = await runAction('leak-check', {
      inputs: { image: `${at('clean')}\n${at('leaky-config')}\n`, 'ca-file': l.pki.paths.orgCa, attest: 'true' },
      env,
      timeoutMs: 120000,
    });
    expect(two.exitCode).not.toBe(0);
    expect(two.stdout).toMatch(
      /^::error::'attest' names one image, and 'image' names 2 images: attest them one step each$/m,
    );
  }, 300000);

  test('a missing tag (404) fails closed with one line', () => {
    oneLineFailure(
      check(lab(), `registry:${open.host}/app:missing`).run,
      /manifest of vm:\d+\/app:missing: not found \(404\)/,
    );
  }, 120000);

  test('no credentials (401) and wrong ones fail closed with one line, never echoing a secret', () => {
    const l = lab();
    const empty = l.scratch('no-config');
    oneLineFailure(
      check(l, `registry:${authed.host}/private:1`, { DOCKER_CONFIG: empty }).run,
      /asks for a user name and password \(401\)/,
    );
    const dir = l.scratch('docker-config');
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ auths: { [authed.host]: { auth: Buffer.from('reader:wrong-secret').toString('base64') } } }),
    );
    const wrong = check(l, `registry:${authed.host}/private:1`, { DOCKER_CONFIG: dir }).run;
    oneLineFailure(wrong, /authentication required or refused \(401\)/);
    expect(wrong.stderr).not.toContain('wrong-secret');
  }, 120000);

  test.each(['corrupt', 'drop'] as const)(
    'a %s blob from a tampering front fails closed with one line',
    async (mode) => {
      const l = lab();
      const front = await startTamperFront(open, tls, l.scratch(`tamper-${mode}`), mode);
      try {
        // Straight to the front (no proxy): its "public" certificate is trusted through NODE_EXTRA_CA_CERTS.
        const run = runCli(
          dist,
          ['leak-check', `registry:${front.host}/app:clean`, '--ca', l.pki.paths.orgCa, '--json'],
          { NODE_EXTRA_CA_CERTS: tls.publicRoot, HTTPS_PROXY: '', NO_PROXY: '' },
        );
        oneLineFailure(
          run,
          mode === 'corrupt'
            ? /blob sha256:[0-9a-f]{64} of vm:\d+\/app:clean: the registry served content whose digest is sha256:/
            : /blob sha256:[0-9a-f]{64} of vm:\d+\/app:clean: (the download broke off|got \d+ of \d+ bytes)/,
        );
      } finally {
        await front.stop();
      }
    },
    120000,
  );

  test.each(['corrupt', 'drop'] as const)(
    'a %s layer, streamed by a worker into the scanner, fails closed with one line',
    async (mode) => {
      const l = lab();
      // Only blobs over 1 MB are tampered with: the two 12 MB layers of app:large, never its config or manifests.
      const front = await startTamperFront(open, tls, l.scratch(`tamper-layer-${mode}`), mode, 1024 * 1024);
      try {
        const run = runCli(
          dist,
          ['leak-check', `registry:${front.host}/app:large`, '--ca', l.pki.paths.orgCa, '--json'],
          { NODE_EXTRA_CA_CERTS: tls.publicRoot, HTTPS_PROXY: '', NO_PROXY: '' },
        );
        oneLineFailure(
          run,
          mode === 'corrupt'
            ? /blob sha256:[0-9a-f]{64} of vm:\d+\/app:large: the registry served content whose digest is sha256:[0-9a-f]{64}$/
            : /blob sha256:[0-9a-f]{64} of vm:\d+\/app:large: (the download broke off after \d+ of \d+ bytes|got \d+ of \d+ bytes)/,
        );
      } finally {
        await front.stop();
      }
    },
    120000,
  );
});
