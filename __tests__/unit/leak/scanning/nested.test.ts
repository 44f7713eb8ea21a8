/**
 * The nested scan over real archives made by the real tools (see support/archives.ts): every container class is
 * opened and the CA found under its whole path; what cannot be opened is listed as "not looked inside" with the
 * reason; bounds hold; member names never become paths on disk.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import { writeJks } from '../../../../src/ca/keystore.js';
import { buildMatcher } from '../../../../src/leak/scanning/matcher.js';
import { scanDirectory } from '../../../../src/leak/scanning/rootfs.js';
import { DEFAULT_LIMITS, type LayerResult, type ScanLimits } from '../../../../src/leak/types.js';
import { compressed, cpioOf, debOf, has, jarOf, rpmOf, tarOf, zipOf } from '../../../support/archives.js';
import { mintRoot } from '../../../support/pki.js';

const org = mintRoot({ cn: 'Org Inspection Root', org: 'Org' });
const publicCa = mintRoot({ cn: 'Some Public Root' });
const matcher = buildMatcher({ certs: [org], fingerprints: [] });
const bundle = `${publicCa.certPem}${org.certPem}`;
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-nested-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

let seq = 0;
/** A fresh rootfs directory holding what `make` puts there; scanned whole. */
async function scan(make: (dir: string) => void, limits: Partial<ScanLimits> = {}): Promise<LayerResult> {
  const dir = join(work, `rootfs${seq++}`);
  mkdirSync(dir, { recursive: true });
  make(dir);
  return scanDirectory('t', dir, matcher, { ...DEFAULT_LIMITS, ...limits });
}

const found = (r: LayerResult): string[] => r.hits.map((h) => `${h.kind} ${h.path}`).sort();
const unopened = (r: LayerResult): string[] => r.notLookedInside.map((n) => n.path);

