/**
 * Real image builds (buildah bud, chroot isolation, vfs, no daemon, no registry) behind real inspection proxies:
 * the build stage fetches over HTTPS through mitmproxy and squid ssl-bump with curl, Python urllib, apt-get and pip
 * via with-org-ca: it fails without the org_ca secret and passes with it. Dockerfile.example builds with the secret
 * behind the proxy and with nothing on a direct path, and its release image, exported as an OCI archive, holds the
 * org CA nowhere (layers, config, history). For every image built here, the Dockerfile lint and the leak check agree.
 *
 * The first run builds a Debian base with debootstrap (minutes; cached under /var/cache/org-ca-test).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { buildOutputs } from '../../../src/in-build/outputs.js';
import { prepareBuildContext } from '../../../src/in-build/context.js';
import { useInspectionLab, type Lab, type Proxy } from '../../support/inspection/index.js';
import type { Issued } from '../../support/pki.js';
import { BUILDAH_GLOBAL, buildah, ensureBaseImage, mustBuildah } from './buildah.js';
import { cliEntry } from '../../support/cli.js';
import { explain, judgeBoth } from './agreement.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const lab = useInspectionLab({ mitmproxy: true, squid: true }, 120000);
const RUN_ID = `${process.pid}-${Date.now().toString(36)}`;
const images: string[] = [];

let publicImage: string;
let helperDir: string;
let upstream: string;
let work: string;
let npmIntegrity: string;

function log(line: string): void {
  process.stderr.write(`[image-build] ${line}\n`);
}

/** A package source on the lab upstream, under /pkgs.git/ (the upstream serves any file below a *.git directory). */
function writePackageSource(l: Lab): { npmIntegrity: string } {
  const root = join(l.dir, 'git', 'pkgs.git');
  const scratch = l.scratch('pkgs');
  // npm: a stand-in for ms@2.1.3, enough for the example service's require('ms').
  const pkg = join(scratch, 'package');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'ms', version: '2.1.3', main: 'index.js' }));
  writeFileSync(join(pkg, 'index.js'), 'module.exports = (n) => `${Math.round(n / 1000)}s (lab ms)`;\n');
  mkdirSync(join(root, 'npm', 'ms', '-'), { recursive: true });
  const tgz = join(root, 'npm', 'ms', '-', 'ms-2.1.3.tgz');
  execFileSync('tar', ['-czf', tgz, '-C', scratch, 'package']);
  const npmIntegrity = `sha512-${createHash('sha512').update(readFileSync(tgz)).digest('base64')}`;
  // pip: a stand-in wheel for six 1.16.0.
  mkdirSync(join(root, 'wheels'), { recursive: true });
  execFileSync('python3', [
    '-c',
    [
      'import sys, zipfile',
      'z = zipfile.ZipFile(sys.argv[1], "w")',
      'z.writestr("six.py", "__version__ = \\"1.16.0-lab\\"\\n")',
      'z.writestr("six-1.16.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: six\\nVersion: 1.16.0\\n")',
      'z.writestr("six-1.16.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: lab\\nRoot-Is-Purelib: true\\nTag: py2-none-any\\nTag: py3-none-any\\n")',
      'z.writestr("six-1.16.0.dist-info/RECORD", "six.py,,\\nsix-1.16.0.dist-info/METADATA,,\\nsix-1.16.0.dist-info/WHEEL,,\\nsix-1.16.0.dist-info/RECORD,,\\n")',
      'z.close()',
    ].join('\n'),
    join(root, 'wheels', 'six-1.16.0-py2.py3-none-any.whl'),
  ]);
  // apt: a flat repository with one package, unsigned ([trusted=yes]) but with a Release file.
  const apt = join(root, 'apt');
  const deb = join(scratch, 'deb');
  mkdirSync(join(deb, 'DEBIAN'), { recursive: true });
  mkdirSync(join(deb, 'usr', 'share', 'lab-hello'), { recursive: true });
  writeFileSync(
    join(deb, 'DEBIAN', 'control'),
    'Package: lab-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: lab <lab@example.invalid>\nDescription: lab package\n',
  );
  writeFileSync(join(deb, 'usr', 'share', 'lab-hello', 'hello.txt'), 'hello from the lab apt repository\n');
  mkdirSync(apt, { recursive: true });
  execFileSync('dpkg-deb', ['--root-owner-group', '-Zgzip', '--build', deb, join(apt, 'lab-hello_1.0_all.deb')], {
    stdio: 'pipe',
  });
  const packages = execFileSync('dpkg-scanpackages', ['.', '/dev/null'], {
    cwd: apt,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  writeFileSync(join(apt, 'Packages'), packages);
  const sha = createHash('sha256').update(packages).digest('hex');
  writeFileSync(
    join(apt, 'Release'),
    `Origin: lab\nLabel: lab\nSuite: lab\nCodename: lab\nDate: ${new Date().toUTCString()}\nArchitectures: all amd64\nSHA256:\n ${sha} ${packages.length} Packages\n`,
  );
  return { npmIntegrity };
}

/** The example's context (example/), with its lockfile and requirements pointed at the lab's package source. */
function exampleContext(l: Lab, npmIntegrity: string): string {
  const dir = l.scratch('example-context');
  cpSync(join(REPO, 'example'), dir, { recursive: true });
  const lockPath = join(dir, 'service', 'package-lock.json');
  const lock = JSON.parse(readFileSync(lockPath, 'utf8'));
  lock.packages['node_modules/ms'].resolved = `${upstream}/pkgs.git/npm/ms/-/ms-2.1.3.tgz`;
  lock.packages['node_modules/ms'].integrity = npmIntegrity;
  writeFileSync(lockPath, JSON.stringify(lock, null, 2));
  writeFileSync(
    join(dir, 'assets', 'requirements.txt'),
    `six @ ${upstream}/pkgs.git/wheels/six-1.16.0-py2.py3-none-any.whl\n`,
  );
  return dir;
}

const FETCH_SCRIPT = `set -u
fails=0
check() {
  name=$1; shift
  if "$@" >/tmp/out.$name 2>&1; then echo "CLIENT $name ok"; else echo "CLIENT $name fail: $( (head -n 2 /tmp/out.$name; tail -n 2 /tmp/out.$name) | tr '\\n' ' ')"; fails=$((fails + 1)); fi
}
check curl curl -sS -o /dev/null --max-time 30 "$UPSTREAM/?client=curl-$MARK"
check python python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=30).read()' "$UPSTREAM/?client=python-$MARK"
echo "deb [trusted=yes] $UPSTREAM/pkgs.git/apt ./" >/tmp/lab.list
check apt sh -c 'apt-get -q -o Dir::Etc::SourceList=/tmp/lab.list -o Dir::Etc::SourceParts=/nonexistent -o Acquire::Retries=0 update && apt-get -q -y -o Dir::Etc::SourceList=/tmp/lab.list -o Dir::Etc::SourceParts=/nonexistent install lab-hello && cat /usr/share/lab-hello/hello.txt'
check pip sh -c 'python3 -m venv /tmp/venv && PIP_DISABLE_PIP_VERSION_CHECK=1 /tmp/venv/bin/pip install --no-cache-dir --timeout 30 "$UPSTREAM/pkgs.git/wheels/six-1.16.0-py2.py3-none-any.whl"'
exit $fails
`;

const FETCH_DOCKERFILE = `ARG BASE
FROM \${BASE}
ARG UPSTREAM
ARG MARK
RUN --mount=type=secret,id=org_ca,required=false \\
    --mount=type=bind,from=org-ca,target=/org-ca \\
    --mount=type=bind,target=/ctx \\
    UPSTREAM=$UPSTREAM MARK=$MARK /org-ca/with-org-ca sh /ctx/fetch.sh
`;

interface BuildRequest {
  readonly file: string;
  readonly context: string;
  readonly proxy?: Proxy;
  readonly secret?: string;
  readonly args?: Record<string, string>;
  readonly tag: string;
  readonly target?: string;
}

/** buildah bud with exactly the flags the action's docker-flags output gives, plus the test's own args. */
async function bud(request: BuildRequest): Promise<{ code: number; output: string }> {
  const outputs = buildOutputs({
    helperDir,
    ...(request.secret ? { caPath: request.secret, bundlePath: request.secret } : {}),
    env: request.proxy ? { HTTPS_PROXY: request.proxy.url, https_proxy: request.proxy.url } : {},
  });
  const flags: string[] = [];
  for (const line of outputs.secretFiles.split('\n').filter(Boolean)) {
    const [id, src] = [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)];
    flags.push('--secret', `id=${id},src=${src}`);
  }
  flags.push('--build-context', outputs.buildContexts);
  for (const line of outputs.buildArgs.split('\n').filter(Boolean)) flags.push('--build-arg', line);
  for (const [name, value] of Object.entries(request.args ?? {})) flags.push('--build-arg', `${name}=${value}`);
  const started = Date.now();
  const result = await buildah([
    'bud',
    '--isolation',
    'chroot',
    '--network',
    'host',
    '--pull=never',
    '--layers=false',
    ...flags,
    ...(request.target ? ['--target', request.target] : []),
    '-f',
    request.file,
    '-t',
    request.tag,
    request.context,
  ]);
  images.push(request.tag);
  log(`${request.tag}: exit ${result.code} in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return result;
}

/** The lint passes the Dockerfile exactly where the leak check passes the image built from it (here: both pass). */
async function expectLintAgreesWithLeakCheck(l: Lab, dockerfile: string, context: string, tag: string): Promise<void> {
  const orgCaFile = join(work, 'org-cas.pem');
  writeFileSync(orgCaFile, l.pki.orgCa.certPem + l.pki.orgRoot.certPem + l.pki.orgIntermediate.certPem);
  const v = await judgeBoth({ dockerfile, context, tag, orgCaFile, work });
  expect({ lint: v.lintPasses, leakCheck: v.leakCheckPasses, why: explain(v) }).toEqual({
    lint: true,
    leakCheck: true,
    why: expect.any(String),
  });
}

function clientLines(output: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of output.matchAll(/^CLIENT (\w+) (ok|fail)(.*)$/gm)) out[m[1]!] = m[2] === 'ok' ? 'ok' : `fail${m[3]}`;
  return out;
}

/** Every form of a certificate a scanner should find: DER, its base64 on one line, and each PEM body line. */
function needles(cert: Issued): Buffer[] {
  const body = cert.certPem.split('\n').filter((l) => l && !l.startsWith('-----'));
  return [cert.der, Buffer.from(cert.der.toString('base64')), ...body.slice(0, -1).map((line) => Buffer.from(line))];
}

/** Blobs of an OCI archive (tar of an OCI layout): layers gunzipped, config and manifests as they are. */
function ociBlobs(archive: string): Array<{ name: string; data: Buffer }> {
  const dir = join(work, `oci-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  execFileSync('tar', ['-xf', archive, '-C', dir]);
  const blobDir = join(dir, 'blobs', 'sha256');
  return readdirSync(blobDir).map((name) => {
    let data = readFileSync(join(blobDir, name));
    if (data[0] === 0x1f && data[1] === 0x8b) data = gunzipSync(data);
    return { name, data };
  });
}

/** The image config, found through the manifest (a layer may contain the word "history" too). */
function imageConfig(blobs: ReadonlyArray<{ name: string; data: Buffer }>): string {
  const manifest = blobs
    .filter((b) => b.data[0] === 0x7b && b.data.length < 1 << 20)
    .map((b) => JSON.parse(b.data.toString('utf8')) as { config?: { digest?: string }; layers?: unknown[] })
    .find((json) => json.config?.digest && Array.isArray(json.layers));
  const name = manifest?.config?.digest?.replace(/^sha256:/, '');
  const config = blobs.find((b) => b.name === name);
  if (!config) throw new Error('no image manifest with a config in the OCI archive');
  return config.data.toString('utf8');
}

function findCertificate(blobs: ReadonlyArray<{ name: string; data: Buffer }>, certs: readonly Issued[]): string[] {
  const found: string[] = [];
  for (const blob of blobs) {
    for (const cert of certs) {
      if (needles(cert).some((needle) => blob.data.includes(needle)))
        found.push(`${cert.cert.subject.getField('CN').value} in blob ${blob.name.slice(0, 12)}`);
    }
  }
  return found;
}

beforeAll(async () => {
  const started = Date.now();
  const base = await ensureBaseImage();
  log(`base image ${base} ready after ${((Date.now() - started) / 1000).toFixed(0)} s`);
  const l = lab();
  work = l.scratch('image-build');
  upstream = l.upstream.url.replace(/\/$/, '');
  // The lab's "public" root stands for the real public CAs: the image trusts it as any image trusts Mozilla's roots.
  const ctr = (await mustBuildah(['from', '--pull=never', base])).trim().split('\n').pop()!;
  await mustBuildah(['copy', ctr, l.pki.paths.publicRoot, '/usr/local/share/ca-certificates/lab-public-root.crt']);
  await mustBuildah(['run', '--isolation', 'chroot', ctr, 'update-ca-certificates']);
  publicImage = `localhost/org-ca-test-public:${RUN_ID}`;
  await mustBuildah(['commit', '--rm', ctr, publicImage]);
  images.push(publicImage);
  helperDir = await prepareBuildContext(l.scratch('runner-temp'));
  ({ npmIntegrity } = writePackageSource(l));
}, 30 * 60000);

afterAll(async () => {
  for (const image of images) await buildah(['rmi', '-f', image]);
}, 5 * 60000);

describe('fetches in a build stage through real inspection proxies, via with-org-ca', () => {
  const cases: Array<['mitmproxy' | 'squid', (l: Lab) => Proxy, (l: Lab) => string]> = [
    ['mitmproxy', (l) => l.mitmproxy!, (l) => l.pki.paths.orgCa],
    ['squid', (l) => l.squid!, (l) => l.pki.paths.orgRoot],
  ];
  test.each(cases)(
    '%s: every client fails without the secret and passes with it',
    async (name, proxyOf, caOf) => {
      const l = lab();
      const context = l.scratch(`fetch-${name}`);
      writeFileSync(join(context, 'Dockerfile'), FETCH_DOCKERFILE);
      writeFileSync(join(context, 'fetch.sh'), FETCH_SCRIPT);
      const proxy = proxyOf(l);
      const args = (mark: string): Record<string, string> => ({ BASE: publicImage, UPSTREAM: upstream, MARK: mark });

      const without = await bud({
        file: join(context, 'Dockerfile'),
        context,
        proxy,
        args: args(`${name}-without`),
        tag: `localhost/fetch-${name}-without:${RUN_ID}`,
      });
      expect(without.code).not.toBe(0);
      const failed = clientLines(without.output);
      expect(Object.keys(failed).sort()).toEqual(['apt', 'curl', 'pip', 'python']);
      for (const [client, result] of Object.entries(failed))
        expect(`${client}: ${result}`).toMatch(new RegExp(`^${client}: fail`));
      expect(failed.curl).toMatch(/certificate|SSL/i);
      expect(failed.python).toMatch(/CERTIFICATE_VERIFY_FAILED/);
      expect(without.output).not.toContain('with-org-ca: the org CA');
      // A direct connection would have passed (the image trusts the upstream's root), so these failures are the proxy's.

      const withSecret = await bud({
        file: join(context, 'Dockerfile'),
        context,
        proxy,
        secret: caOf(l),
        args: args(`${name}-with`),
        tag: `localhost/fetch-${name}-with:${RUN_ID}`,
      });
      expect(clientLines(withSecret.output)).toEqual({ curl: 'ok', python: 'ok', apt: 'ok', pip: 'ok' });
      expect(withSecret.code).toBe(0);
      expect(withSecret.output).toContain('with-org-ca: the org CA (1 certificate(s)) is trusted for: sh');
      // the requests really went through the proxy, which re-signed them
      expect(proxy.saw(`client=curl-${name}-with`)).toBe(true);
      expect(proxy.saw(`client=python-${name}-with`)).toBe(true);
      expect(proxy.saw('pkgs.git/apt/')).toBe(true);
      expect(proxy.saw('pkgs.git/wheels/six-1.16.0')).toBe(true);
      await expectLintAgreesWithLeakCheck(
        l,
        join(context, 'Dockerfile'),
        context,
        `localhost/fetch-${name}-with:${RUN_ID}`,
      );
    },
    20 * 60000,
  );
});

describe('in another CI system: org-ca build-context, as docs/other-ci.md shows for GitLab and Jenkins', () => {
  test(
    'eval "buildah bud $(org-ca build-context --dir DIR --ca FILE --flags docker) …" behind mitmproxy: every client passes',
    async () => {
      const l = lab();
      const context = l.scratch('build-context-cli');
      writeFileSync(join(context, 'Dockerfile'), FETCH_DOCKERFILE);
      writeFileSync(join(context, 'fetch.sh'), FETCH_SCRIPT);
      const proxy = l.mitmproxy!;
      const entry = await cliEntry();
      const tag = `localhost/fetch-build-context-cli:${RUN_ID}`;
      // The job's shell: the proxy in its environment (org-ca passes it on as a predefined build arg), the CA a file.
      const script = [
        'set -eu',
        `flags=$("$NODE" "$ORG_CA" build-context --dir "$DIR" --ca "$CA_FILE" --flags docker)`,
        `eval "buildah $BUILDAH_GLOBAL bud --isolation chroot --network host --pull=never --layers=false $flags --build-arg BASE=$BASE --build-arg UPSTREAM=$UPSTREAM --build-arg MARK=build-context-cli -f $CONTEXT/Dockerfile -t $TAG $CONTEXT"`,
      ].join('\n');
      const result = spawnSync('sh', ['-c', script], {
        encoding: 'utf8',
        timeout: 20 * 60000,
        env: {
          ...l.jobEnv({ HTTPS_PROXY: proxy.url, https_proxy: proxy.url }),
          NODE: process.execPath,
          ORG_CA: entry,
          DIR: l.scratch('build-context-cli-out'),
          CA_FILE: l.pki.paths.orgCa,
          BUILDAH_GLOBAL: BUILDAH_GLOBAL.join(' '),
          BASE: publicImage,
          UPSTREAM: upstream,
          CONTEXT: context,
          TAG: tag,
        },
      });
      images.push(tag);
      const output = `${result.stdout}${result.stderr}`;
      expect(clientLines(output)).toEqual({ curl: 'ok', python: 'ok', apt: 'ok', pip: 'ok' });
      expect(result.status).toBe(0);
      expect(proxy.saw('client=curl-build-context-cli')).toBe(true);
      expect(output).not.toContain(l.pki.orgCa.certPem.split('\n')[1]!);
    },
    20 * 60000,
  );
});

describe('Dockerfile.example', () => {
  test(
    'behind mitmproxy with the secret: builds, and the release image (OCI archive) holds the org CA nowhere',
    async () => {
      const l = lab();
      const context = exampleContext(l, npmIntegrity);
      const tag = `localhost/example-release-proxied:${RUN_ID}`;
      const result = await bud({
        file: join(REPO, 'Dockerfile.example'),
        context,
        proxy: l.mitmproxy!,
        secret: l.pki.paths.orgCa,
        args: { NODE_IMAGE: publicImage, PYTHON_IMAGE: publicImage },
        tag,
      });
      if (result.code !== 0) log(result.output.slice(-4000));
      expect(result.code).toBe(0);
      expect(result.output).toContain('with-org-ca: the org CA (1 certificate(s)) is trusted for: npm');
      expect(result.output).toContain('with-org-ca: the org CA (1 certificate(s)) is trusted for: /venv/bin/pip');
      expect(l.mitmproxy!.saw('pkgs.git/npm/ms/-/ms-2.1.3.tgz')).toBe(true);
      expect(l.mitmproxy!.saw('pkgs.git/wheels/six-1.16.0')).toBe(true);

      const archive = join(work, 'release.oci.tar');
      await mustBuildah(['push', tag, `oci-archive:${archive}`]);
      const blobs = ociBlobs(archive);
      expect(blobs.length).toBeGreaterThanOrEqual(3);
      expect(findCertificate(blobs, [l.pki.orgCa, l.pki.orgRoot, l.pki.orgIntermediate])).toEqual([]);
      // The scan is not vacuous: the lab's public root, which the base image trusts, is found in a layer.
      expect(findCertificate(blobs, [l.pki.publicRoot]).length).toBeGreaterThan(0);
      // The image works: its config runs node server.js with the artifacts of both build stages.
      const config = imageConfig(blobs);
      expect(config).toContain('server.js');
      expect(config).not.toMatch(/NODE_EXTRA_CA_CERTS|SSL_CERT_FILE|REQUESTS_CA_BUNDLE|org_ca|BEGIN CERTIFICATE/);
      const ctr = (await mustBuildah(['from', '--pull=never', tag])).trim().split('\n').pop()!;
      try {
        const info = await mustBuildah([
          'run',
          '--isolation',
          'chroot',
          '--user',
          '0:0',
          ctr,
          'cat',
          '/app/build-info.json',
        ]);
        expect(info).toContain('"helper_lib": "six 1.16.0-lab"');
      } finally {
        await buildah(['rm', ctr]);
      }
      await expectLintAgreesWithLeakCheck(l, join(REPO, 'Dockerfile.example'), context, tag);
    },
    20 * 60000,
  );

  test(
    'with no proxy and no secret (a GitHub-hosted runner): the same file builds unchanged',
    async () => {
      const l = lab();
      const context = exampleContext(l, npmIntegrity);
      const tag = `localhost/example-release-direct:${RUN_ID}`;
      const result = await bud({
        file: join(REPO, 'Dockerfile.example'),
        context,
        args: { NODE_IMAGE: publicImage, PYTHON_IMAGE: publicImage },
        tag,
      });
      if (result.code !== 0) log(result.output.slice(-4000));
      expect(result.code).toBe(0);
      expect(result.output).not.toContain('with-org-ca: the org CA');
      await expectLintAgreesWithLeakCheck(l, join(REPO, 'Dockerfile.example'), context, tag);
    },
    20 * 60000,
  );

  test('the CA scan finds a CA that was copied into an image layer (positive control)', () => {
    const l = lab();
    const dir = l.scratch('leaky');
    mkdirSync(join(dir, 'etc'));
    writeFileSync(join(dir, 'etc', 'org-ca.crt'), l.pki.orgCa.certPem);
    const layer = join(work, 'leaky-layer.tar.gz');
    execFileSync('tar', ['-czf', layer, '-C', dir, 'etc']);
    const blobs = [{ name: 'leaky', data: gunzipSync(readFileSync(layer)) }];
    expect(findCertificate(blobs, [l.pki.orgCa])).toHaveLength(1);
  });
});
