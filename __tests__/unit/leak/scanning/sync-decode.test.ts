/**
 * The synchronous decoders the layer workers use (src/leak/scanning/nested/decompress.ts): a whole small input on a reused
 * decoder, bounded against bombs; and the streaming gzip/zstd decoder with the count of input bytes zlib used.
 */
import { randomBytes } from 'node:crypto';
import zlib from 'node:zlib';
import { decodeWhole, SyncDecoder } from '../../../../src/leak/scanning/nested/decompress.js';

function chunks(b: Buffer, size: number): AsyncIterable<Buffer> {
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) parts.push(b.subarray(i, i + size));
  return (async function* () {
    for (const p of parts) yield await Promise.resolve(p);
  })();
}

async function decodeAll(
  kind: 'gzip' | 'zstd',
  input: Buffer,
  size = 1000,
): Promise<{ out: Buffer; consumed: number }> {
  const d = new SyncDecoder(kind);
  const parts: Buffer[] = [];
  for await (const c of d.decode(chunks(input, size))) parts.push(c);
  return { out: Buffer.concat(parts), consumed: d.consumed };
}

const text = Buffer.from('a certificate is not here '.repeat(5000));
const noise = randomBytes(300_000);

describe('decodeWhole: one reused decoder per format, bounded', () => {
  test.each([
    ['gzip', zlib.gzipSync(text), text],
    ['gzip of noise', zlib.gzipSync(noise), noise],
    ['gzip, two members', Buffer.concat([zlib.gzipSync(text), zlib.gzipSync(noise)]), Buffer.concat([text, noise])],
    ['gzip, empty', zlib.gzipSync(Buffer.alloc(0)), Buffer.alloc(0)],
  ])('%s decodes to its content', (_name, input, expected) => {
    expect(decodeWhole('gzip', input, 10 << 20).equals(expected)).toBe(true);
  });

  test('raw deflate (zip entries) decodes, again and again on the same decoder', () => {
    for (const content of [text, noise, Buffer.from('x'), text])
      expect(decodeWhole('deflate-raw', zlib.deflateRawSync(content), content.length).equals(content)).toBe(true);
  });

  test.each([
    ['truncated', zlib.gzipSync(text).subarray(0, 200), /unexpected end of file/],
    ['corrupt', Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), randomBytes(500)]), /./],
    ['not gzip at all', Buffer.from('plain text, no gzip header'), /incorrect header check/],
  ])('%s input throws, and the next input decodes', (_name, input, message) => {
    expect(() => decodeWhole('gzip', input, 10 << 20)).toThrow(message);
    expect(decodeWhole('gzip', zlib.gzipSync(text), 10 << 20).equals(text)).toBe(true);
  });

  test('a bomb stops near the bound with ERR_BUFFER_TOO_LARGE, not after expanding everything', () => {
    const bomb = zlib.deflateRawSync(Buffer.alloc(256 << 20));
    const before = process.memoryUsage().arrayBuffers;
    let error: NodeJS.ErrnoException | undefined;
    try {
      decodeWhole('deflate-raw', bomb, 1 << 20);
    } catch (e) {
      error = e as NodeJS.ErrnoException;
    }
    expect(error?.code).toBe('ERR_BUFFER_TOO_LARGE');
    // One input slice expands to at most ~4 MB past the bound; 256 MB would show here.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
    expect(decodeWhole('deflate-raw', zlib.deflateRawSync(text), text.length).equals(text)).toBe(true);
  });

  test('a zip entry whose output is longer than its header says fails', () => {
    expect(() => decodeWhole('deflate-raw', zlib.deflateRawSync(text), 100)).toThrow(/over 100 bytes/);
  });
});

describe('SyncDecoder: streaming, and the input zlib used', () => {
  test.each([1, 7, 1000, 1 << 20])('gzip in chunks of %i bytes decodes whole', async (size) => {
    const input = zlib.gzipSync(noise);
    const { out, consumed } = await decodeAll('gzip', input, size);
    expect(out.equals(noise)).toBe(true);
    expect(consumed).toBe(input.length);
  });

  test('zero padding after the member is not consumed (the caller checks it is only zeros)', async () => {
    const member = zlib.gzipSync(text);
    const { out, consumed } = await decodeAll('gzip', Buffer.concat([member, Buffer.alloc(4096)]));
    expect(out.equals(text)).toBe(true);
    expect(consumed).toBe(member.length);
  });

  test('a truncated stream throws with zlib words, without the "zlib: " prefix', async () => {
    await expect(decodeAll('gzip', zlib.gzipSync(noise).subarray(0, 5000))).rejects.toThrow(/^unexpected end of file/);
  });

  test('zstd decodes', async () => {
    const { out } = await decodeAll('zstd', zlib.zstdCompressSync(noise));
    expect(out.equals(noise)).toBe(true);
  });
});