describe('every container class: the CA is found under its whole nested path', () => {
  test.each<[string, (dir: string) => void, string[]]>([
    [
      'deflated jar with a PEM resource (jar tool: data descriptors)',
      (d) => jarOf(join(d, 'app.jar'), { 'certs/org.pem': org.certPem, 'a/B.class': 'x'.repeat(5000) }),
      ['pem app.jar!/certs/org.pem'],
    ],
    [
      'jar with a truststore.jks',
      (d) => jarOf(join(d, 'app.jar'), { 'truststore.jks': writeJks([{ alias: 'org', der: org.der }]) }),
      ['jks app.jar!/truststore.jks'],
    ],
    [
      'jar with a PKCS#12 truststore (no password)',
      (d) => jarOf(join(d, 'app.jar'), { 'BOOT-INF/classes/trust.p12': readFileSync(p12File()) }),
      ['pkcs12 app.jar!/BOOT-INF/classes/trust.p12'],
    ],
    [
      'Spring Boot jar: a stored jar in BOOT-INF/lib holding the CA',
      (d) => {
        const inner = jarOf(join(work, `inner${seq}.jar`), { 'ca/org.pem': org.certPem });
        zipOf(
          join(d, 'app.jar'),
          { 'BOOT-INF/lib/inner.jar': readFileSync(inner), 'BOOT-INF/classes/app.properties': 'a=b' },
          { store: true },
        );
      },
      ['pem app.jar!/BOOT-INF/lib/inner.jar!/ca/org.pem'],
    ],
    [
      'wheel vendoring a CA bundle',
      (d) =>
        zipOf(join(d, 'vendored-1.0-py3-none-any.whl'), { 'vendored/cacert.pem': bundle, 'vendored/__init__.py': '' }),
      ['pem vendored-1.0-py3-none-any.whl!/vendored/cacert.pem'],
    ],
    [
      'ZIP64 zip',
      (d) => zipOf(join(d, 'big.zip'), { 'x/org.pem': org.certPem }, { zip64: true }),
      ['pem big.zip!/x/org.pem'],
    ],
    [
      '.tar.gz artefact',
      (d) => tarOf(join(d, 'dist.tar.gz'), { 'etc/ssl/org.pem': org.certPem }, 'gzip'),
      ['pem dist.tar.gz!/etc/ssl/org.pem'],
    ],
    [
      '.tgz artefact',
      (d) => tarOf(join(d, 'dist.tgz'), { 'etc/ssl/org.pem': org.certPem }, 'gzip'),
      ['pem dist.tgz!/etc/ssl/org.pem'],
    ],
    [
      '.tar.bz2',
      (d) => tarOf(join(d, 'dist.tar.bz2'), { 'org.pem': org.certPem }, 'bzip2'),
      ['pem dist.tar.bz2!/org.pem'],
    ],
    ['.tar.xz', (d) => tarOf(join(d, 'dist.tar.xz'), { 'org.pem': org.certPem }, 'xz'), ['pem dist.tar.xz!/org.pem']],
    [
      '.tar.zst',
      (d) => tarOf(join(d, 'dist.tar.zst'), { 'org.pem': org.certPem }, 'zstd'),
      ['pem dist.tar.zst!/org.pem'],
    ],
    ['plain tar', (d) => tarOf(join(d, 'dist.tar'), { 'etc/org.der': org.der }), ['der dist.tar!/etc/org.der']],
    ['.gz single file', (d) => compressed(join(d, 'org.pem.gz'), org.certPem, 'gzip'), ['pem org.pem.gz!/org.pem']],
    ['.bz2 single file', (d) => compressed(join(d, 'org.pem.bz2'), org.certPem, 'bzip2'), ['pem org.pem.bz2!/org.pem']],
    ['.xz single file', (d) => compressed(join(d, 'org.pem.xz'), org.certPem, 'xz'), ['pem org.pem.xz!/org.pem']],
    ['.zst single file', (d) => compressed(join(d, 'org.pem.zst'), org.certPem, 'zstd'), ['pem org.pem.zst!/org.pem']],
    [
      'a DER certificate gzipped',
      (d) => compressed(join(d, 'org.crt.gz'), org.der, 'gzip'),
      ['der org.crt.gz!/org.crt'],
    ],
    [
      'a local .deb (data.tar.xz)',
      (d) => debOf(join(d, 'org-ca.deb'), 'org-ca', { 'usr/share/org/ca.pem': org.certPem }),
      ['pem org-ca.deb!/data.tar.xz!/usr/share/org/ca.pem'],
    ],
    [
      'a .deb with data.tar.zst',
      (d) => debOf(join(d, 'org-ca.deb'), 'org-ca', { 'usr/share/org/ca.pem': org.certPem }, 'zstd'),
      ['pem org-ca.deb!/data.tar.zst!/usr/share/org/ca.pem'],
    ],
    [
      'ar with GNU long member names (a static library)',
      (d) => {
        const src = join(work, `ar${seq}`);
        mkdirSync(src, { recursive: true });
        writeFileSync(join(src, 'short.o'), 'x');
        writeFileSync(join(src, 'a-very-long-member-name-over-sixteen.pem'), org.certPem);
        execFileSync('ar', ['rc', join(d, 'libx.a'), 'short.o', 'a-very-long-member-name-over-sixteen.pem'], {
          cwd: src,
        });
      },
      ['pem libx.a!/a-very-long-member-name-over-sixteen.pem'],
    ],
    [
      'cpio (new ASCII)',
      (d) => cpioOf(join(d, 'initrd.cpio'), { 'etc/org.pem': org.certPem }),
      ['pem initrd.cpio!/etc/org.pem'],
    ],
    [
      'cpio (old portable)',
      (d) => cpioOf(join(d, 'old.cpio'), { 'etc/org.pem': org.certPem }, 'odc'),
      ['pem old.cpio!/etc/org.pem'],
    ],
    [
      'jar inside a tar.gz inside a .deb',
      (d) => {
        const jar = jarOf(join(work, `deep${seq}.jar`), { 'trust/org.pem': org.certPem });
        debOf(join(d, 'app.deb'), 'app', { 'usr/share/java/app.jar': readFileSync(jar) }, 'gzip');
      },
      ['pem app.deb!/data.tar.gz!/usr/share/java/app.jar!/trust/org.pem'],
    ],
    [
      'xz inside xz (two xz decoders at once)',
      (d) => {
        const inner = compressed(join(work, `inner${seq}.pem.xz`), org.certPem, 'xz');
        tarOf(join(d, 'outer.tar.xz'), { 'inner.pem.xz': readFileSync(inner) }, 'xz');
      },
      ['pem outer.tar.xz!/inner.pem.xz!/inner.pem'],
    ],
  ])('%s', async (_name, make, expected) => {
    const r = await scan(make);
    expect(found(r)).toEqual(expected);
    expect(r.notLookedInside).toEqual([]);
    expect(r.error).toBeUndefined();
  });

  // w6.xzdio: rpm's xz payloads carry SHA-256 checks, which the WebAssembly decoder only reads once they are dropped.
  (has('rpmbuild') ? test.each : test.skip.each)([['w6.xzdio'], ['w19.zstdio'], ['w9.gzdio'], ['w9.bzdio']])(
    'an rpm built by rpmbuild, payload %s',
    async (payload) => {
      const r = await scan((d) => rpmOf(d, 'orgca', { 'etc/pki/org.pem': org.certPem }, payload));
      expect(found(r)).toEqual(['pem orgca.rpm!/etc/pki/org.pem']);
      expect(r.notLookedInside).toEqual([]);
    },
  );
});

