import { posix } from 'node:path';
import type { EntryType, LayerEntry } from './types.js';

/**
 * The final file system of an image, rebuilt from the entry lists of its layers with OCI whiteout rules
 * (image-spec layer.md): `.wh.<name>` deletes a lower path, `.wh..wh..opq` hides every lower child of its
 * directory, and neither hides files of its own layer. Only names and types are kept, never content.
 */
interface Node {
  layer: number;
  type: EntryType;
  link?: string;
  children?: Map<string, Node>;
}

const OPAQUE = '.wh..wh..opq';
const WHITEOUT = '.wh.';

export class FinalFs {
  private readonly root: Node = { layer: -1, type: 'dir', children: new Map() };

  static build(layers: readonly (readonly LayerEntry[])[]): FinalFs {
    const fs = new FinalFs();
    layers.forEach((entries, index) => fs.apply(entries, index));
    return fs;
  }

  private apply(entries: readonly LayerEntry[], layer: number): void {
    // Whiteouts first, against lower layers only; then this layer's own entries.
    for (const e of entries) {
      const base = posix.basename(e.path);
      if (!base.startsWith(WHITEOUT)) continue;
      const dir = posix.dirname(e.path);
      const parent = this.lookup(dir === '.' ? '' : dir);
      if (!parent?.children) continue;
      if (base === OPAQUE) {
        for (const [name, child] of parent.children) if (child.layer < layer) parent.children.delete(name);
      } else {
        parent.children.delete(base.slice(WHITEOUT.length));
      }
    }
    for (const e of entries) {
      if (posix.basename(e.path).startsWith(WHITEOUT) || e.path === '') continue;
      const parts = e.path.split('/');
      let node = this.root;
      for (const part of parts.slice(0, -1)) {
        node.children ??= new Map();
        let next = node.children.get(part);
        if (!next || next.type !== 'dir') {
          next = { layer, type: 'dir', children: new Map() };
          node.children.set(part, next);
        }
        node = next;
      }
      node.children ??= new Map();
      const name = parts[parts.length - 1]!;
      const existing = node.children.get(name);
      if (e.type === 'dir' && existing?.type === 'dir') {
        existing.layer = layer;
        continue;
      }
      node.children.set(name, { layer, type: e.type, ...(e.link !== undefined ? { link: e.link } : {}), ...(e.type === 'dir' ? { children: new Map() } : {}) });
    }
  }

  private lookup(path: string): Node | undefined {
    let node: Node | undefined = this.root;
    for (const part of path.split('/').filter(Boolean)) {
      node = node?.children?.get(part);
      if (!node) return undefined;
    }
    return node;
  }

  /** Which layer the visible version of `path` comes from (no symlink following), or undefined if it is gone. */
  layerOf(path: string): number | undefined {
    const n = this.lookup(path);
    return n && n !== this.root ? n.layer : undefined;
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

  /** Visible children of a directory (names only). */
  list(path: string): string[] {
    return [...(this.lookup(path.replace(/^\/+/, ''))?.children?.keys() ?? [])];
  }
}
