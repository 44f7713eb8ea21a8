/**
 * End to end, over images built for real with buildah: the CA hidden inside files that hold other files is found
 * with its whole nested path; clean images full of real jars, wheels, .deb files and a real JDK trust store raise
 * nothing; zstd:chunked images (a frame per file, skippable frames) are read; what cannot be opened is a warning,
 * or a failure with --strict, in every report form.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeJks } from '../../../src/ca/keystore.js';
import { sha256Hex } from '../../../src/ca/certificate.js';
import type { Report } from '../../../src/leak/types.js';
import { compressed, debOf, has, jarOf, rpmOf, tarOf, zipOf } from '../../support/archives.js';
import { mintRoot } from '../../support/pki.js';
import { build, checkImage, push, runCli, type Run, setUpLeakSuite, tearDownLeakSuite } from './support.js';

const org = mintRoot({ cn: 'Org Inspection Root', org: 'Org' });
const publicCa = mintRoot({ cn: 'Some Public Root' });
const orgFp = sha256Hex(org.der);
let work: string;
let cli: string;
let caFile: string;

const check = (image: string, extra: string[] = []): { run: Run; report: Report } =>
  checkImage(cli, image, ['--ca', caFile, ...extra]);
const kinds = (r: Report): string[] => r.findings.map((f) => `${f.kind}@${f.path}:${f.visibility}`).sort();

beforeAll(async () => ({ work, caFile, cli } = await setUpLeakSuite('org-ca-leak-nested-e2e-', org.certPem)), 600_000);

afterAll(() => tearDownLeakSuite(work));

const f = (name: string): string => join(work, name);

describe('the CA inside files that hold other files', () => {
  let report: Report;
  let run: Run;
  const expected = [
    'pem@/app/app.jar!/BOOT-INF/classes/org.pem:final',
    'jks@/app/trust.jar!/truststore.jks:final',
    'pem@/app/boot.jar!/BOOT-INF/lib/inner.jar!/ca/org.pem:final',
    'pem@/usr/lib/python3/vendored-1.0-py3-none-any.whl!/vendored/cacert.pem:final',
    'pem@/opt/dist.tar.gz!/etc/ssl/org.pem:final',
    'pem@/opt/dist.tgz!/org.pem:final',
    'pem@/opt/org.pem.gz!/org.pem:final',
    'pem@/opt/org.pem.bz2!/org.pem:final',
    'pem@/opt/org.pem.xz!/org.pem:final',
    'pem@/opt/org.pem.zst!/org.pem:final',
    'pem@/var/cache/apt/archives/org-ca.deb!/data.tar.xz!/usr/local/share/ca-certificates/org.crt:final',
    // Deleted by a later layer, still shipped in its own.
    'pem@/tmp/gone.jar!/org.pem:lower-layer',
  ];
  beforeAll(() => {
    const files: Record<string, Buffer> = {
      'app.jar': readFileSync(
        jarOf(f('app.jar'), {
          'BOOT-INF/classes/org.pem': org.certPem,
          'BOOT-INF/classes/App.class': 'x'.repeat(3000),
        }),
      ),
      'trust.jar': readFileSync(
        jarOf(f('trust.jar'), { 'truststore.jks': writeJks([{ alias: 'org', der: org.der }]) }),
      ),
      'boot.jar': readFileSync(
        zipOf(
          f('boot.jar'),
          { 'BOOT-INF/lib/inner.jar': readFileSync(jarOf(f('inner.jar'), { 'ca/org.pem': org.certPem })) },
          { store: true },
        ),
      ),
      'vendored-1.0-py3-none-any.whl': readFileSync(
        zipOf(f('v.whl'), { 'vendored/cacert.pem': `${publicCa.certPem}${org.certPem}`, 'vendored/__init__.py': '' }),
      ),
      'dist.tar.gz': readFileSync(tarOf(f('dist.tar.gz'), { 'etc/ssl/org.pem': org.certPem }, 'gzip')),
      'dist.tgz': readFileSync(tarOf(f('dist.tgz'), { 'org.pem': org.certPem }, 'gzip')),
      'org.pem.gz': readFileSync(compressed(f('org.pem.gz'), org.certPem, 'gzip')),
      'org.pem.bz2': readFileSync(compressed(f('org.pem.bz2'), org.certPem, 'bzip2')),
      'org.pem.xz': readFileSync(compressed(f('org.pem.xz'), org.certPem, 'xz')),
      'org.pem.zst': readFileSync(compressed(f('org.pem.zst'), org.certPem, 'zstd')),
      'org-ca.deb': readFileSync(
        debOf(f('org-ca.deb'), 'org-ca', { 'usr/local/share/ca-certificates/org.crt': org.certPem }),
      ),
      'gone.jar': readFileSync(jarOf(f('gone.jar'), { 'org.pem': org.certPem })),
    };
    const lines = [
      'FROM BASE',
      'COPY app.jar trust.jar boot.jar /app/',
      'COPY vendored-1.0-py3-none-any.whl /usr/lib/python3/',
      'COPY dist.tar.gz dist.tgz org.pem.gz org.pem.bz2 org.pem.xz org.pem.zst /opt/',
      'COPY org-ca.deb /var/cache/apt/archives/',
      'COPY gone.jar /tmp/gone.jar',
      'RUN rm /tmp/gone.jar',
    ];
    if (has('rpmbuild')) {
      files['orgca.rpm'] = readFileSync(
        rpmOf(work, 'orgca', { 'etc/pki/ca-trust/source/anchors/org.pem': org.certPem }, 'w19.zstdio'),
      );
      lines.push('COPY orgca.rpm /srv/');
      expected.push('pem@/srv/orgca.rpm!/etc/pki/ca-trust/source/anchors/org.pem:final');
    }
    const image = build('leak-e2e-nested', { containerfile: lines.join('\n'), files });
    push(image, `oci-archive:${f('nested.tar')}`);
    ({ run, report } = check(f('nested.tar')));
  }, 600_000);

  test('every class is found, with the whole nested path and the layer that made it', () => {
    expect(report.unscanned).toEqual([]);
    expect(report.notLookedInside).toEqual([]);
    expect(kinds(report)).toEqual([...expected].sort());
    expect(run.status).toBe(1);
    for (const finding of report.findings) {
      expect(finding.fingerprint).toBe(orgFp);
      expect(finding.layer?.instruction).toMatch(/COPY/);
    }
    expect(report.stats.nestedFiles).toBeGreaterThan(15);
  });

  test('the text report names the nested path, and never prints the CA body', () => {
    const text = runCli(cli, ['leak-check', f('nested.tar'), '--ca', caFile]);
    expect(text.status).toBe(1);
    expect(text.stdout).toContain('/app/boot.jar!/BOOT-INF/lib/inner.jar!/ca/org.pem');
    expect(text.stdout + text.stderr).not.toContain(org.certPem.split('\n')[3]!);
  });
});

describe('clean images of real archives raise nothing', () => {
  test('real jars, Debian python wheels, .deb files from the apt cache, a JDK cacerts, pushed as oci-archive and zstd:chunked', () => {
    // A tar of the real files, ADDed (buildah extracts it), so symlinks in /usr/share/java resolve to their jars.
    const debs = readdirSync('/var/cache/apt/archives')
      .filter((n) =>
        /^(libcommons-[a-z]+-java|libjs-jquery|python3-(six|idna|urllib3|certifi|requests))_.*\.deb$/.test(n),
      )
      .slice(0, 8)
      .map((n) => `var/cache/apt/archives/${n}`);
    const sources = ['usr/share/java', 'usr/share/python-wheels', 'etc/ssl/certs/java/cacerts', ...debs].filter((p) => {
      try {
        statSync(`/${p}`);
        return true;
      } catch {
        return false;
      }
    });
    expect(sources.length).toBeGreaterThan(2);
    const realTar = f('real.tar');
    execFileSync('tar', ['-C', '/', '-h', '-cf', realTar, ...sources]);
    const image = build('leak-e2e-nested-clean', {
      containerfile: 'FROM BASE\nADD real.tar /\nENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
      files: { 'real.tar': readFileSync(realTar) },
    });
    for (const [dest, extra] of [
      [`oci-archive:${f('clean.tar')}`, []],
      [`oci:${f('clean-chunked')}`, ['--compression-format', 'zstd:chunked']],
    ] as const) {
      push(image, dest, [...extra]);
      const { run, report } = check(dest);
      expect(report.unscanned).toEqual([]);
      expect(report.findings).toEqual([]);
      expect(report.notLookedInside).toEqual([]);
      expect(run.status).toBe(0);
      expect(report.stats.nestedFiles).toBeGreaterThan(1000);
    }
    // The chunked push really is chunked: zstd layers with the zstd:chunked annotations.
    const index = JSON.parse(readFileSync(join(f('clean-chunked'), 'index.json'), 'utf8'));
    const manifest = JSON.parse(
      readFileSync(join(f('clean-chunked'), 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'),
    );
    // containers/image annotates chunked layers with io.containers.zstd-chunked.manifest-checksum (older: io.github.…).
    const chunked = manifest.layers.filter((l: { annotations?: Record<string, string> }) =>
      Object.keys(l.annotations ?? {}).some((k) => k.endsWith('zstd-chunked.manifest-checksum')),
    );
    expect(chunked.length).toBeGreaterThan(0);
  }, 900_000);
});

describe('zstd:chunked', () => {
  test('a CA in a later frame of a chunked layer is found', () => {
    const image = build('leak-e2e-chunked', {
      containerfile: 'FROM BASE\nCOPY a.txt b.txt /data/\nCOPY org.pem /data/z/org.pem\nCOPY c.txt /data/',
      files: { 'a.txt': 'a'.repeat(100000), 'b.txt': 'b'.repeat(100000), 'org.pem': org.certPem, 'c.txt': 'c' },
    });
    const dest = f('chunked');
    push(image, `oci:${dest}`, ['--compression-format', 'zstd:chunked']);
    const { run, report } = check(dest);
    expect(report.unscanned).toEqual([]);
    expect(kinds(report)).toEqual(['pem@/data/z/org.pem:final']);
    expect(run.status).toBe(1);
  }, 300_000);
});

describe('what cannot be looked inside: a warning, a failure with --strict, in every report form', () => {
  let target: string;
  beforeAll(() => {
    const jar = readFileSync(jarOf(f('cut.jar'), { 'a.txt': 'y'.repeat(20000), 'org.pem': org.certPem }));
    const image = build('leak-e2e-unopened', {
      containerfile: 'FROM BASE\nCOPY secret.zip cut.jar /app/',
      files: {
        'secret.zip': readFileSync(zipOf(f('secret.zip'), { 'inner/org.pem': org.certPem }, { password: 'pw' })),
        'cut.jar': jar.subarray(0, jar.length - 50),
      },
    });
    target = f('unopened.tar');
    push(image, `oci-archive:${target}`);
  }, 300_000);

  test('default: warnings, exit 0, listed in text, JSON and SARIF', () => {
    const sarif = f('unopened.sarif');
    const json = f('unopened.json');
    const r = runCli(cli, ['leak-check', target, '--ca', caFile, '--sarif', sarif, '--report', json]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('WARNING: not looked inside');
    expect(r.stdout).toContain('/app/secret.zip!/inner/org.pem: encrypted zip entry');
    expect(r.stdout).toMatch(/\/app\/cut\.jar: zip archive could not be opened/);
    const report = JSON.parse(readFileSync(json, 'utf8')) as Report;
    expect(report.notLookedInside.map((n) => n.path).sort()).toEqual([
      '/app/cut.jar',
      '/app/secret.zip!/inner/org.pem',
    ]);
    expect(report.notLookedInside.every((n) => n.layer === 1)).toBe(true);
    const results = JSON.parse(readFileSync(sarif, 'utf8')).runs[0].results as { ruleId: string; level: string }[];
    expect(results.filter((x) => x.ruleId === 'not-looked-inside').map((x) => x.level)).toEqual(['warning', 'warning']);
  });

  test('--strict: the same parts fail the check', () => {
    const sarif = f('strict.sarif');
    const r = runCli(cli, ['leak-check', target, '--ca', caFile, '--strict', '--sarif', sarif]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(
      /^NOT LOOKED INSIDE .*layer 1 \/app\/secret\.zip!\/inner\/org\.pem: encrypted zip entry$/m,
    );
    expect(r.stdout).toContain('2 file(s) not looked inside.');
    const results = JSON.parse(readFileSync(sarif, 'utf8')).runs[0].results as { ruleId: string; level: string }[];
    expect(results.filter((x) => x.ruleId === 'not-looked-inside').map((x) => x.level)).toEqual(['error', 'error']);
  });

  test('--max-depth 0 lists every archive unopened; a bad bound value is a one-line usage error', () => {
    const { report } = check(target, ['--max-depth', '0']);
    expect(report.notLookedInside.map((n) => n.reason)).toEqual([
      'zip nested deeper than 0 archives (--max-depth)',
      'zip nested deeper than 0 archives (--max-depth)',
    ]);
    const bad = runCli(cli, ['leak-check', target, '--ca', caFile, '--max-nested-layer-bytes', 'lots']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain("--max-nested-layer-bytes 'lots' is not a size");
  });
});
