/**
 * What a run of bytes is, told by its first bytes (never by a media type or a file name alone): layer compression,
 * keystores, and the archives and compressed files the nested scan opens. Pure.
 */

export type Compression = 'gzip' | 'zstd' | 'none' | 'unknown';

/** How many leading bytes `sniffContent` wants: a tar's `ustar` magic sits at offset 257. */
export const HEAD_BYTES = 512;

const ZSTD_FRAME = 0xfd2fb528;

function isZstdMagic(magic: number): boolean {
  // A zstd frame, or a skippable frame (0x184D2A50–5F: zstd:chunked keeps its TOC and tar-split in those).
  return magic === ZSTD_FRAME || (magic & 0xfffffff0) === 0x184d2a50;
}

/** The compression of a layer blob. */
export function sniff(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && isZstdMagic(head.readUInt32LE(0))) return 'zstd';
  if (isTarHead(head)) return 'none';
  if (head.length >= 1024 && head.subarray(0, 1024).every((b) => b === 0)) return 'none'; // an empty tar
  return 'unknown';
}

export function isTarHead(head: Buffer): boolean {
  return head.toString('latin1', 257, 262) === 'ustar';
}

export type Keystore = 'jks' | 'pkcs12';

export function keystoreKind(head: Buffer): Keystore | undefined {
  if (head.length >= 4) {
    const magic = head.readUInt32BE(0);
    if (magic === 0xfeedfeed || magic === 0xcececece) return 'jks';
  }
  // PFX ::= SEQUENCE { version INTEGER 3, ... }
  if (head[0] === 0x30 && head.length >= 8) {
    const l = head[1]!;
    const at = l < 0x80 ? 2 : 2 + (l & 0x7f);
    if (head[at] === 0x02 && head[at + 1] === 0x01 && head[at + 2] === 0x03 && head[at + 3] === 0x30) return 'pkcs12';
  }
  return undefined;
}

/** Containers the nested scan opens. Single-file compressors wrap one stream; the others hold members. */
export type Container =
  'gzip' | 'bzip2' | 'xz' | 'zstd' | 'zlib' | 'brotli' | 'zip' | 'tar' | 'ar' | 'rpm' | 'cpio' | 'git-pack';
export type Compressor = Extract<Container, 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'zlib' | 'brotli'>;

export const COMPRESSORS: ReadonlySet<Container> = new Set<Container>([
  'gzip',
  'bzip2',
  'xz',
  'zstd',
  'zlib',
  'brotli',
]);

/**
 * A zlib stream (RFC 1950): deflate with a 32 kB window, no preset dictionary, and the header check that makes the
 * first two bytes a multiple of 31. git's loose objects are such streams, as are .zz files and PDF/PNG payloads.
 * Only the four levels zlib writes (78 01, 78 5e, 78 9c, 78 da), so that text starting with 'x' is not taken for one.
 */
function isZlibHead(h: Buffer): boolean {
  return h[0] === 0x78 && (h[1] === 0x01 || h[1] === 0x5e || h[1] === 0x9c || h[1] === 0xda);
}

/** A git packfile: "PACK", version 2 or 3 (gitformat-pack(5)). */
export function isGitPackHead(head: Buffer): boolean {
  return head.length >= 12 && head.toString('latin1', 0, 4) === 'PACK' && [2, 3].includes(head.readUInt32BE(4));
}

/** Brotli has no magic bytes: it is known by its name, as web servers serve precompressed assets (.br). */
const BROTLI_NAME = /\.br$/i;

/**
 * The zip family by extension: jar/war/ear (Java), whl/egg (Python), nupkg (.NET), apk/aar (Android), vsix (VS Code),
 * jmod (JDK, a 4-byte header before the zip). Used only when the first bytes are not a local header, e.g. a Spring
 * Boot "fully executable" jar with a launch script in front: yauzl finds the central directory from the end.
 */
