/**
 * Where real images hide the CA beyond plain files, each made by its real producer where one runs here: a zstd
 * skippable frame (the zstd CLI writes the frames, the skippable frame is laid out as RFC 8878 3.1.2 defines it),
 * git's loose objects (real git), brotli (Node's own encoder, the Google library), and keystores org-ca cannot open.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { mintRoot } from '../../../support/pki.js';
import { tarOf } from '../../../e2e/leak/layout.js';
import { buildMatcher } from '../../../../src/leak/scanning/matcher.js';
import { scanLayer } from '../../../../src/leak/scanning/layer.js';
import { openBlob } from '../../../../src/leak/sources/blob.js';
import { DEFAULT_LIMITS, type LayerResult } from '../../../../src/leak/types.js';

const org = mintRoot({ cn: 'Hiding Places Org Root', org: 'Org' });
const matcher = buildMatcher({ certs: [org], fingerprints: [] });
let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-hiding-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function scanBlob(name: string, bytes: Buffer): Promise<LayerResult> {
  const file = join(work, name);
  writeFileSync(file, bytes);
  return scanLayer(
    { id: name, blob: { file, start: 0, size: bytes.length }, where: name },
    matcher,
    DEFAULT_LIMITS,
    openBlob,
  );
}

function zstd(bytes: Buffer): Buffer {
  return execFileSync('zstd', ['-q', '-c', '-3'], { input: bytes, maxBuffer: 64 * 1024 * 1024 });
}

/** A skippable frame: magic 0x184D2A5? little-endian, the payload's size (u32 LE), the payload. */
function skippableFrame(payload: Buffer, nibble = 0): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32LE(0x184d2a50 + nibble, 0);
  head.writeUInt32LE(payload.length, 4);
  return Buffer.concat([head, payload]);
}

describe('zstd skippable frames: skipped by every decoder, shipped all the same', () => {
  test('a layer whose skippable frame holds the CA is a finding; the decoded files are still read', async () => {
    const frames = zstd(tarOf({ 'app/readme.txt': 'hello\n' }));
    const blob = Buffer.concat([skippableFrame(Buffer.from(`toc\n${org.certPem}`), 3), frames]);
    const r = await scanBlob('skippable.tar.zst', blob);
    expect(r.error).toBeUndefined();
    expect(r.compression).toBe('zstd');
    expect(r.hits).toEqual([]);
    expect(r.blobHits.map((h) => [h.kind, h.path])).toEqual([['pem', 'zstd skippable frame at byte 0']]);
    expect(r.files).toBe(1);
  });

  test('a skippable frame between frames, and one without the CA, are told apart', async () => {
    const blob = Buffer.concat([
      skippableFrame(Buffer.from('nothing here')),
      zstd(tarOf({ 'a.txt': 'a\n' })),
      skippableFrame(Buffer.from(org.certPem), 15),
    ]);
    const r = await scanBlob('between.tar.zst', blob);
    expect(r.error).toBeUndefined();
    expect(r.blobHits.map((h) => h.path)).toEqual([
      `zstd skippable frame at byte ${blob.length - 8 - org.certPem.length}`,
    ]);
  });

  test('a .zst file inside a layer is searched raw as well as decoded', async () => {
    const inner = Buffer.concat([skippableFrame(Buffer.from(org.certPem)), zstd(Buffer.from('plain text\n'))]);
    const r = await scanBlob('nested.tar.gz', gzipSync(tarOf({ 'srv/data.zst': inner })));
    expect(r.error).toBeUndefined();
    expect(r.hits.map((h) => [h.kind, h.path])).toEqual([['pem', 'srv/data.zst']]);
  });
});

/** A real git repository: the CA committed, then removed from the working tree (only .git ships). */
function gitRepoWithCa(): string {
  const repo = mkdtempSync(join(work, 'repo-'));
  const git = (...args: string[]): string =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-C', repo, ...args], {
      encoding: 'utf8',
    });
  git('init', '-q');
  writeFileSync(join(repo, 'org-ca.pem'), org.certPem);
  writeFileSync(join(repo, 'README'), 'hello\n');
  git('add', '.');
  git('commit', '-q', '-m', 'add the CA');
  git('rm', '-q', 'org-ca.pem');
  git('commit', '-q', '-m', 'remove it again');
  return repo;
}

