/**
 * The one place a blob's bytes are opened, whatever holds them: a file range, bytes in memory, or a registry
 * (streamed by the worker that scans it, so a registry image is never written to disk).
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { openRegistryBlob } from './registry/stream.js';
import type { BlobRef } from '../types.js';

export async function openBlob(blob: BlobRef): Promise<Readable> {
  if (blob.kind === 'registry') return openRegistryBlob(blob);
  if (blob.kind === 'bytes')
    return Readable.from([Buffer.from(blob.bytes.buffer, blob.bytes.byteOffset, blob.size)], { objectMode: false });
  if (blob.size === 0) return Readable.from([], { objectMode: false });
  return createReadStream(blob.file, { start: blob.start, end: blob.start + blob.size - 1, highWaterMark: 256 * 1024 });
}
