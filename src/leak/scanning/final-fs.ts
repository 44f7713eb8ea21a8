import { posix } from 'node:path';
import type { EntryType, LayerIndex } from '../types.js';
import { defined } from '../../lang/present.js';

/**
 * The final file system of an image, as far as the leak check asks about it: which layer the visible version of a
 * path comes from, and where a path leads once symlinks are followed. OCI whiteout rules (image-spec layer.md):
 * `.wh.<name>` deletes a lower path, `.wh..wh..opq` hides every lower child of its directory, and neither hides
 * files of its own layer; a non-directory in a higher layer replaces a lower directory and all under it.
 *
 * Memory must not grow with the number of files beyond a few bytes each (issue 5: peak RSS < 256 MB whatever the
 * image). So a layer is kept as a `LayerIndex`: sorted 64-bit hashes of its paths (~8 bytes a file), plus the short
 * lists that carry meaning (whiteouts, opaque directories, symlinks, hard links, device nodes) as strings. Queries
 * walk the layers top-down instead of materialising a tree.
 *
 * Hash collisions (about n / 2^64 per lookup) can only make a path look present in a layer where it is not. The
 * findings themselves never depend on it — every match in every layer is reported; a collision could at worst
 * label a visible match 'lower-layer' or make a pointer's target look present.
 */

// cyrb53 (bryc, public domain: github.com/bryc/code/blob/master/jshash/experimental/cyrb53.js), both 32-bit lanes
// kept, so 64 bits. Written to module scratch so that indexing a million paths allocates nothing per path.
let lo = 0;
let hi = 0;
function hash(path: string): void {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  lo = h1 >>> 0;
  hi = h2 >>> 0;
}