const ZIP_NAMES = /\.(zip|jar|war|ear|whl|egg|nupkg|snupkg|apk|aar|vsix|jmod|xpi|ipa|aab)$/i;

const TABLE: readonly { readonly kind: Container; readonly test: (h: Buffer) => boolean }[] = [
  { kind: 'gzip', test: (h) => h[0] === 0x1f && h[1] === 0x8b && h[2] === 0x08 },
  // "BZh" + block size '1'–'9' + the block magic 0x314159265359 (pi) or the end-of-stream magic (sqrt(pi)).
  {
    kind: 'bzip2',
    test: (h) =>
      h.toString('latin1', 0, 3) === 'BZh' &&
      h[3]! >= 0x31 &&
      h[3]! <= 0x39 &&
      /^(314159265359|177245385090)$/.test(h.toString('hex', 4, 10)),
  },
  { kind: 'xz', test: (h) => h.toString('hex', 0, 6) === 'fd377a585a00' },
  { kind: 'zstd', test: (h) => h.length >= 4 && isZstdMagic(h.readUInt32LE(0)) },
  // Local file header, an empty zip's end record, or a spanned-archive marker before a local header.
  {
    kind: 'zip',
    test: (h) =>
      /^504b(0304|0506|0708)$/.test(h.toString('hex', 0, 4)) || h.toString('hex', 0, 8) === '4a4d0100504b0304',
  },
  { kind: 'ar', test: (h) => h.toString('latin1', 0, 8) === '!<arch>\n' },
  { kind: 'rpm', test: (h) => h.toString('hex', 0, 4) === 'edabeedb' },
  { kind: 'cpio', test: (h) => /^07070[127]$/.test(h.toString('latin1', 0, 6)) },
  { kind: 'tar', test: isTarHead },
  { kind: 'zlib', test: isZlibHead },
  { kind: 'git-pack', test: isGitPackHead },
];

/** The container a file is, by its first bytes (and, for zips with a prefix, by its name). */
export function sniffContainer(head: Buffer, name: string): Container | undefined {
  for (const row of TABLE) if (row.test(head)) return row.kind;
  if (ZIP_NAMES.test(name) && head.length >= 22) return 'zip';
  if (BROTLI_NAME.test(name) && head.length > 0) return 'brotli';
  return undefined;
}

/**
 * Stores and archives org-ca does not open, by their first bytes (or, for keystores without a magic, a binary file's
 * name): they may hold the CA, so each is listed as "not looked inside" with what it is, never passed as clean.
 * Their raw bytes are still searched (a BKS keystore keeps certificates in clear).
 */
const UNOPENED: readonly { readonly what: string; readonly test: (h: Buffer, name: string) => boolean }[] = [
  { what: '7-Zip archive', test: (h) => h.toString('hex', 0, 6) === '377abcaf271c' },
  {
    what: 'RAR archive',
    test: (h) =>
      h.toString('latin1', 0, 7) === 'Rar!\x1a\x07\x00' || h.toString('latin1', 0, 8) === 'Rar!\x1a\x07\x01\x00',
  },
  { what: 'LZ4 frame', test: (h) => h.toString('hex', 0, 4) === '04224d18' },
  { what: 'lzip file', test: (h) => h.toString('latin1', 0, 4) === 'LZIP' },
  { what: 'compress(1) .Z file', test: (h) => h[0] === 0x1f && h[1] === 0x9d },
  { what: 'lzma file', test: (h, name) => /\.lzma$/i.test(name) && h[0] === 0x5d },
  {
    what: 'keystore of a type org-ca does not read (BCFKS, BKS, UBER, or an unknown one)',
    test: (h, name) => /\.(bcfks|bks|uber|keystore|truststore|jks|jceks|p12|pfx)$/i.test(name) && h.includes(0),
  },
];

/** What a file is, when it is a store or archive org-ca cannot open. */
export function unopenedKind(head: Buffer, name: string): string | undefined {
  return UNOPENED.find((row) => row.test(head, name))?.what;
}