/** The files under `dir` as a layer tar, each named `prefix` + its path. */
function tarOfDirectory(dir: string, prefix: string): Buffer {
  const list = execFileSync('find', [dir, '-type', 'f'], { encoding: 'utf8' }).trim().split('\n');
  return tarOf(Object.fromEntries(list.map((f) => [`${prefix}${f.slice(dir.length + 1)}`, readFileSync(f)])));
}

describe('git objects: zlib streams, loose and packed', () => {
  test('a loose object holding the CA (git keeps it after the file is deleted) is a finding', async () => {
    const repo = gitRepoWithCa();
    const blobId = execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD~1:org-ca.pem'], { encoding: 'utf8' }).trim();
    const r = await scanBlob('git-loose.tar', tarOfDirectory(join(repo, '.git'), 'app/.git/'));
    expect(r.error).toBeUndefined();
    const object = `app/.git/objects/${blobId.slice(0, 2)}/${blobId.slice(2)}`;
    expect(r.hits.map((h) => [h.kind, h.path])).toEqual([['pem', `${object}!/${blobId.slice(2)}.decompressed`]]);
  });

  test('bytes that only start like a zlib stream: searched as they are, and listed as not looked inside', async () => {
    const looksLikeZlib = Buffer.concat([Buffer.from([0x78, 0x9c]), Buffer.from(` not zlib at all\n${org.certPem}`)]);
    const r = await scanBlob('x.tar', tarOf({ 'notes/x.txt': looksLikeZlib }));
    expect(r.hits.map((h) => h.path)).toEqual(['notes/x.txt']);
    expect(r.notLookedInside.map((n) => [n.path, n.reason.split(':')[0]])).toEqual([
      ['notes/x.txt', 'zlib-compressed file could not be opened'],
    ]);
  });
});

describe('brotli: no magic bytes, known by its name', () => {
  test('a precompressed web asset (.br) holding the CA is a finding inside it', async () => {
    const { brotliCompressSync } = await import('node:zlib');
    const asset = brotliCompressSync(Buffer.from(`window.CA = ${JSON.stringify(org.certPem)};\n`));
    const r = await scanBlob('br.tar', tarOf({ 'srv/www/app.js.br': asset }));
    expect(r.error).toBeUndefined();
    expect(r.hits.map((h) => h.path)).toEqual(['srv/www/app.js.br!/app.js']);
  });

  test('a .br name on bytes that are not brotli: searched as they are, and listed as not looked inside', async () => {
    const r = await scanBlob('notbr.tar', tarOf({ 'srv/www/x.br': `plain ${org.certPem}` }));
    expect(r.hits.map((h) => h.path)).toEqual(['srv/www/x.br']);
    expect(r.notLookedInside.map((n) => n.path)).toEqual(['srv/www/x.br']);
  });
});

describe('git packfiles, object by object', () => {
  test('every version of a CA file in a pack is found, the one stored as a delta too', async () => {
    const repo = gitRepoWithCa();
    const git = (...args: string[]): string =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', '-C', repo, ...args], {
        encoding: 'utf8',
      });
    // A second version of the file, so that git stores one of the two as a delta of the other.
    writeFileSync(join(repo, 'org-ca.pem'), `# the org CA, second commit\n${org.certPem}`);
    git('add', 'org-ca.pem');
    git('commit', '-q', '-m', 'again');
    git('rm', '-q', 'org-ca.pem');
    git('commit', '-q', '-m', 'gone');
    git('gc', '-q', '--aggressive', '--prune=now');
    const versions = [git('rev-parse', 'HEAD~3:org-ca.pem').trim(), git('rev-parse', 'HEAD~1:org-ca.pem').trim()];
    const [pack] = execFileSync('find', [join(repo, '.git/objects/pack'), '-name', '*.pack'], { encoding: 'utf8' })
      .trim()
      .split('\n');
    // git's own account of the pack: one of the two versions is a delta (its line has a depth and a base).
    const verify = git('verify-pack', '-v', pack!.replace(/\.pack$/, '.idx'));
    const deltas = versions.filter((v) =>
      new RegExp(`^${v} blob +\\d+ \\d+ \\d+ \\d+ [0-9a-f]{40}$`, 'm').test(verify),
    );
    expect(deltas).toHaveLength(1);
    expect(execFileSync('find', [join(repo, '.git/objects'), '-path', '*/objects/??/*'], { encoding: 'utf8' })).toBe(
      '',
    );

    const r = await scanBlob('git-pack.tar', tarOfDirectory(join(repo, '.git'), 'app/.git/'));
    expect(r.error).toBeUndefined();
    expect(r.notLookedInside).toEqual([]);
    const packPath = `app/.git/${pack!.slice(join(repo, '.git').length + 1)}`;
    expect(r.hits.map((h) => h.path).sort()).toEqual(versions.map((v) => `${packPath}!/${v}`).sort());
  });

  test('a pack cut short is listed as not looked inside, never clean', async () => {
    const repo = gitRepoWithCa();
    execFileSync('git', ['-C', repo, 'gc', '-q', '--prune=now']);
    const [pack] = execFileSync('find', [join(repo, '.git/objects/pack'), '-name', '*.pack'], { encoding: 'utf8' })
      .trim()
      .split('\n');
    const bytes = readFileSync(pack!);
    const r = await scanBlob('cut.tar', tarOf({ 'repo.pack': bytes.subarray(0, Math.floor(bytes.length / 2)) }));
    expect(r.notLookedInside.map((n) => [n.path, n.reason.split(':')[0]])).toEqual([
      ['repo.pack', 'git-pack archive could not be opened'],
    ]);
  });
});

