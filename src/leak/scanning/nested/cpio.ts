/**
 * A strict, push-based reader of cpio archives: "new ASCII" (070701), with CRC (070702) and the old portable format
 * (070707). RPM payloads are new ASCII cpio. Names are data only.
 */
import type { MemberSink } from './members.js';

const TRAILER = 'TRAILER!!!';
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

export class CpioParser {
  private state: 'header' | 'name' | 'data' | 'pad' | 'done' = 'header';
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private need = 6;
  private format: 'newc' | 'odc' = 'newc';
  private nameSize = 0;
  private fileSize = 0;
  private mode = 0;
  private remaining = 0;
  private padding = 0;
  private regular = false;
  private headerBytes = 0;

  constructor(private readonly sink: MemberSink) {}

  write(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.state === 'done') {
        // Zero padding to the block size after the trailer.
        for (; pos < chunk.length; pos++) if (chunk[pos] !== 0) throw new Error('data after the cpio trailer');
        return;
      }
      if (this.state === 'data' || this.state === 'pad') {
        const n = Math.min(this.state === 'data' ? this.remaining : this.padding, chunk.length - pos);
        if (this.state === 'data') {
          if (this.regular) this.sink.data(chunk.subarray(pos, pos + n));
          this.remaining -= n;
          if (this.remaining === 0) {
            if (this.regular) this.sink.entryEnd();
            this.state = this.padding ? 'pad' : 'header';
            this.need = 6;
          }
        } else {
          this.padding -= n;
          if (this.padding === 0) {
            this.state = 'header';
            this.need = 6;
          }
        }
        pos += n;
        continue;
      }
      const want = this.need - this.pendingLen;
      const piece = chunk.subarray(pos, pos + want);
      this.pending.push(piece);
      this.pendingLen += piece.length;
      pos += piece.length;
      if (this.pendingLen < this.need) return;
      const block = Buffer.concat(this.pending);
      this.pending = [];
      this.pendingLen = 0;
      if (this.state === 'header') this.header(block);
      else this.name(block);
    }
  }

  private header(block: Buffer): void {
    if (block.length === 6) {
      const magic = block.toString('latin1');
      if (magic === '070701' || magic === '070702') this.format = 'newc';
      else if (magic === '070707') this.format = 'odc';
      else throw new Error(`not a cpio header ('${magic.replace(/[^\x20-\x7e]/g, '?')}')`);
      this.need = this.format === 'newc' ? 110 : 76;
      this.pending = [block];
      this.pendingLen = 6;
      return;
    }
    const field = (start: number, len: number, radix: number): number => {
      const text = block.toString('latin1', start, start + len);
      if (!(radix === 16 ? /^[0-9a-fA-F]+$/ : /^[0-7]+$/).test(text))
        throw new Error(`invalid cpio header field '${text.replace(/[^\x20-\x7e]/g, '?')}'`);
      return parseInt(text, radix);
    };
    if (this.format === 'newc') {
      this.mode = field(14, 8, 16);
      this.fileSize = field(54, 8, 16);
      this.nameSize = field(94, 8, 16);
    } else {
      this.mode = field(18, 6, 8);
      this.nameSize = field(59, 6, 8);
      this.fileSize = field(65, 11, 8);
    }
    if (this.nameSize < 1 || this.nameSize > 64 * 1024) throw new Error(`cpio name size ${this.nameSize} out of range`);
    this.headerBytes = block.length;
    this.state = 'name';
    // new ASCII pads header+name to a multiple of 4
    this.need =
      this.format === 'newc' ? this.nameSize + ((4 - ((this.headerBytes + this.nameSize) % 4)) % 4) : this.nameSize;
  }

  private name(block: Buffer): void {
    const name = block.toString('utf8', 0, this.nameSize - 1);
    if (name === TRAILER) {
      this.state = 'done';
      return;
    }
    this.regular = (this.mode & S_IFMT) === S_IFREG;
    this.remaining = this.fileSize;
    this.padding = this.format === 'newc' ? (4 - (this.fileSize % 4)) % 4 : 0;
    if (this.regular) this.sink.entry(name.replace(/^\.?\/+/, ''), 'file', this.fileSize);
    if (this.fileSize === 0) {
      if (this.regular) this.sink.entryEnd();
      this.state = this.padding ? 'pad' : 'header';
      this.need = 6;
    } else this.state = 'data';
  }

  end(): void {
    if (this.state !== 'done') throw new Error('cpio archive is truncated (no TRAILER!!! entry)');
  }
}
