import { closeSync, lstatSync, openSync, readdirSync, readlinkSync, readSync, statSync, type Stats } from 'node:fs';
import { join, posix } from 'node:path';
import {
  checksumOk,
  cstring,
  headerName,
  headerSize,
  isZero,
  normalizePath,
  parsePax,
  paxSize,
  quoteName,
  TarError,
  TYPES,
} from '../tar.js';
import type { BlobRef } from '../types.js';
import { present } from '../../lang/present.js';

/**
 * The files of an image input, whatever holds them: a tar archive (indexed by its headers, bodies never read here,
 * so the archive is seekable and its layers can be scanned in parallel) or a directory. Members are data, never
 * paths to write to.
 */
export interface Member {
  readonly name: string;
  readonly type: 'file' | 'symlink' | 'hardlink' | 'dir' | 'other';
  readonly blob: BlobRef;
  readonly link?: string;
}

export interface Source {
  readonly label: string;
  readonly members: ReadonlyMap<string, Member>;
}

const BLOCK = 512;

/** Reads every header of an uncompressed tar file; throws TarError on anything irregular (fail closed). */
export function indexTar(file: string): Source {
  const fd = openSync(file, 'r');
  const members = new Map<string, Member>();
  try {
    const size = statSync(file).size;
    const block = Buffer.alloc(BLOCK);
    let pos = 0;
    let pax = new Map<string, string>();
    let longName: string | undefined;
    let longLink: string | undefined;
    let zeros = 0;
    const read = (at: number, len: number): Buffer => {
      const buf = Buffer.alloc(len);
      if (readSync(fd, buf, 0, len, at) !== len) throw new TarError(`archive truncated at byte ${at}`);
      return buf;
    };
    for (;;) {
      if (pos + BLOCK > size) throw new TarError('archive truncated: no end-of-archive marker');
      if (readSync(fd, block, 0, BLOCK, pos) !== BLOCK) throw new TarError(`archive truncated at byte ${pos}`);
      pos += BLOCK;
      if (isZero(block)) {
        if (++zeros === 2) break;
        continue;
      }
      if (zeros) throw new TarError('a single zero block inside the archive');
      const magic = block.toString('latin1', 257, 263);
      const at = `byte ${pos - BLOCK} (${quoteName(headerName(block))})`;
      if (magic !== 'ustar\0' && magic !== 'ustar ') throw new TarError(`not a tar header at ${at}`);
      if (!checksumOk(block)) throw new TarError(`bad tar header checksum at ${at}`);
      const flag = String.fromCharCode(block[156]!);
      let len = headerSize(block, at);
      const padded = len + ((BLOCK - (len % BLOCK)) % BLOCK);
      if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
        if (len > 1024 * 1024) throw new TarError(`invalid tar header at ${at}: a metadata record over 1 MiB`);
        const body = read(pos, len);
        if (flag === 'x') pax = parsePax(body, at);
        else if (flag === 'L') longName = cstring(body, 0, body.length);
        else if (flag === 'K') longLink = cstring(body, 0, body.length);
        pos += padded;
        continue;
      }
      const type = TYPES[flag];
      if (!type) throw new TarError(`unsupported entry type '${flag.replace(/[^\x20-\x7e]/g, '?')}' at ${at}`);
      let name = cstring(block, 0, 100);
      if (magic === 'ustar\0') {
        const prefix = cstring(block, 345, 155);
        if (prefix) name = `${prefix}/${name}`;
      }
      name = pax.get('path') ?? longName ?? name;
      const link = pax.get('linkpath') ?? longLink ?? cstring(block, 157, 100);
      if (pax.has('size')) len = paxSize(pax.get('size')!, `byte ${pos - BLOCK} (${quoteName(name)})`);
      const start = pos;
      pos += len + ((BLOCK - (len % BLOCK)) % BLOCK);
      if (pos > size) throw new TarError(`archive truncated inside ${quoteName(name)}`);
      pax = new Map();
      longName = undefined;
      longLink = undefined;
      const norm = normalizePath(name);
      const mtype = type === 'file' || type === 'symlink' || type === 'hardlink' || type === 'dir' ? type : 'other';
      if (members.has(norm) && mtype !== 'dir') throw new TarError(`archive member '${norm}' appears twice`);
      members.set(norm, { name: norm, type: mtype, blob: { file, start, size: len }, ...present({ link }) });
    }
    // Only zero padding may follow the end marker.
    const rest = size - pos;
    if (rest > 0) {
      const tail = read(pos, Math.min(rest, 1024 * 1024));
      if (rest > 1024 * 1024 || !isZero(tail)) throw new TarError(`${rest} bytes after the archive's end marker`);
    }
  } finally {
    closeSync(fd);
  }
  return { label: file, members };
}

/** Lists a directory the same way (an OCI layout or an extracted docker save). Symlinks are not followed. */
export function indexDirectory(dir: string): Source {
  const members = new Map<string, Member>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(dir, path);
      const st: Stats = lstatSync(full);
      if (st.isDirectory()) {
        members.set(path, { name: path, type: 'dir', blob: { file: full, start: 0, size: 0 } });
        walk(path);
      } else if (st.isSymbolicLink()) {
        members.set(path, {
          name: path,
          type: 'symlink',
          blob: { file: full, start: 0, size: 0 },
          link: readlinkSync(full),
        });
      } else if (st.isFile()) {
        members.set(path, { name: path, type: 'file', blob: { file: full, start: 0, size: st.size } });
      } else {
        members.set(path, { name: path, type: 'other', blob: { file: full, start: 0, size: 0 } });
      }
    }
  };
  walk('');
  return { label: dir, members };
}

/** Follows symlinks and hard links between members (docker save's `layer.tar -> ../<id>/layer.tar`). */
export function resolveMember(source: Source, name: string): Member | undefined {
  let current = normalizePath(name);
  for (let hops = 0; hops < 16; hops++) {
    const m = source.members.get(current);
    if (!m) return undefined;
    if (m.type === 'file') return m;
    if (m.type === 'hardlink' && m.link) current = normalizePath(m.link);
    else if (m.type === 'symlink' && m.link)
      current = normalizePath(m.link.startsWith('/') ? m.link : posix.join(posix.dirname(current), m.link));
    else return undefined;
  }
  return undefined;
}

/**
 * Metadata (index, manifests, configs) is read whole and parsed: at most this much, so that parsing stays within the
 * check's memory bound (a 16 MiB JSON document parses in about 100 MB; real configs are well under 1 MiB).
 */
export const MAX_METADATA_BYTES = 16 * 1024 * 1024;

export function readMember(m: Member, max = MAX_METADATA_BYTES): Buffer {
  if (m.blob.size > max)
    throw new Error(`'${m.name}' is ${m.blob.size} bytes, over the ${max}-byte bound for metadata`);
  if (m.blob.kind === 'bytes') return Buffer.from(m.blob.bytes.buffer, m.blob.bytes.byteOffset, m.blob.size);
  // Registry sources fetch every blob they read whole before planning (registry/pull.ts): this is a bug guard.
  if (m.blob.kind === 'registry')
    throw new Error(`'${m.name}' is a registry blob read as metadata before it was fetched`);
  const fd = openSync(m.blob.file, 'r');
  try {
    const buf = Buffer.alloc(m.blob.size);
    const n = readSync(fd, buf, 0, buf.length, m.blob.start);
    if (n !== buf.length) throw new Error(`'${m.name}' is truncated`);
    return buf;
  } finally {
    closeSync(fd);
  }
}
