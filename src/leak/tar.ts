/**
 * A strict, push-based tar reader: every irregularity is an error, never a warning, because a lenient parser that
 * skips a bad header skips whatever hides behind it (node-tar is non-strict by default; modern-tar ends quietly on
 * truncation). Entry paths are only ever data here. Format: POSIX pax/ustar and GNU (long names), as Go's
 * archive/tar and containers/image write layers.
 */

export class TarError extends Error {
  override readonly name = 'TarError';
}

export type TarType = 'file' | 'hardlink' | 'symlink' | 'char' | 'block' | 'dir' | 'fifo';

export interface TarHeader {
  readonly path: string;
  readonly type: TarType;
  readonly size: number;
  readonly linkname: string;
}

export interface TarSink {
  entry(header: TarHeader): void;
  data(chunk: Buffer): void;
  entryEnd(): void;
}

const BLOCK = 512;
/** PAX and GNU long-name records are metadata: a path is never a megabyte long. */
const MAX_META = 1024 * 1024;
export const TYPES: Record<string, TarType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
};
const META = new Set(['x', 'g', 'L', 'K']);

export function cstring(buf: Buffer, start: number, len: number): string {
  const end = buf.indexOf(0, start);
  return buf.toString('utf8', start, end === -1 || end > start + len ? start + len : end);
}

export function octal(buf: Buffer, start: number, len: number, field: string): number {
  if ((buf[start]! & 0x80) !== 0) {
    // GNU base-256 for sizes >= 8 GiB; a negative value is never valid here.
    if (buf[start] === 0xff) throw new TarError(`${field} field is a negative base-256 number`);
    let v = buf[start]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + buf[start + i]!;
    if (!Number.isSafeInteger(v)) throw new TarError(`${field} field is a base-256 number over 2^53`);
    return v;
  }
  const text = buf
    .toString('latin1', start, start + len)
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text))
    throw new TarError(`${field} field '${text.replace(/[^\x20-\x7e]/g, '?')}' is not an octal number`);
  return parseInt(text, 8);
}

/** The raw name field of a header, for messages about a header that cannot be trusted further. */
export function headerName(block: Buffer): string {
  return cstring(block, 0, 100);
}

/** A tar path quoted for a message: printable, and short. */
export function quoteName(name: string): string {
  const clean = name.replace(/[^\x20-\x7e]/g, '?');
  return `'${clean.length > 120 ? `${clean.slice(0, 117)}...` : clean}'`;
}

