import { digestAlgorithm, DigestHash } from '../digest.js';
import type { BlobOpener, LayerJob } from '../types.js';

/**
 * Names the real cause when the tar reader fails inside a layer. A bit flip in compressed data can still inflate
 * (deflate only checks its CRC at the end of a member), so the tar reader sees garbage first and would blame a tar
 * header. When the blob's digest is known, hashing it settles which one broke: a blob that does not match its digest
 * is corrupt, whatever the tar reader saw; a blob that matches really holds a bad tar stream.
 */
export async function blameTarFailure(job: LayerJob, tarMessage: string, openBlob: BlobOpener): Promise<string> {
  if (!digestAlgorithm(job.digest)) return tarMessage;
  const hash = DigestHash.for(job.digest);
  try {
    for await (const chunk of await openBlob(job.blob)) hash.update(chunk as Buffer);
  } catch {
    return tarMessage;
  }
  const actual = hash.digest();
  return actual === job.digest
    ? tarMessage
    : `the blob is corrupt: its digest is ${actual}, expected ${job.digest} (reading it failed with: ${tarMessage})`;
}