/** A Helm 3 release as its storage driver encodes it (pkg/storage/driver/util.go): JSON, gzip, standard base64. */
function helmRelease(values: Record<string, unknown>): string {
  const release = { name: 'web', namespace: 'prod', version: 3, config: values, manifest: 'apiVersion: v1\n' };
  return gzipSync(Buffer.from(JSON.stringify(release)), { level: 9 }).toString('base64');
}

describe('files packed into text as base64', () => {
  test('a Helm release in a ConfigMap (base64 of gzip of JSON) is opened and the CA in its values found', async () => {
    const configMap = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sh.helm.release.v1.web.v3\n  labels: {owner: helm}\ndata:\n  release: ${helmRelease({ caBundle: org.certPem })}\n`;
    const r = await scanBlob('helm-cm.tar', tarOf({ 'deploy/release.yaml': configMap }));
    expect(r.error).toBeUndefined();
    expect(r.hits).toHaveLength(1);
    expect(r.hits[0]!.path).toMatch(/^deploy\/release\.yaml!\/base64@\d+!\/base64@\d+\.decompressed$/);
  });

  test('in a Secret the release is base64 once more, and is opened through both', async () => {
    const secret = `apiVersion: v1\nkind: Secret\ntype: helm.sh/release.v1\ndata:\n  release: ${Buffer.from(helmRelease({ caBundle: org.certPem })).toString('base64')}\n`;
    const r = await scanBlob('helm-secret.tar', tarOf({ 'deploy/secret.yaml': secret }));
    expect(r.error).toBeUndefined();
    expect(r.hits.map((h) => h.path)).toEqual([
      expect.stringMatching(/^deploy\/secret\.yaml(!\/base64@\d+){2}!\/[^!]+$/),
    ]);
  });

  test('a release without the CA is clean, and nothing is listed as not looked inside', async () => {
    const configMap = `data:\n  release: ${helmRelease({ replicas: 2 })}\n`;
    const r = await scanBlob('helm-clean.tar', tarOf({ 'deploy/release.yaml': configMap }));
    expect(r.hits).toEqual([]);
    expect(r.notLookedInside).toEqual([]);
  });

  test('base64url of the DER (the URL alphabet, no padding) is found; base64 of base64 of the PEM too', async () => {
    const der = Buffer.from(org.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    expect(der.toString('base64')).toMatch(/[+/]/);
    const jwkish = JSON.stringify({ kty: 'RSA', x5c_url: der.toString('base64url') });
    const twice = Buffer.from(Buffer.from(org.certPem).toString('base64')).toString('base64');
    const r = await scanBlob('b64url.tar', tarOf({ 'etc/jwk.json': jwkish, 'etc/twice.txt': `value=${twice}\n` }));
    expect(r.error).toBeUndefined();
    expect(r.hits.map((h) => h.path).sort()).toEqual([
      expect.stringMatching(/^etc\/jwk\.json!\/base64@\d+$/),
      expect.stringMatching(/^etc\/twice\.txt!\/base64@6$/),
    ]);
  });

  test('plain base64 of the PEM stays one finding, read in place by the matcher', async () => {
    const r = await scanBlob('b64.tar', tarOf({ 'etc/ca.b64': Buffer.from(org.certPem).toString('base64') }));
    expect(r.hits.map((h) => [h.kind, h.path])).toEqual([['base64-pem', 'etc/ca.b64']]);
  });
});

/** A store written by keytool with Bouncy Castle's provider (Debian's libbcprov-java), holding the org CA. */
function bouncyCastleStore(type: 'BCFKS' | 'BKS' | 'UBER'): Buffer {
  const file = join(work, `store.${type.toLowerCase()}`);
  const ca = join(work, 'org-ca.pem');
  writeFileSync(ca, org.certPem);
  rmSync(file, { force: true });
  execFileSync('keytool', [
    '-importcert',
    '-noprompt',
    '-alias',
    'org',
    '-file',
    ca,
    '-keystore',
    file,
    '-storetype',
    type,
    '-storepass',
    'changeit',
    '-providerpath',
    '/usr/share/java/bcprov.jar',
    '-providerclass',
    'org.bouncycastle.jce.provider.BouncyCastleProvider',
  ]);
  return readFileSync(file);
}

describe('stores and archives org-ca does not open are listed, never passed as clean', () => {
  test.each([
    ['BCFKS', 'etc/pki/trust.bcfks'],
    ['UBER', 'opt/app/trust.uber'],
  ] as const)('an encrypted %s keystore from keytool is not looked inside, by name', async (type, path) => {
    const r = await scanBlob(`${type}.tar`, tarOf({ [path]: bouncyCastleStore(type) }));
    expect(r.hits).toEqual([]);
    expect(r.notLookedInside).toEqual([
      { path, reason: expect.stringContaining('keystore of a type org-ca does not read') },
    ]);
  });

  test('a BKS keystore keeps certificates in clear: the CA is found, and the store is listed too', async () => {
    const r = await scanBlob('bks.tar', tarOf({ 'opt/app/trust.bks': bouncyCastleStore('BKS') }));
    expect(r.hits.map((h) => [h.kind, h.path])).toEqual([['der', 'opt/app/trust.bks']]);
    expect(r.notLookedInside.map((n) => n.path)).toEqual(['opt/app/trust.bks']);
  });

  test('an LZ4 frame (the lz4 CLI) is listed as not opened', async () => {
    const lz4 = execFileSync('lz4', ['-q', '-c'], { input: Buffer.from(org.certPem) });
    const r = await scanBlob('lz4.tar', tarOf({ 'srv/ca.pem.lz4': lz4 }));
    expect(r.notLookedInside).toEqual([{ path: 'srv/ca.pem.lz4', reason: 'LZ4 frame: not opened by org-ca' }]);
  });
});

/** A varint of git's delta format: 7 bits a byte, low bits first. */
function deltaVarint(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

test('a hostile pack whose delta declares a gigabyte result stops at the bound, listed, with nothing allocated', async () => {
  const { deflateSync } = await import('node:zlib');
  const base = Buffer.from('base');
  // Object 1: a blob of 4 bytes. Object 2: an OFS_DELTA on it, its delta claiming a 1 GiB result.
  const delta = Buffer.concat([deltaVarint(4), deltaVarint(1024 ** 3), Buffer.from([0x04]), Buffer.from('abcd')]);
  const header = Buffer.alloc(12);
  header.write('PACK', 0, 'latin1');
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(2, 8);
  const blob = Buffer.concat([Buffer.from([(3 << 4) | base.length]), deflateSync(base)]);
  const ofs = Buffer.concat([Buffer.from([(6 << 4) | delta.length]), Buffer.from([blob.length]), deflateSync(delta)]);
  const pack = Buffer.concat([header, blob, ofs, Buffer.alloc(20)]);
  const r = await scanBlob('hostile-pack.tar', tarOf({ 'repo/.git/objects/pack/pack-x.pack': pack }));
  expect(r.error).toBeUndefined();
  expect(r.notLookedInside).toEqual([
    {
      path: 'repo/.git/objects/pack/pack-x.pack',
      reason: expect.stringMatching(
        /^git-pack archive could not be opened: its objects are over the 67108864-byte bound/,
      ),
    },
  ]);
});
