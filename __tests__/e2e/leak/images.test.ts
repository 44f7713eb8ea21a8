/**
 * End to end: real images built with buildah, exported in every supported format, checked by the bundled CLI
 * (with its worker_threads). Each case asserts what is found, where, and that a clean image passes.
 */
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { writeJks } from '../../../src/ca/keystore.js';
import { sha256Hex } from '../../../src/ca/certificate.js';
import type { Report } from '../../../src/leak/types.js';
import { mintRoot } from '../../support/pki.js';
import { Blobs } from './layout.js';
import {
  build,
  dockerSave25,
  push,
  runCli,
  type Run,
  checkImage,
  setUpLeakSuite,
  tearDownLeakSuite,
} from './support.js';

const org = mintRoot({ cn: 'Org Inspection Root', org: 'Org' });
const orgFp = sha256Hex(org.der);
let work: string;
let cli: string;
let caFile: string;

function check(image: string, extra: string[] = ['--ca', caFile]): { run: Run; report: Report } {
  return checkImage(cli, image, extra);
}

const kinds = (r: Report): string[] => r.findings.map((f) => `${f.kind}@${f.path}:${f.visibility}`).sort();

beforeAll(async () => ({ work, caFile, cli } = await setUpLeakSuite('org-ca-leak-e2e-', org.certPem)), 600_000);

afterAll(() => tearDownLeakSuite(work));

describe('clean multi-stage build: CA only through a secret mount, full public bundle in the image', () => {
  let image: string;
  beforeAll(() => {
    image = build('leak-e2e-clean', {
      containerfile: [
        'FROM BASE AS builder',
        'RUN --mount=type=secret,id=org_ca grep -c BEGIN /run/secrets/org_ca > /built.txt',
        'FROM BASE AS release',
        'COPY --from=builder /built.txt /app/built.txt',
        'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt',
      ].join('\n'),
      secrets: { org_ca: caFile },
      target: 'release',
    });
  }, 300_000);

  test.each([
    ['oci-archive', (d: string) => `oci-archive:${d}/clean.tar`, [] as string[]],
    ['oci dir, zstd', (d: string) => `oci:${d}/clean-oci`, ['--compression-format', 'zstd']],
    ['docker-archive', (d: string) => `docker-archive:${d}/clean-docker.tar`, []],
  ])('%s passes with exit 0', (_name, dest, extra) => {
    const target = dest(work);
    push(image, target, extra);
    const { run, report } = check(target);
    expect(report.unscanned).toEqual([]);
    expect(report.findings).toEqual([]);
    expect(run.status).toBe(0);
    // The image really holds the public bundle the check had to read past.
    expect(report.stats.files).toBeGreaterThan(2);
  });

  test('fingerprint-only mode passes too (parses all ~140 public certificates)', () => {
    const { run, report } = check(`oci-archive:${work}/clean.tar`, ['--fingerprint', orgFp]);
    expect(report.findings).toEqual([]);
    expect(run.status).toBe(0);
  });
});