export function pathHash(path: string): bigint {
  hash(path);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** A growable list of path hashes, two little-endian 32-bit words each so the buffer reads as a BigUint64Array. */
class HashList {
  private words = new Uint32Array(2048);
  private n = 0;

  push(path: string): void {
    if (2 * this.n + 2 > this.words.length) {
      const bigger = new Uint32Array(this.words.length * 2);
      bigger.set(this.words);
      this.words = bigger;
    }
    hash(path);
    this.words[2 * this.n] = lo;
    this.words[2 * this.n + 1] = hi;
    this.n++;
  }

  /** Sorted and distinct, in a buffer of its own (so it can be transferred between threads). */
  finish(): BigUint64Array<ArrayBuffer> {
    const all = new BigUint64Array(this.words.buffer, 0, this.n).sort();
    let m = 0;
    for (let i = 0; i < all.length; i++) if (m === 0 || all[i] !== all[m - 1]) all[m++] = all[i]!;
    this.words = new Uint32Array(0);
    return all.slice(0, m);
  }
}

const OPAQUE = '.wh..wh..opq';
const WHITEOUT = '.wh.';

/** Builds one layer's `LayerIndex` from its tar entries (paths normalised, without a leading '/'). */
export class LayerIndexBuilder {
  private readonly dirs = new HashList();
  private readonly nondirs = new HashList();
  private readonly whiteouts: string[] = [];
  private readonly opaques: string[] = [];
  private readonly symlinks: [string, string][] = [];
  readonly hardlinks: [string, string][] = [];
  private readonly others: string[] = [];
  private lastParent = '';

  add(path: string, type: EntryType, link?: string): void {
    if (path === '') return;
    const cut = path.lastIndexOf('/');
    const parent = cut === -1 ? '' : path.slice(0, cut);
    const base = path.slice(cut + 1);
    if (base.startsWith(WHITEOUT)) {
      if (base === OPAQUE) this.opaques.push(parent);
      else this.whiteouts.push(parent ? `${parent}/${base.slice(WHITEOUT.length)}` : base.slice(WHITEOUT.length));
      return;
    }
    // A tar need not list the directories it fills: each ancestor exists in this layer too. Entries come grouped
    // by directory, so ancestors are indexed only when the parent changes (duplicates go in finish()).
    if (parent !== this.lastParent) {
      this.lastParent = parent;
      for (let dir = parent; dir !== ''; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/')))) this.dirs.push(dir);
    }
    if (type === 'dir') {
      this.dirs.push(path);
      return;
    }
    this.nondirs.push(path);
    if (type === 'symlink') this.symlinks.push([path, link ?? '']);
    else if (type === 'hardlink') this.hardlinks.push([path, link ?? '']);
    else if (type === 'other') this.others.push(path);
  }

  finish(): LayerIndex {
    return {
      dirs: this.dirs.finish(),
      nondirs: this.nondirs.finish(),
      whiteouts: this.whiteouts,
      opaques: this.opaques,
      symlinks: this.symlinks,
      hardlinks: this.hardlinks,
      others: this.others,
    };
  }
}

export function emptyLayerIndex(): LayerIndex {
  return new LayerIndexBuilder().finish();
}

function contains(sorted: BigUint64Array, h: bigint): boolean {
  let a = 0;
  let b = sorted.length - 1;
  while (a <= b) {
    const mid = (a + b) >>> 1;
    const v = sorted[mid]!;
    if (v === h) return true;
    if (v < h) a = mid + 1;
    else b = mid - 1;
  }
  return false;
}

interface Layer {
  readonly dirs: BigUint64Array<ArrayBuffer>;
  readonly nondirs: BigUint64Array<ArrayBuffer>;
  readonly whiteouts: ReadonlySet<string>;
  readonly opaques: ReadonlySet<string>;
  readonly symlinks: ReadonlyMap<string, string>;
  readonly hardlinks: ReadonlyMap<string, string>;
  readonly others: ReadonlySet<string>;
}

interface Found {
  readonly layer: number;
  readonly type: EntryType;
  readonly link?: string;
}

export class FinalFs {
  private constructor(private readonly layers: readonly Layer[]) {}

  /** Layers bottom first, as in the manifest. */
  static build(layers: readonly LayerIndex[]): FinalFs {
    return new FinalFs(
      layers.map((l) => ({
        dirs: l.dirs,
        nondirs: l.nondirs,
        whiteouts: new Set(l.whiteouts),
        opaques: new Set(l.opaques),
        symlinks: new Map(l.symlinks),
        hardlinks: new Map(l.hardlinks),
        others: new Set(l.others),
      })),
    );
  }

  /**
   * The visible version of a normalised path, without following symlinks: the highest layer that has it, unless
   * a layer between hides it (a whiteout of it or of an ancestor, an opaque ancestor, or an ancestor that is not
   * a directory there).
   */
  private lookup(path: string): Found | undefined {
    const parts = path.split('/').filter(Boolean);
    if (parts.length === 0) return { layer: -1, type: 'dir' };
    const ancestors: string[] = [];
    for (let i = 1; i < parts.length; i++) ancestors.push(parts.slice(0, i).join('/'));
    const full = parts.join('/');
    const h = pathHash(full);
    const ancestorHashes = ancestors.map(pathHash);
    for (let index = this.layers.length - 1; index >= 0; index--) {
      const layer = this.layers[index]!;
      if (contains(layer.nondirs, h)) {
        const link = layer.symlinks.get(full) ?? layer.hardlinks.get(full);
        const type: EntryType = layer.symlinks.has(full)
          ? 'symlink'
          : layer.hardlinks.has(full)
            ? 'hardlink'
            : layer.others.has(full)
              ? 'other'
              : 'file';
        return { layer: index, type, ...defined({ link }) };
      }
      if (contains(layer.dirs, h)) return { layer: index, type: 'dir' };
      if (layer.whiteouts.has(full)) return undefined;
      for (let i = 0; i < ancestors.length; i++) {
        const a = ancestors[i]!;
        if (layer.whiteouts.has(a) || layer.opaques.has(a) || contains(layer.nondirs, ancestorHashes[i]!))
          return undefined;
      }
    }
    return undefined;
  }

  /** Which layer the visible version of `path` comes from (no symlink following), or undefined if it is gone. */
  layerOf(path: string): number | undefined {
    const n = this.lookup(path);
    return n && n.layer >= 0 ? n.layer : undefined;
  }

  /**
   * Resolves an absolute path in the image, following symlinks in every component as the kernel would.
   * Returns the final path and its node, or undefined when it does not exist.
   */
  resolve(path: string, cwd = '/'): { path: string; layer: number; type: EntryType } | undefined {
    const start = path.startsWith('/') ? path : posix.join(cwd, path);
    let pending = start.split('/').filter(Boolean);
    let resolved: string[] = [];
    let hops = 0;
    while (pending.length) {
      const part = pending.shift()!;
      if (part === '.') continue;
      if (part === '..') {
        resolved.pop();
        continue;
      }
      const candidate = [...resolved, part];
      const node = this.lookup(candidate.join('/'));
      if (!node) return undefined;
      if (node.type === 'symlink' && node.link !== undefined) {
        if (++hops > 40) return undefined;
        const target = node.link.split('/').filter(Boolean);
        if (node.link.startsWith('/')) resolved = [];
        pending = [...target, ...pending];
        continue;
      }
      resolved = candidate;
    }
    const node = this.lookup(resolved.join('/'));
    if (!node) return undefined;
    return { path: `/${resolved.join('/')}`, layer: node.layer, type: node.type };
  }

  /** Names of the visible symlinks directly inside a directory (given resolved, absolute or not). */
  symlinksIn(dir: string): string[] {
    const prefix = dir.split('/').filter(Boolean).join('/');
    const names = new Set<string>();
    this.layers.forEach((layer, index) => {
      for (const path of layer.symlinks.keys()) {
        const cut = path.lastIndexOf('/');
        if ((cut === -1 ? '' : path.slice(0, cut)) !== prefix) continue;
        const found = this.lookup(path);
        if (found?.layer === index && found.type === 'symlink') names.add(path.slice(cut + 1));
      }
    });
    return [...names];
  }
}
