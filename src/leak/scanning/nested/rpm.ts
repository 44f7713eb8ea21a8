/**
 * RPM packages (rpm's lib/rpmlead.c, lib/header.c): a 96-byte lead, a signature header padded to 8 bytes, the main
 * header, then the payload: a cpio archive, usually compressed (gzip, xz, zstd or bzip2, told by its first bytes).
 * Only the payload's offset is read here; the headers' tags are not needed to find the files.
 */
import { open } from 'node:fs/promises';
import type { Spooled } from './spool.js';

const LEAD = 96;
const HEADER_MAGIC = '8eade801';

async function readAt(s: Spooled, at: number, n: number): Promise<Buffer> {
  if (s.kind === 'memory') return s.bytes.subarray(at, at + n);
  const fh = await open(s.file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, at);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Offset of the payload, after the lead and both headers. */
export async function rpmPayloadOffset(s: Spooled): Promise<number> {
  const lead = await readAt(s, 0, LEAD);
  if (lead.length < LEAD || lead.toString('hex', 0, 4) !== 'edabeedb') throw new Error('not an RPM package (bad lead)');
  let at = LEAD;
  for (const which of ['signature', 'main']) {
    const h = await readAt(s, at, 16);
    if (h.length < 16 || h.toString('hex', 0, 4) !== HEADER_MAGIC)
      throw new Error(`RPM ${which} header is missing or corrupt`);
    const count = h.readUInt32BE(8);
    const size = h.readUInt32BE(12);
    if (count > 1_000_000 || size > 256 * 1024 * 1024) throw new Error(`RPM ${which} header is implausibly large`);
    at += 16 + 16 * count + size;
    if (which === 'signature') at += (8 - (at % 8)) % 8;
  }
  return at;
}
