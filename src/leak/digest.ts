/**
 * Content digests as OCI descriptors write them, `algorithm:encoded` (image-spec descriptor.md): sha256 and sha512
 * are the registered algorithms, each verified with its own hash. Another algorithm cannot be verified, which the
 * caller reports as such (never as a damaged blob, never as clean).
 */
import { createHash, type Hash } from 'node:crypto';

export const DIGEST_ALGORITHMS = ['sha256', 'sha512'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

const HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = { sha256: 64, sha512: 128 };

/** The algorithm of a digest org-ca can verify; undefined for any other (or for no digest). */
export function digestAlgorithm(digest: string | undefined): DigestAlgorithm | undefined {
  const alg = digest?.slice(0, digest.indexOf(':'));
  return DIGEST_ALGORITHMS.find((a) => a === alg);
}

/** A well-formed digest of a registered algorithm: the right number of lower-case hex digits. */
export function isVerifiableDigest(digest: string): boolean {
  const alg = digestAlgorithm(digest);
  return alg !== undefined && new RegExp(`^${alg}:[0-9a-f]{${HEX_LENGTH[alg]}}$`).test(digest);
}

/** A running hash that prints itself as a digest of its algorithm (sha256 when none is expected). */
export class DigestHash {
  private readonly hash: Hash;

  constructor(readonly algorithm: DigestAlgorithm = 'sha256') {
    this.hash = createHash(algorithm);
  }

  /** The hash for the digest a blob is expected to have. */
  static for(expected: string | undefined): DigestHash {
    return new DigestHash(digestAlgorithm(expected) ?? 'sha256');
  }

  update(bytes: Buffer): this {
    this.hash.update(bytes);
    return this;
  }

  digest(): string {
    return `${this.algorithm}:${this.hash.digest('hex')}`;
  }
}

/** The digest a member stored under blobs/<algorithm>/<hex> must have (an OCI layout's content-addressed store). */
export function digestOfBlobPath(name: string): string | undefined {
  const match = /^blobs\/(sha256|sha512)\/([0-9a-f]+)$/.exec(name);
  return match && isVerifiableDigest(`${match[1]}:${match[2]}`) ? `${match[1]}:${match[2]}` : undefined;
}
