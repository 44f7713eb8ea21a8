/**
 * git packfiles (gitformat-pack(5)), read object by object: each object is a zlib stream after a type-and-size
 * header, and a delta (OFS_DELTA by offset, REF_DELTA by object name) is applied to its base, so a CA committed and
 * later changed is found whole even when the pack stores it as a delta. A repository copied into an image with its
 * `.git` ships every object it ever committed. Pure: bytes in, objects out; the caller bounds and scans them.
 */
import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { isGitPackHead } from '../../sniff.js';
import { defined } from '../../../lang/present.js';

const TYPES = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' } as const;
const OFS_DELTA = 6;
const REF_DELTA = 7;

export type GitObjectType = (typeof TYPES)[keyof typeof TYPES];

export interface GitObject {
  /** The object's name: SHA-1 (or SHA-256, for a repository of that format) of `<type> <size>\0<content>`. */
  readonly oid: string;
  readonly type: GitObjectType;
  readonly data: Buffer;
}

export interface GitPack {
  readonly objects: GitObject[];
  /** Deltas whose base is not in this pack (a thin pack): their content could not be rebuilt. */
  readonly missingBases: string[];
}

/** Packs bigger than this are not read (they are read whole, to follow deltas back): listed as not looked inside. */
export const MAX_GIT_PACK_BYTES = 64 * 1024 ** 2;
/**
 * The objects of one pack are kept in memory while deltas are resolved: at most this much of them, so that a hostile
 * delta declaring a huge result, on top of the pack itself, stays within the check's memory bound.
 */
export const MAX_GIT_OBJECT_BYTES = 64 * 1024 ** 2;

interface Entry {
  readonly offset: number;
  readonly type: number;
  readonly data: Buffer;
  /** For OFS_DELTA: the base's offset; for REF_DELTA: the base's name. */
  readonly base?: number | string;
}

/**
 * Reads every object of a pack. `charge` is told each inflated object's size before it is kept (the caller's budget
 * throws to stop); `objectHash` is 'sha1' unless the repository uses SHA-256 (then REF_DELTA names are 32 bytes).
 */
export function readGitPack(
  pack: Buffer,
  charge: (bytes: number) => void,
  objectHash: 'sha1' | 'sha256' = 'sha1',
): GitPack {
  if (!isGitPackHead(pack)) throw new Error('not a git pack: no PACK header of version 2 or 3');
  const count = pack.readUInt32BE(8);
  const nameLength = objectHash === 'sha1' ? 20 : 32;
  const entries: Entry[] = [];
  let at = 12;
  for (let i = 0; i < count; i++) {
    const offset = at;
    if (at >= pack.length) throw new Error(`git pack is truncated: object ${i} of ${count} is missing`);
    let byte = pack[at++]!;
    const type = (byte >> 4) & 7;
    let size = byte & 15;
    for (let shift = 4; byte & 0x80; shift += 7) {
      byte = pack[at++]!;
      size += (byte & 0x7f) * 2 ** shift;
    }
    let base: number | string | undefined;
    if (type === OFS_DELTA) {
      byte = pack[at++]!;
      let back = byte & 0x7f;
      while (byte & 0x80) {
        byte = pack[at++]!;
        back = (back + 1) * 128 + (byte & 0x7f);
      }
      base = offset - back;
    } else if (type === REF_DELTA) {
      base = pack.toString('hex', at, at + nameLength);
      at += nameLength;
    } else if (!(type in TYPES)) {
      throw new Error(`git pack object ${i} at byte ${offset} has an unknown type ${type}`);
    }
    charge(size);
    const { buffer: data, engine } = inflateObject(pack.subarray(at), size);
    if (data.length !== size)
      throw new Error(
        `git pack object ${i} at byte ${offset} inflates to ${data.length} bytes, not the ${size} its header says`,
      );
    at += engine.bytesWritten;
    entries.push({ offset, type, data, ...defined({ base }) });
  }
  return resolve(entries, charge, objectHash);
}