/** The size field, as a header error that names the entry: a garbage size is a tar problem, not a compression one. */
export function headerSize(block: Buffer, at: string): number {
  try {
    return octal(block, 124, 12, 'size');
  } catch (error) {
    throw new TarError(`invalid tar header at ${at}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** A PAX `size` record: decimal digits only (POSIX pax), a safe integer. */
export function paxSize(text: string, at: string): number {
  const shown = text.length > 24 ? `${text.slice(0, 24)}...` : text;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new TarError(
      `invalid tar header at ${at}: PAX size '${shown.replace(/[^\x20-\x7e]/g, '?')}' is not a whole number of bytes`,
    );
  return Number(text);
}

export function checksumOk(block: Buffer): boolean {
  let stored: number;
  try {
    stored = octal(block, 148, 8, 'checksum');
  } catch {
    return false;
  }
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

export function parsePax(buf: Buffer, at = 'a PAX header'): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < buf.length) {
    const space = buf.indexOf(0x20, pos);
    if (space === -1) throw new TarError(`malformed PAX record in ${at}`);
    const len = Number(buf.toString('latin1', pos, space));
    if (!Number.isInteger(len) || len <= 0 || pos + len > buf.length)
      throw new TarError(`malformed PAX record length in ${at}`);
    const record = buf.subarray(space + 1, pos + len);
    if (record[record.length - 1] !== 0x0a) throw new TarError(`PAX record without newline in ${at}`);
    const eq = record.indexOf(0x3d);
    if (eq === -1) throw new TarError(`PAX record without = in ${at}`);
    out.set(record.toString('utf8', 0, eq), record.toString('utf8', eq + 1, record.length - 1));
    pos += len;
  }
  return out;
}

/** Tar paths as the image sees them: no leading `./` or `/`, no empty or `.` components. Never resolved on disk. */
export function normalizePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

type State = 'header' | 'data' | 'meta' | 'padding' | 'eof';

export class TarParser {
  private state: State = 'header';
  private buffered: Buffer[] = [];
  private bufferedLen = 0;
  private remaining = 0;
  private padding = 0;
  private metaType = '';
  private meta: Buffer[] = [];
  private pax = new Map<string, string>();
  private globalPax = new Map<string, string>();
  private longName?: string | undefined;
  private longLink?: string | undefined;
  private zeroBlocks = 0;
  /** The entry being read, for messages. */
  private current = '';
  entries = 0;

  constructor(private readonly sink: TarSink) {}

  write(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.state === 'data' || this.state === 'meta') {
        const n = Math.min(this.remaining, chunk.length - pos);
        const piece = chunk.subarray(pos, pos + n);
        if (this.state === 'data') this.sink.data(piece);
        else this.meta.push(piece);
        this.remaining -= n;
        pos += n;
        if (this.remaining === 0) this.finishBody();
        continue;
      }
      if (this.state === 'padding') {
        const n = Math.min(this.padding, chunk.length - pos);
        pos += n;
        this.padding -= n;
        if (this.padding === 0) this.state = 'header';
        continue;
      }
      // header or eof: whole 512-byte blocks
      const need = BLOCK - this.bufferedLen;
      const n = Math.min(need, chunk.length - pos);
      this.buffered.push(chunk.subarray(pos, pos + n));
      this.bufferedLen += n;
      pos += n;
      if (this.bufferedLen === BLOCK) {
        const block = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered);
        this.buffered = [];
        this.bufferedLen = 0;
        this.block(block);
      }
    }
  }

  /** Call at the end of input: a tar without its end-of-archive blocks, or cut inside an entry, is truncated. */
  end(): void {
    if (this.state !== 'eof' || this.bufferedLen !== 0) {
      throw new TarError(
        this.state === 'data' || this.state === 'meta'
          ? `tar stream truncated inside ${this.current}`
          : 'tar stream truncated: no end-of-archive marker',
      );
    }
  }

  private block(block: Buffer): void {
    if (this.state === 'eof') {
      // After the end marker only zero padding may follow (record blocking); anything else is hidden data.
      if (!isZero(block)) throw new TarError('data after the tar end-of-archive marker');
      return;
    }
    if (isZero(block)) {
      this.zeroBlocks++;
      if (this.zeroBlocks === 2) this.state = 'eof';
      return;
    }
    if (this.zeroBlocks === 1) throw new TarError('a single zero block inside the tar stream');
    this.header(block);
  }

  private header(block: Buffer): void {
    const magic = block.toString('latin1', 257, 263);
    const at = `entry ${this.entries + 1} (${quoteName(headerName(block))})`;
    if (magic !== 'ustar\0' && magic !== 'ustar ') throw new TarError(`not a ustar/pax/GNU header at ${at}`);
    if (!checksumOk(block)) throw new TarError(`bad tar header checksum at ${at}`);
    const flag = String.fromCharCode(block[156]!);
    let size = headerSize(block, at);
    if (META.has(flag)) {
      if (size > MAX_META)
        throw new TarError(
          `invalid tar header at ${at}: a '${flag}' metadata record of ${size} bytes is over the ${MAX_META}-byte bound`,
        );
      this.current = at;
      this.metaType = flag;
      this.meta = [];
      this.remaining = size;
      this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
      this.state = 'meta';
      if (size === 0) this.finishBody();
      return;
    }
    const type = TYPES[flag];
    if (!type) throw new TarError(`unsupported tar entry type '${flag.replace(/[^\x20-\x7e]/g, '?')}' at ${at}`);
    const pax = new Map([...this.globalPax, ...this.pax]);
    for (const key of pax.keys()) {
      if (key.startsWith('GNU.sparse.'))
        throw new TarError('sparse files are not supported (OCI layers should not use them)');
    }
    let path = cstring(block, 0, 100);
    if (magic === 'ustar\0') {
      const prefix = cstring(block, 345, 155);
      if (prefix) path = `${prefix}/${path}`;
    }
    if (this.longName !== undefined) path = this.longName;
    if (pax.has('path')) path = pax.get('path')!;
    let linkname = cstring(block, 157, 100);
    if (this.longLink !== undefined) linkname = this.longLink;
    if (pax.has('linkpath')) linkname = pax.get('linkpath')!;
    if (pax.has('size')) size = paxSize(pax.get('size')!, `entry ${this.entries + 1} (${quoteName(path)})`);
    // Readers disagree on whether these types carry data (Go skips it, others read it): refuse the ambiguity.
    if (size !== 0 && type !== 'file') throw new TarError(`${type} entry '${path}' has a size of ${size}`);
    this.pax = new Map();
    this.longName = undefined;
    this.longLink = undefined;
    this.entries++;
    this.current = `entry ${this.entries} (${quoteName(path)})`;
    this.sink.entry({ path: normalizePath(path), type, size, linkname });
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size === 0) {
      this.sink.entryEnd();
      this.state = 'header';
    } else {
      this.state = 'data';
    }
  }

  private finishBody(): void {
    if (this.state === 'data') {
      this.sink.entryEnd();
    } else {
      const body = Buffer.concat(this.meta);
      this.meta = [];
      if (this.metaType === 'x') this.pax = parsePax(body, this.current);
      else if (this.metaType === 'g') for (const [k, v] of parsePax(body, this.current)) this.globalPax.set(k, v);
      else if (this.metaType === 'L') this.longName = cstring(body, 0, body.length);
      else if (this.metaType === 'K') this.longLink = cstring(body, 0, body.length);
    }
    this.state = this.padding > 0 ? 'padding' : 'header';
  }
}

export function isZero(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}