function p12File(): string {
  const out = join(work, `t${seq}.p12`);
  const pem = join(work, `t${seq}.pem`);
  writeFileSync(pem, org.certPem);
  execFileSync('openssl', [
    'pkcs12',
    '-export',
    '-nokeys',
    '-in',
    pem,
    '-out',
    out,
    '-passout',
    'pass:',
    '-certpbe',
    'NONE',
    '-nomac',
  ]);
  return out;
}

describe('what cannot be opened is listed, with its path and why', () => {
  test('an encrypted zip entry', async () => {
    const r = await scan((d) => zipOf(join(d, 'secret.zip'), { 'org.pem': org.certPem }, { password: 'pw' }));
    expect(r.notLookedInside).toEqual([{ path: 'secret.zip!/org.pem', reason: 'encrypted zip entry' }]);
  });

  test('a truncated jar', async () => {
    const r = await scan((d) => {
      const jar = readFileSync(
        jarOf(join(work, `t${seq}.jar`), { 'org.pem': org.certPem, 'x.txt': 'y'.repeat(10000) }),
      );
      writeFileSync(join(d, 'cut.jar'), jar.subarray(0, jar.length - 40));
    });
    expect(unopened(r)).toEqual(['cut.jar']);
    expect(r.notLookedInside[0]!.reason).toMatch(/^zip archive could not be opened: /);
  });

  test('a corrupt gzip file', async () => {
    const r = await scan((d) => {
      const gz = zlib.gzipSync(Buffer.from(org.certPem.repeat(20)));
      gz.fill(0x55, 20, 60);
      writeFileSync(join(d, 'broken.pem.gz'), gz);
    });
    expect(unopened(r)).toEqual(['broken.pem.gz']);
    expect(r.notLookedInside[0]!.reason).toMatch(/^gzip-compressed file could not be opened: /);
  });

  test('a corrupt gzip file whose stored block holds the PEM in the clear: its own bytes are still searched', async () => {
    const r = await scan((d) => {
      // Level 0 writes stored deflate blocks: the PEM is readable in the raw bytes. A wrong CRC makes decoding fail.
      const gz = zlib.gzipSync(Buffer.from(org.certPem), { level: 0 });
      gz.writeUInt32LE((gz.readUInt32LE(gz.length - 8) ^ 1) >>> 0, gz.length - 8);
      writeFileSync(join(d, 'stored.pem.gz'), gz);
    });
    expect(unopened(r)).toEqual(['stored.pem.gz']);
    expect(found(r)).toEqual(['pem stored.pem.gz']);
  });

  test('a gzip file that decodes: a match is named by the decoded file only, once', async () => {
    const r = await scan((d) =>
      writeFileSync(join(d, 'stored.pem.gz'), zlib.gzipSync(Buffer.from(org.certPem), { level: 0 })),
    );
    expect(r.notLookedInside).toEqual([]);
    expect(found(r)).toEqual(['pem stored.pem.gz!/stored.pem']);
  });

  test('a truncated .tar.xz', async () => {
    const r = await scan((d) => {
      const x = readFileSync(tarOf(join(work, `t${seq}.tar.xz`), { 'a.txt': 'z'.repeat(200000) }, 'xz'));
      writeFileSync(join(d, 'cut.tar.xz'), x.subarray(0, x.length - 30));
    });
    expect(unopened(r)).toEqual(['cut.tar.xz']);
  });

  test('nesting deeper than max-depth', async () => {
    const r = await scan(
      (d) => {
        const inner = jarOf(join(work, `i${seq}.jar`), { 'org.pem': org.certPem });
        zipOf(join(d, 'outer.zip'), { 'lib/inner.jar': readFileSync(inner) });
      },
      { maxDepth: 1 },
    );
    expect(r.notLookedInside).toEqual([
      { path: 'outer.zip!/lib/inner.jar', reason: 'zip nested deeper than 1 archives (--max-depth)' },
    ]);
    expect(found(r)).toEqual([]);
  });

  test('over the expansion budget for one layer', async () => {
    const r = await scan(
      (d) =>
        tarOf(join(d, 'big.tar.gz'), { 'zeros.bin': Buffer.alloc(4 * 1024 * 1024), 'org.pem': org.certPem }, 'gzip'),
      { maxNestedLayerBytes: 1024 * 1024 },
    );
    expect(unopened(r)).toEqual(['big.tar.gz']);
    expect(r.notLookedInside[0]!.reason).toMatch(
      /expansion budget for the files inside one layer \(--max-nested-layer-bytes\)/,
    );
  });

  test('a file named like a jar that is not a zip', async () => {
    const r = await scan((d) =>
      writeFileSync(join(d, 'fake.jar'), 'this is not a zip file at all, just some text that is long enough'),
    );
    expect(unopened(r)).toEqual(['fake.jar']);
  });
});