/**
 * One object's zlib stream, which ends where the next object begins: with `info`, Node hands back the engine, whose
 * bytesWritten is the input the stream used (the typings do not list that overload).
 */
function inflateObject(from: Buffer, size: number): { buffer: Buffer; engine: { bytesWritten: number } } {
  const inflate = inflateSync as unknown as (
    input: Buffer,
    options: { info: true; maxOutputLength: number },
  ) => { buffer: Buffer; engine: { bytesWritten: number } };
  return inflate(from, { info: true, maxOutputLength: Math.max(size, 1) });
}

/** Applies the deltas, bases first: an OFS base precedes its delta; a REF base may come anywhere in the pack. */
function resolve(entries: readonly Entry[], charge: (bytes: number) => void, objectHash: 'sha1' | 'sha256'): GitPack {
  const byOffset = new Map<number, { type: GitObjectType; data: Buffer }>();
  const byName = new Map<string, { type: GitObjectType; data: Buffer }>();
  const objects: GitObject[] = [];
  const keep = (offset: number, type: GitObjectType, data: Buffer): void => {
    const oid = createHash(objectHash).update(`${type} ${data.length}\0`).update(data).digest('hex');
    const object = { type, data };
    byOffset.set(offset, object);
    byName.set(oid, object);
    objects.push({ oid, type, data });
  };
  let waiting = [...entries];
  while (waiting.length) {
    const next: Entry[] = [];
    for (const e of waiting) {
      if (e.base === undefined) {
        keep(e.offset, TYPES[e.type as keyof typeof TYPES], e.data);
        continue;
      }
      const base = typeof e.base === 'number' ? byOffset.get(e.base) : byName.get(e.base);
      if (!base) {
        next.push(e);
        continue;
      }
      keep(e.offset, base.type, applyDelta(base.data, e.data, charge));
    }
    if (next.length === waiting.length) {
      const missingBases = next.map((e) => (typeof e.base === 'number' ? `offset ${e.base}` : String(e.base)));
      return { objects, missingBases };
    }
    waiting = next;
  }
  return { objects, missingBases: [] };
}

function varint(delta: Buffer, at: { i: number }): number {
  let value = 0;
  let byte: number;
  let shift = 0;
  do {
    byte = delta[at.i++]!;
    value += (byte & 0x7f) * 2 ** shift;
    shift += 7;
  } while (byte & 0x80);
  return value;
}

/** A delta: the base's size, the result's size, then copy (from the base) and insert (literal) instructions. */
export function applyDelta(base: Buffer, delta: Buffer, charge: (bytes: number) => void): Buffer {
  const at = { i: 0 };
  const baseSize = varint(delta, at);
  if (baseSize !== base.length) throw new Error(`git delta expects a base of ${baseSize} bytes, not ${base.length}`);
  const size = varint(delta, at);
  charge(size);
  const out = Buffer.alloc(size);
  let written = 0;
  while (at.i < delta.length) {
    const op = delta[at.i++]!;
    if (op & 0x80) {
      let offset = 0;
      let length = 0;
      for (let b = 0; b < 4; b++) if (op & (1 << b)) offset += delta[at.i++]! * 2 ** (8 * b);
      for (let b = 0; b < 3; b++) if (op & (1 << (4 + b))) length += delta[at.i++]! * 2 ** (8 * b);
      if (length === 0) length = 0x10000;
      if (offset + length > base.length || written + length > size)
        throw new Error('git delta copies beyond its base or result');
      base.copy(out, written, offset, offset + length);
      written += length;
    } else if (op !== 0) {
      if (written + op > size || at.i + op > delta.length) throw new Error('git delta inserts beyond its result');
      delta.copy(out, written, at.i, at.i + op);
      at.i += op;
      written += op;
    } else {
      throw new Error('git delta has a reserved instruction 0');
    }
  }
  if (written !== size) throw new Error(`git delta builds ${written} bytes, not the ${size} it declares`);
  return out;
}
