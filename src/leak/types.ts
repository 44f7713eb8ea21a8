/** The data the leak check passes between its readers, scanners and reports. Plain objects: they cross worker_threads. */
import type { Readable } from 'node:stream';
import { sha256Hex } from '../ca/certificate.js';
import type { Pointer } from '../ca-pointers/pointers.js';

/** What was matched. The `base64-` kinds were found inside base64 text (one line, any of the 3 byte alignments). */
export type MatchKind =
  | 'pem' // a PEM certificate block equal to a target
  | 'pem-same-key' // a PEM certificate with a target's public key (re-issued or cross-signed copy)
  | 'der' // the target's DER bytes
  | 'der-same-key'
  | 'public-key' // the target's public key bytes, no whole certificate around them
  | 'pem-body' // the base64 body of the target's PEM without its BEGIN line
  | 'base64-der'
  | 'base64-der-same-key'
  | 'base64-public-key'
  | 'base64-pem'
  | 'pem-intermediate' // a CA certificate (CA:TRUE) whose signature verifies under a target's key, as PEM
  | 'der-intermediate'
  | 'base64-der-intermediate'
  | 'base64-pem-intermediate'
  | 'jks' // a trusted entry in a Java keystore
  | 'pkcs12' // a certificate bag of a PKCS#12 store
  | 'jks-intermediate'
  | 'pkcs12-intermediate'
  | 'pointer-inline' // a CA pointer variable/setting whose value is certificate text
  | 'pointer-to-ca' // a CA pointer naming a file that holds the CA
  | 'pointer-missing'; // a CA pointer naming a file absent from the final file system

/** One match inside one piece of content, before it is placed in an image. */
export interface Hit {
  readonly kind: MatchKind;
  /** SHA-256 of the matched certificate (the target's, for key-only matches). */
  readonly fingerprint: string;
  readonly subject?: string;
  /** Byte range in the scanned content, for de-duplication. */
  readonly start: number;
  readonly end: number;
}

/** What to look for: the CA's certificates (full matching) or only SHA-256 fingerprints (parse-everything mode). */
export interface TargetSpec {
  readonly certs: readonly { readonly der: Uint8Array }[];
  readonly fingerprints: readonly string[];
}

/** The SHA-256 fingerprints (lower-case hex) a check searches for: the certificates' and those given, once each. */
export function searchedFingerprints(spec: TargetSpec): string[] {
  const given = spec.fingerprints.map((f) => f.toLowerCase().replace(/[^0-9a-f]/g, ''));
  return [...new Set([...spec.certs.map((c) => sha256Hex(Buffer.from(c.der))), ...given])];
}

/** `clean`: nothing found, everything read; `leak`: the CA is in it; `unreadable`: a part could not be read. */
export type Verdict = 'clean' | 'leak' | 'unreadable';

/**
 * Bounds on absolute work, so that a hostile input ends in a clear message instead of eating the machine (see
 * nested/budget.ts). Over a layer bound the check fails closed; over a nested bound the member is "not looked inside".
 */
export interface ScanLimits {
  /** One tar entry's size. */
  readonly maxFileBytes: number;
  /** One layer, uncompressed. */
  readonly maxLayerBytes: number;
  /** All layers of the input together, uncompressed. */
  readonly maxImageBytes: number;
  /** How many archives deep the scan looks inside files (a jar in a jar in a layer is 2). */
  readonly maxDepth: number;
  /** Bytes expanded from the files inside one layer (archives and compressed files, at every depth). */
  readonly maxNestedLayerBytes: number;
  /** The same over all layers of the input. */
  readonly maxNestedImageBytes: number;
  /** Keystores are parsed whole, so they have their own bound. */
  readonly maxKeystoreBytes: number;
  /** zstd window (log2): libzstd's default 27 = 128 MiB per stream would break the memory target. */
  readonly zstdWindowLogMax: number;
  /** Bytes of archives written to TMPDIR over the check so that they can be opened (a zip needs its end first). */
  readonly maxSpillBytes: number;
}

