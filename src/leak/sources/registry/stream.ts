/**
 * One registry blob as a stream, opened where it is scanned (a layer worker): the same client as the main thread
 * (route, trust, auth, redirects), retrying 429/5xx and connection failures before the first byte. After the first
 * byte nothing is retried: a break, a short body or one byte too many fails the layer with one line naming the blob.
 * The digest itself is verified by the scan, which hashes every raw byte it reads (layer.ts).
 */
import { Readable } from 'node:stream';
import type { RegistryBlob } from '../../types.js';
import { RegistryClient, RegistryError, oneLine } from './client.js';
import { inPieces } from './http-get.js';
import { defined } from '../../../lang/present.js';

export async function openRegistryBlob(blob: RegistryBlob): Promise<Readable> {
  const spec = blob.fetch;
  const what = `blob ${blob.digest} of ${blob.label}`;
  const client = new RegistryClient({ ...spec, ...defined({ credentials: spec.credentials }), env: spec.env });
  const res = await client.get(`/v2/${spec.repository}/blobs/${blob.digest}`);
  if (res.status < 200 || res.status >= 300) {
    res.body.destroy();
    throw new RegistryError(`${what}: the registry answered ${res.status}`);
  }
  const body = res.body;
  // The body is handed on in pieces of 256 KiB, as a file read gives (inPieces), so the scan's steps are per piece,
  // not per 16 KiB TLS record.
  return Readable.from(
    (async function* () {
      let bytes = 0;
      try {
        for await (const chunk of inPieces(body as AsyncIterable<Buffer>)) {
          bytes += chunk.length;
          if (bytes > blob.size)
            throw new RegistryError(`${what}: the registry sent more than the ${blob.size} bytes its descriptor says`);
          yield chunk;
        }
      } catch (error) {
        body.destroy();
        if (error instanceof RegistryError) throw error;
        throw new RegistryError(
          `${what}: the download broke off after ${bytes} of ${blob.size} bytes (${oneLine(error)})`,
        );
      }
      if (bytes !== blob.size) throw new RegistryError(`${what}: got ${bytes} of ${blob.size} bytes`);
    })(),
    { objectMode: false, highWaterMark: 256 * 1024 },
  );
}