describe('leaks', () => {
  const jks = writeJks([{ alias: 'org', der: org.der }]);
  const cases: [string, Parameters<typeof build>[1], string[]][] = [
    [
      'PEM copied in',
      { containerfile: 'FROM BASE\nCOPY org.pem /etc/org.pem', files: { 'org.pem': org.certPem } },
      ['pem@/etc/org.pem:final'],
    ],
    [
      'CA appended to the system bundle (through a secret mount)',
      {
        containerfile:
          'FROM BASE\nRUN --mount=type=secret,id=org_ca cat /run/secrets/org_ca >> /etc/ssl/certs/ca-certificates.crt',
        secrets: { org_ca: '' },
      },
      ['pem@/etc/ssl/certs/ca-certificates.crt:final'],
    ],
    [
      'added then deleted in a later layer',
      {
        containerfile:
          'FROM BASE\nCOPY org.pem /usr/local/share/ca-certificates/org.crt\nRUN rm /usr/local/share/ca-certificates/org.crt',
        files: { 'org.pem': org.certPem },
      },
      ['pem@/usr/local/share/ca-certificates/org.crt:lower-layer'],
    ],
    [
      'DER copy',
      { containerfile: 'FROM BASE\nCOPY org.der /opt/org.der', files: { 'org.der': org.der } },
      ['der@/opt/org.der:final'],
    ],
    [
      'ENV NODE_EXTRA_CA_CERTS at a file that is not in the image',
      { containerfile: 'FROM BASE\nENV NODE_EXTRA_CA_CERTS=/run/secrets/org_ca' },
      ['pointer-missing@config.Env[1]:config'],
    ],
    [
      'ENV NODE_EXTRA_CA_CERTS at the CA file',
      {
        containerfile: 'FROM BASE\nCOPY org.pem /etc/org.pem\nENV NODE_EXTRA_CA_CERTS=/etc/org.pem',
        files: { 'org.pem': org.certPem },
      },
      ['pem@/etc/org.pem:final', 'pointer-to-ca@config.Env[1]:config'],
    ],
    [
      'PEM passed as --build-arg and used in RUN (recorded in history)',
      {
        containerfile: 'FROM BASE\nARG ORG_CA\nRUN echo "$ORG_CA" | grep -c BEGIN > /count.txt',
        buildArgs: { ORG_CA: org.certPem },
      },
      ['pem@history[2].created_by:config'],
    ],
    [
      'JKS truststore',
      { containerfile: 'FROM BASE\nCOPY trust.jks /opt/trust.jks', files: { 'trust.jks': jks } },
      ['jks@/opt/trust.jks:final'],
    ],
    [
      '.npmrc cafile at the CA',
      {
        containerfile: 'FROM BASE\nCOPY org.pem /etc/org.pem\nCOPY npmrc /root/.npmrc',
        files: { 'org.pem': org.certPem, npmrc: 'cafile=/etc/org.pem\n' },
      },
      ['pem@/etc/org.pem:final', 'pointer-to-ca@/root/.npmrc:final'],
    ],
  ];

  test.each(cases)(
    '%s',
    (name, spec, expected) => {
      if (spec.secrets) spec = { ...spec, secrets: { org_ca: caFile } };
      const image = build(
        `leak-e2e-${name
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')
          .slice(0, 40)
          .replace(/-+$/, '')}`,
        spec,
      );
      const target = join(work, `${image}.tar`);
      push(image, `oci-archive:${target}`);
      const { run, report } = check(target);
      expect(report.unscanned).toEqual([]);
      expect(kinds(report)).toEqual(expected.sort());
      expect(run.status).toBe(1);
      for (const f of report.findings) {
        if (f.layer) {
          expect(f.layer.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
          expect(f.layer.instruction).toBeTruthy();
        }
        if (f.fingerprint) expect(f.fingerprint).toBe(orgFp);
      }
      // Never the CA body in any output.
      const body = org.certPem.split('\n')[3]!;
      expect(run.stdout + run.stderr).not.toContain(body);
    },
    300_000,
  );
});

describe('formats', () => {
  let image: string;
  beforeAll(() => {
    image = build('leak-e2e-formats', {
      containerfile:
        'FROM BASE\nCOPY org.pem /usr/local/share/ca-certificates/org.crt\nRUN rm /usr/local/share/ca-certificates/org.crt',
      files: { 'org.pem': org.certPem },
    });
    push(image, `oci:${work}/formats-oci`, ['--compression-format', 'zstd']);
  }, 300_000);

  const expectDeletedPem = (target: string, extra?: string[]): Report => {
    const { run, report } = check(target, extra);
    expect(report.unscanned).toEqual([]);
    expect(kinds(report)).toEqual(['pem@/usr/local/share/ca-certificates/org.crt:lower-layer']);
    expect(report.findings[0]!.layer!.instruction).toContain('COPY');
    expect(run.status).toBe(1);
    return report;
  };

  test('OCI layout directory with zstd layers', () => {
    const index = JSON.parse(readFileSync(join(work, 'formats-oci/index.json'), 'utf8'));
    const manifest = JSON.parse(
      readFileSync(join(work, 'formats-oci/blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'),
    );
    expect(manifest.layers.every((l: { mediaType: string }) => l.mediaType.endsWith('+zstd'))).toBe(true);
    expectDeletedPem(join(work, 'formats-oci'));
  });
  test('docker-archive (containers/image layout)', () => {
    push(image, `docker-archive:${work}/formats-docker.tar`);
    expectDeletedPem(`docker-archive:${work}/formats-docker.tar`);
  });
  test('hand-assembled Docker 25+ save layout (index.json + manifest.json, uncompressed blobs)', () => {
    dockerSave25(join(work, 'formats-oci'), join(work, 'formats-d25.tar'), 'example/app:1');
    const report = expectDeletedPem(join(work, 'formats-d25.tar'));
    expect(report.stats.images).toBe(1);
  });
  test('fingerprint only', () => {
    expectDeletedPem(join(work, 'formats-oci'), ['--fingerprint', orgFp.toUpperCase().replace(/(..)(?!$)/g, '$1:')]);
  });
  test('a root file system directory, said so with rootfs: (a bare directory that is not an image fails)', () => {
    const root = join(work, 'rootfs');
    mkdirSync(join(root, 'etc/ssl/certs'), { recursive: true });
    cpSync('/etc/ssl/certs/ca-certificates.crt', join(root, 'etc/ssl/certs/ca-certificates.crt'));
    expect(check(`rootfs:${root}`).run.status).toBe(0);
    const bare = runCli(cli, ['leak-check', root, '--ca', caFile]);
    expect(bare.status).toBe(2); // an input error, like every command's
    expect(bare.stderr).toContain(`write rootfs:${root}`);
    writeFileSync(join(root, 'etc/ssl/certs/org.pem'), org.certPem);
    const { run, report } = check(`rootfs:${root}`);
    expect(kinds(report)).toEqual(['pem@/etc/ssl/certs/org.pem:final']);
    expect(run.status).toBe(1);
  });
  test('SARIF and report files', () => {
    const sarif = join(work, 'out.sarif');
    const reportFile = join(work, 'out.json');
    const r = runCli(cli, [
      'leak-check',
      join(work, 'formats-oci'),
      '--ca',
      caFile,
      '--sarif',
      sarif,
      '--report',
      reportFile,
    ]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('LEAK pem');
    const s = JSON.parse(readFileSync(sarif, 'utf8'));
    expect(s.version).toBe('2.1.0');
    expect(s.runs[0].results).toHaveLength(1);
    expect(s.runs[0].results[0].ruleId).toBe('pem');
    expect(JSON.parse(readFileSync(reportFile, 'utf8')).findings).toHaveLength(1);
  });
});

describe('fail closed', () => {
  let clean: string;
  beforeAll(() => {
    clean = join(work, 'fc-oci');
    push(build('leak-e2e-fc', { containerfile: 'FROM BASE\nRUN echo hello > /hello.txt' }), `oci:${clean}`);
  }, 300_000);

  /** A copy of the clean layout with its biggest layer blob replaced. */
  const withLayer = (name: string, mutate: (blob: Buffer) => Buffer | undefined): string => {
    const dir = join(work, name);
    cpSync(clean, dir, { recursive: true });
    const blobs = join(dir, 'blobs/sha256');
    const biggest = readdirSync(blobs).sort(
      (a, b) => statSync(join(blobs, b)).size - statSync(join(blobs, a)).size,
    )[0]!;
    const out = mutate(readFileSync(join(blobs, biggest)));
    if (out === undefined) rmSync(join(blobs, biggest));
    else writeFileSync(join(blobs, biggest), out);
    return dir;
  };

  test.each([
    ['truncated layer', (b: Buffer) => b.subarray(0, Math.floor(b.length / 2)), /truncated|digest/],
    [
      'corrupt layer',
      (b: Buffer) => Buffer.concat([b.subarray(0, 2000), Buffer.alloc(64, 0x55), b.subarray(2064)]),
      /corrupt|checksum|digest|not a ustar/,
    ],
    ['unknown compression', () => Buffer.alloc(4096, 0x42), /unknown layer format/],
    ['missing blob', () => undefined, /missing/],
    [
      'PEM hidden after a 0x00 following the gzip member',
      (b: Buffer) => Buffer.concat([b, Buffer.from([0]), gzipSync(org.certPem)]),
      /after the end of the gzip stream/,
    ],
  ])(
    '%s: not scanned, exit 1, clear reason',
    (name, mutate, reason) => {
      const dir = withLayer(`fc-${name.replace(/\W+/g, '-')}`, mutate);
      const { run, report } = check(dir);
      expect(run.status).toBe(1);
      expect(report.unscanned.length).toBeGreaterThan(0);
      expect(report.unscanned.map((u) => u.reason).join('\n')).toMatch(reason);
    },
    120_000,
  );

  // The bomb guard bounds absolute work, not a ratio: a 200 MB zero-filled file (gzip ~1000:1) is legitimate content.
  test('a 200 MB zero-filled file is not a bomb; over --max-layer-bytes the layer fails closed with a clear reason', () => {
    const blobs = new Blobs();
    const img = blobs.image({ architecture: 'amd64', os: 'linux' }, [
      {
        files: { 'var/lib/disk.img': Buffer.alloc(200 * 1024 * 1024) },
        createdBy: 'RUN fallocate -l 200M /var/lib/disk.img',
      },
    ]);
    const dir = blobs.write(join(work, 'zeros-oci'), img.descriptor);
    const passes = check(dir);
    expect(passes.report.unscanned).toEqual([]);
    expect(passes.run.status).toBe(0);
    const over = check(dir, ['--ca', caFile, '--max-layer-bytes', '100M']);
    expect(over.run.status).toBe(1);
    expect(over.report.unscanned.map((u) => u.reason)).toEqual([
      expect.stringMatching(/over the 100 MiB bound for one uncompressed layer \(--max-layer-bytes\)/),
    ]);
  }, 120_000);

  test('no Docker daemon: a bare image reference fails with a one-line reason', () => {
    const r = runCli(cli, ['leak-check', 'example/app:1', '--ca', caFile], { PATH: '/nonexistent' });
    expect(r.status).toBe(2); // neither a path nor an image a daemon can give: the input cannot be read
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain("'example/app:1' is not a file or directory, and 'docker save' cannot run here");
  });

  test('a gzip-compressed archive is refused with the fix', () => {
    const gz = join(work, 'image.tar.gz');
    writeFileSync(gz, gzipSync(readFileSync(join(work, 'clean.tar'))));
    const r = runCli(cli, ['leak-check', gz, '--ca', caFile]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('decompress it first');
  });
});

test('truncating the archive itself fails closed', () => {
  const t = join(work, 'cut.tar');
  cpSync(join(work, 'clean.tar'), t);
  truncateSync(t, statSync(t).size - 5000);
  const r = runCli(cli, ['leak-check', t, '--ca', caFile]);
  expect(r.status).toBe(2); // no image can be read from it: an input error, never 0
  expect(r.stderr).toMatch(/truncated/);
});