export const DEFAULT_LIMITS: ScanLimits = {
  maxFileBytes: 8 * 1024 ** 3,
  maxLayerBytes: 32 * 1024 ** 3,
  maxImageBytes: 128 * 1024 ** 3,
  maxDepth: 6,
  maxNestedLayerBytes: 8 * 1024 ** 3,
  maxNestedImageBytes: 32 * 1024 ** 3,
  maxKeystoreBytes: 64 * 1024 ** 2,
  zstdWindowLogMax: 25,
  // A floor: a check of a big image raises it to a multiple of the image's size (src/leak/check.ts spillBoundFor).
  maxSpillBytes: 2 * 1024 ** 3,
};

/** A file inside another file (`/app/app.jar!/BOOT-INF/lib/x.jar`) that the scan could not open, and why. */
export interface NotLookedInside {
  readonly path: string;
  readonly reason: string;
}

/** A byte range of a local file: a blob inside an archive, or a whole file. Workers open it themselves. */
export interface FileBlob {
  readonly kind?: 'file';
  readonly file: string;
  readonly start: number;
  readonly size: number;
}

/** A small blob already in memory (a registry's manifests and configs, fetched whole and verified). */
export interface BytesBlob {
  readonly kind: 'bytes';
  readonly bytes: Uint8Array;
  readonly size: number;
}

/**
 * How a worker reaches a registry on its own: plain data (it crosses worker_threads), never logged. The
 * authorization is the one the main thread already negotiated; the credentials let a worker answer a new
 * challenge when a token expires during a long scan.
 */
export interface RegistryFetchSpec {
  /** HOST[:PORT] of the API. */
  readonly host: string;
  readonly repository: string;
  /** PEM certificates trusted besides the system roots (the org CA). */
  readonly extraCa: readonly string[];
  /** Only the proxy variables (HTTPS_PROXY, NO_PROXY, …): the route is decided in the worker the same way. */
  readonly env: Readonly<Record<string, string>>;
  readonly authorization?: string;
  readonly credentials?: { readonly username: string; readonly password: string };
  readonly retries?: number;
  readonly backoffMs?: number;
  readonly timeoutMs?: number;
}

/** A blob a worker streams from the registry; its digest is verified as the scan hashes it (see layer.ts). */
export interface RegistryBlob {
  readonly kind: 'registry';
  readonly digest: string;
  readonly size: number;
  /** For messages: HOST/REPO:TAG. */
  readonly label: string;
  readonly fetch: RegistryFetchSpec;
}

/** Where a blob's bytes come from; `openBlob` (blob.ts) turns any of them into a stream. */
export type BlobRef = FileBlob | BytesBlob | RegistryBlob;

export type EntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'other';

/**
 * What the final-file-system questions need from one layer, a few bytes a file (see filesystem.ts). Paths are
 * normalised tar paths without a leading '/'. The hash arrays are transferred, not copied, out of a worker.
 */
export interface LayerIndex {
  /** Sorted, distinct 64-bit hashes of the directories (listed, or implied by an entry below them). */
  readonly dirs: BigUint64Array<ArrayBuffer>;
  /** Sorted, distinct 64-bit hashes of every other entry except whiteouts. */
  readonly nondirs: BigUint64Array<ArrayBuffer>;
  /** Paths a `.wh.<name>` entry deletes from lower layers. */
  readonly whiteouts: readonly string[];
  /** Directories holding `.wh..wh..opq`: their lower children are hidden. */
  readonly opaques: readonly string[];
  /** [path, target as written] */
  readonly symlinks: readonly (readonly [string, string])[];
  /** [path, the archive path it links to] */
  readonly hardlinks: readonly (readonly [string, string])[];
  /** Device nodes and fifos. */
  readonly others: readonly string[];
}

/**
 * The CA settings of a file the pointer check reads (.npmrc, pip.conf, …), extracted where the file was read: its text
 * (tokens, passwords, the CA inline) never leaves the scan.
 */
export interface CapturedFile {
  readonly path: string;
  readonly pointers: readonly Pointer[];
}

export interface FileHit extends Hit {
  readonly path: string;
}

