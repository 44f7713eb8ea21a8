/**
 * A strict, push-based reader of `ar` archives (Debian .deb: debian-binary, control.tar.*, data.tar.*; also static
 * libraries). System V/GNU long names (the `//` table) and BSD `#1/<len>` names are understood. Names are data only.
 */
import type { MemberSink } from './members.js';

const MAGIC = '!<arch>\n';
const HEADER = 60;

export class ArParser {
  private state: 'magic' | 'header' | 'data' | 'pad' = 'magic';
  private pending: Buffer[] = [];
  private pendingLen = 0;
  private remaining = 0;
  private odd = false;
  private longNames?: Buffer;
  /** The body of a special member (name table, symbol table) being collected instead of scanned. */
  private collecting?: Buffer[] | undefined;
  /** The special member is a symbol table: dropped, not kept as the name table. */
  private longNamesSkip = false;
  private bsdName = 0;
  private nameParts: Buffer[] = [];

  constructor(private readonly sink: MemberSink) {}

  private take(chunk: Buffer, pos: number, n: number): [Buffer | undefined, number] {
    const want = n - this.pendingLen;
    const piece = chunk.subarray(pos, pos + want);
    this.pending.push(piece);
    this.pendingLen += piece.length;
    if (this.pendingLen < n) return [undefined, pos + piece.length];
    const all = Buffer.concat(this.pending);
    this.pending = [];
    this.pendingLen = 0;
    return [all, pos + piece.length];
  }

  write(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.state === 'magic' || this.state === 'header') {
        const [block, next] = this.take(chunk, pos, this.state === 'magic' ? MAGIC.length : HEADER);
        pos = next;
        if (!block) return;
        if (this.state === 'magic') {
          if (block.toString('latin1') !== MAGIC) throw new Error('not an ar archive');
          this.state = 'header';
        } else this.header(block);
        continue;
      }
      if (this.state === 'pad') {
        if (chunk[pos] !== 0x0a) throw new Error('ar member padding is not a newline');
        pos++;
        this.state = 'header';
        continue;
      }
      const n = Math.min(this.remaining, chunk.length - pos);
      let piece = chunk.subarray(pos, pos + n);
      pos += n;
      this.remaining -= n;
      if (this.bsdName > 0) {
        const k = Math.min(this.bsdName, piece.length);
        this.nameParts.push(piece.subarray(0, k));
        this.bsdName -= k;
        piece = piece.subarray(k);
        if (this.bsdName === 0)
          this.startMember(
            Buffer.concat(this.nameParts).toString('utf8').replace(/\0+$/, ''),
            this.remaining + piece.length,
          );
      }
      if (piece.length) {
        if (this.collecting) this.collecting.push(piece);
        else this.sink.data(piece);
      }
      if (this.remaining === 0) this.endMember();
    }
  }

  private header(h: Buffer): void {
    if (h.toString('latin1', 58, 60) !== '`\n') throw new Error('bad ar member header');
    const rawName = h.toString('utf8', 0, 16).trimEnd();
    const sizeText = h.toString('latin1', 48, 58).trim();
    if (!/^\d+$/.test(sizeText)) throw new Error(`invalid ar member size '${sizeText.replace(/[^\x20-\x7e]/g, '?')}'`);
    const size = Number(sizeText);
    this.remaining = size;
    this.odd = size % 2 === 1;
    this.state = 'data';
    if (rawName === '//') {
      this.collecting = [];
    } else if (rawName === '/' || rawName === '/SYM64/' || rawName === '__.SYMDEF' || rawName === '__.SYMDEF SORTED') {
      this.collecting = []; // symbol tables: not files
      this.longNamesSkip = true;
    } else if (/^#1\/\d+$/.test(rawName)) {
      this.bsdName = Number(rawName.slice(3));
      if (this.bsdName > size) throw new Error('ar BSD name longer than its member');
      this.nameParts = [];
      if (this.bsdName === 0) this.startMember('', size);
    } else if (/^\/\d+$/.test(rawName)) {
      const at = Number(rawName.slice(1));
      const table = this.longNames;
      if (!table || at >= table.length) throw new Error(`ar long name ${rawName} without a name table`);
      const end = table.indexOf('/\n', at);
      this.startMember(table.toString('utf8', at, end === -1 ? table.length : end), size);
    } else {
      this.startMember(rawName.replace(/\/$/, ''), size);
    }
    if (size === 0) this.endMember();
  }

  private startMember(name: string, size: number): void {
    this.sink.entry(name, 'file', size);
  }

  private endMember(): void {
    if (this.collecting) {
      if (!this.longNamesSkip) this.longNames = Buffer.concat(this.collecting);
      this.collecting = undefined;
      this.longNamesSkip = false;
    } else {
      this.sink.entryEnd();
    }
    this.state = this.odd ? 'pad' : 'header';
  }

  end(): void {
    if (this.state === 'magic' && this.pendingLen === 0) throw new Error('empty ar archive');
    if (this.state !== 'header' || this.pendingLen !== 0) throw new Error('ar archive is truncated');
  }
}