// A real Debian package whose data.tar.xz holds .xz test files: two xz decoders at once, on real data.
const joblib = readdirSync('/var/cache/apt/archives').find((n) => /^python3-joblib_.*\.deb$/.test(n));
(joblib ? test : test.skip)(
  `a real .deb with xz files inside its data.tar.xz (${joblib ?? 'python3-joblib not in the apt cache'})`,
  async () => {
    const r = await scan((d) =>
      writeFileSync(join(d, joblib!), readFileSync(join('/var/cache/apt/archives', joblib!))),
    );
    // Its legacy .lzma pickles (LZMA-alone, which no decoder here reads) are the only files listed: not passed clean.
    expect(r.notLookedInside.length).toBeGreaterThan(0);
    expect(
      r.notLookedInside.filter((n) => !/\.lzma$/.test(n.path) || n.reason !== 'lzma file: not opened by org-ca'),
    ).toEqual([]);
    expect(r.hits).toEqual([]);
    expect(r.nestedFiles).toBeGreaterThan(100);
  },
);

describe('bounds and safety', () => {
  test('a 100 MB zero-filled file, gzipped, is not a bomb', async () => {
    const r = await scan((d) =>
      writeFileSync(join(d, 'disk.img.gz'), zlib.gzipSync(Buffer.alloc(100 * 1024 * 1024), { level: 1 })),
    );
    expect(r.notLookedInside).toEqual([]);
    expect(r.hits).toEqual([]);
    expect(r.nestedFiles).toBe(1);
  });

  test('zstd: a CA in a later frame, after skippable frames, is found', async () => {
    const skippable = (n: number): Buffer => {
      const b = Buffer.alloc(8 + n, 0x41);
      b.writeUInt32LE(0x184d2a5e, 0);
      b.writeUInt32LE(n, 4);
      return b;
    };
    const frames = Buffer.concat([
      zlib.zstdCompressSync(Buffer.from('first frame\n'.repeat(1000))),
      skippable(64),
      zlib.zstdCompressSync(Buffer.from(org.certPem)),
      skippable(3),
    ]);
    const r = await scan((d) => writeFileSync(join(d, 'multi.pem.zst'), frames));
    expect(found(r)).toEqual(['pem multi.pem.zst!/multi.pem']);
  });

  /** Runs `fn` with TMPDIR at a fresh directory, and returns what is left in it afterwards. */
  async function leftInTemp(fn: () => Promise<void>): Promise<string[]> {
    const tmp = mkdtempSync(join(tmpdir(), 'org-ca-nested-tmp-'));
    const before = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
    try {
      await fn();
      return readdirSync(tmp);
    } finally {
      if (before === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = before;
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  test('member names are data: a zip entry named ../../escape is never written anywhere', async () => {
    const left = await leftInTemp(async () => {
      const tag = `${process.pid}-${Date.now()}`;
      const r = await scan((d) => {
        // Python's zipfile writes names as given; Info-ZIP would strip the ../ and the leading /.
        execFileSync('python3', [
          '-c',
          `import zipfile,sys\nz=zipfile.ZipFile(sys.argv[1],'w',zipfile.ZIP_DEFLATED)\nz.writestr('../../escape-${tag}.pem', sys.argv[2])\nz.writestr('/abs-${tag}.pem', sys.argv[2])\nz.close()`,
          join(d, 'evil.zip'),
          org.certPem,
        ]);
      });
      expect(found(r)).toEqual([`pem evil.zip!//abs-${tag}.pem`, `pem evil.zip!/../../escape-${tag}.pem`].sort());
      expect(existsSync(join(work, `escape-${tag}.pem`))).toBe(false);
      expect(existsSync(`/abs-${tag}.pem`)).toBe(false);
    });
    expect(left).toEqual([]);
  });

  test('a big nested archive is spilled to a temporary file, and the file is removed', async () => {
    const left = await leftInTemp(async () => {
      const r = await scan((d) =>
        jarOf(
          join(d, 'big.jar'),
          { 'noise.bin': randomBytes(6 * 1024 * 1024), 'org.pem': org.certPem },
          { store: true },
        ),
      );
      expect(found(r)).toEqual(['pem big.jar!/org.pem']);
    });
    expect(left).toEqual([]);
  });
});
