/**
 * Rewrites an .xz stream whose integrity check the WebAssembly decoder cannot verify (rpm writes SHA-256 checks,
 * rpmio.c: LZMA_CHECK_SHA256; xz-embedded knows none, CRC32 and CRC64) into the same stream with check type None,
 * so it can be decoded. The compressed data is untouched: block boundaries are found by walking the LZMA2 chunk
 * headers (each says its own size), the check field after each block is dropped, and the index and stream footer
 * are re-encoded with their CRC32s (The .xz File Format 1.2.1, sections 2.1, 3, 4, 5; LZMA2 chunk headers as in
 * xz-embedded xz_dec_lzma2.c). The dropped check only guarded against corrupted bytes; a corrupt stream still fails
 * to decode, or its index no longer matches.
 */
import zlib from 'node:zlib';
import { ByteReader } from './byte-reader.js';

const MAGIC = Buffer.from('fd377a585a00', 'hex');
const FOOTER_MAGIC = 'YZ';

function checkSize(type: number): number {
  if (type === 0) return 0;
  return 4 << Math.floor((type - 1) / 3);
}

export function xzCheckType(head: Buffer): number | undefined {
  return head.length >= 8 && head.subarray(0, 6).equals(MAGIC) ? head[7]! & 0x0f : undefined;
}

class Reader extends ByteReader {
  async varint(): Promise<number> {
    let v = 0;
    for (let i = 0; i < 9; i++) {
      const b = (await this.exact(1))[0]!;
      v += (b & 0x7f) * 2 ** (7 * i);
      if (!(b & 0x80)) return v;
    }
    throw new Error('xz data is corrupt (bad variable-length integer)');
  }
}

function varint(n: number): Buffer {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
}

function crc32le(b: Buffer): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(zlib.crc32(b), 0);
  return out;
}

const NONE_FLAGS = Buffer.from([0, 0]);

export async function* withoutChecks(source: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const r = new Reader(source[Symbol.asyncIterator](), () => 'xz stream is truncated');
  while (!(await r.atEnd())) {
    const header = await r.exact(12);
    if (header.readUInt32LE(0) === 0 && header.readUInt32LE(4) === 0 && header.readUInt32LE(8) === 0) continue; // stream padding
    if (!header.subarray(0, 6).equals(MAGIC)) throw new Error('xz data is corrupt (no stream header)');
    const check = header[7]! & 0x0f;
    const dropped = checkSize(check);
    yield Buffer.concat([MAGIC, NONE_FLAGS, crc32le(NONE_FLAGS)]);
    const unpadded: [number, number][] = [];
    for (;;) {
      const first = await r.exact(1);
      if (first[0] === 0) break; // index indicator
      const size = (first[0]! + 1) * 4;
      const blockHeader = Buffer.concat([first, await r.exact(size - 1)]);
      yield blockHeader;
      let data = 0;
      let out = 0;
      for (;;) {
        const c = (await r.exact(1))[0]!;
        yield Buffer.from([c]);
        data++;
        if (c === 0) break;
        let body: number;
        if (c === 1 || c === 2) {
          const s = await r.exact(2);
          yield s;
          data += 2;
          body = s.readUInt16BE(0) + 1;
          out += body;
        } else if (c >= 0x80) {
          const s = await r.exact(c >= 0xc0 ? 5 : 4);
          yield s;
          data += s.length;
          out += ((c & 0x1f) << 16) + s.readUInt16BE(0) + 1;
          body = s.readUInt16BE(2) + 1;
        } else throw new Error('xz data is corrupt (bad LZMA2 chunk header)');
        for (let left = body; left > 0;) {
          const piece = await r.some(left);
          left -= piece.length;
          data += piece.length;
          yield piece;
        }
      }
      const pad = (4 - ((size + data) % 4)) % 4;
      const padding = await r.exact(pad);
      if (pad) yield padding;
      await r.exact(dropped);
      unpadded.push([size + data, out]);
    }
    // The original index: read and checked against what was walked, then written again without the check sizes.
    const count = await r.varint();
    if (count !== unpadded.length) throw new Error('xz data is corrupt (index does not match the blocks)');
    for (const [u, o] of unpadded) {
      const iu = await r.varint();
      const io = await r.varint();
      if (iu !== u + dropped || io !== o) throw new Error('xz data is corrupt (index does not match the blocks)');
    }
    let indexLen = 1 + varint(count).length;
    for (const [u, o] of unpadded) indexLen += varint(u + dropped).length + varint(o).length;
    await r.exact((4 - (indexLen % 4)) % 4);
    await r.exact(4); // index CRC32
    const footer = await r.exact(12);
    if (footer.toString('latin1', 10, 12) !== FOOTER_MAGIC) throw new Error('xz data is corrupt (no stream footer)');
    const index = Buffer.concat([
      Buffer.from([0]),
      varint(count),
      ...unpadded.flatMap(([u, o]) => [varint(u), varint(o)]),
    ]);
    const padded = Buffer.concat([index, Buffer.alloc((4 - (index.length % 4)) % 4)]);
    yield padded;
    yield crc32le(padded);
    const tail = Buffer.alloc(6);
    tail.writeUInt32LE((padded.length + 4) / 4 - 1, 0);
    NONE_FLAGS.copy(tail, 4);
    yield Buffer.concat([crc32le(tail), tail, Buffer.from(FOOTER_MAGIC)]);
  }
}