export interface LayerJob {
  readonly id: string;
  readonly blob: BlobRef;
  /** For messages: where the blob lives (archive member, path). */
  readonly where: string;
  readonly mediaType?: string;
  /** Expected sha256 of the blob as stored, when a descriptor or file name gives one. */
  readonly digest?: string;
  /** Expected sha256 of the uncompressed tar (config rootfs.diff_ids). */
  readonly diffId?: string;
}

export interface LayerResult {
  readonly id: string;
  /** Set when the layer could not be read completely: the check fails. */
  readonly error?: string;
  readonly compression: 'gzip' | 'zstd' | 'none' | 'unknown';
  readonly digest: string;
  readonly diffId: string;
  readonly bytes: number;
  readonly files: number;
  readonly index: LayerIndex;
  readonly hits: readonly FileHit[];
  /** Files the scan could not check (e.g. a PKCS#12 store no default password opens). */
  readonly unreadable: readonly { readonly path: string; readonly reason: string }[];
  /** Archives and compressed files inside the layer that could not be opened (paths without a leading '/'). */
  readonly notLookedInside: readonly NotLookedInside[];
  /** Files scanned inside other files. */
  readonly nestedFiles: number;
  readonly captured: readonly CapturedFile[];
  /** Hits in the blob's own bytes that no decoder reads (zstd skippable frames); the path says where in the blob. */
  readonly blobHits: readonly FileHit[];
}

export type Visibility = 'final' | 'lower-layer' | 'config' | 'n/a';

export interface Finding {
  readonly kind: MatchKind;
  readonly fingerprint: string;
  readonly subject?: string;
  /** Which image (tag or platform) of the input; absent for a plain rootfs. */
  readonly image?: string;
  readonly layer?: { readonly index: number; readonly digest: string; readonly instruction?: string };
  /** Path inside the image, or a config location such as `config.Env[2]`. */
  readonly path: string;
  readonly visibility: Visibility;
  readonly message: string;
}

export interface Unscanned {
  readonly what: string;
  readonly reason: string;
}

/** What was checked, as a verifier names it: the image's name and the digest of its manifest or index. */
export interface Subject {
  readonly name: string;
  readonly digest: string;
}

export interface Report {
  readonly input: string;
  /** The manifests (or indexes) checked, by digest: the subjects of an attestation (--attest). */
  readonly subjects?: readonly Subject[];
  /** Each layer of the images checked, by digest, with what was found in it. */
  readonly layers?: readonly { readonly digest: string; readonly verdict: Verdict }[];
  /** Set when the input could not be checked at all (bad input, unreadable image): nothing was counted clean. */
  readonly error?: string;
  readonly findings: readonly Finding[];
  readonly unscanned: readonly Unscanned[];
  /** Files inside files that could not be opened: a warning, or a failure with `strict`. */
  readonly notLookedInside: readonly (NotLookedInside & { readonly image?: string; readonly layer?: number })[];
  readonly stats: {
    readonly images: number;
    readonly layers: number;
    readonly files: number;
    readonly nestedFiles: number;
    readonly bytes: number;
    readonly ms: number;
    /** With a layer cache: how many layers were judged from it, not read. */
    readonly cachedLayers?: number;
  };
}

/** Opens a blob's bytes wherever they live (a file, a member of an archive, a registry): the sources' side, handed to
 * the scanners so that they never need to know. */
export type BlobOpener = (blob: BlobRef) => Promise<Readable>;

/** One image of a run over several, with its verdict. */
export interface CheckedImage {
  readonly image: string;
  readonly verdict: Verdict;
  readonly report: Report;
}

/** A run over several images (or every tag of a repository): a report per image, and which images hold each layer. */
export interface SweepReport {
  readonly inputs: readonly string[];
  readonly images: readonly CheckedImage[];
  readonly layers: readonly {
    readonly digest: string;
    readonly verdict: Verdict;
    readonly images: readonly string[];
  }[];
  readonly stats: {
    readonly images: number;
    readonly layers: number;
    readonly layersRead: number;
    readonly ms: number;
  };
}
