import { createReadStream, lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { LayerAccumulator } from './layer.js';
import type { Matcher } from './matcher.js';
import { Budget } from './nested/budget.js';
import type { LayerResult, ScanLimits } from '../types.js';
import { present } from '../../lang/present.js';

/**
 * A plain root file system (`rootfs:DIR`): walked without following symlinks, each regular file streamed through
 * the same per-file scan as a layer's tar entries, archives and compressed files opened the same way.
 */
export async function scanDirectory(
  id: string,
  root: string,
  matcher: Matcher,
  limits: ScanLimits,
  budget: Budget = new Budget(limits),
): Promise<LayerResult> {
  const acc = new LayerAccumulator(matcher, limits, budget);
  let bytes = 0;
  const unreadable: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    let names: string[];
    try {
      names = readdirSync(join(root, rel)).sort();
    } catch (error) {
      unreadable.push(`${rel || '.'}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      return;
    }
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(root, path);
      const st = lstatSync(full);
      if (st.isDirectory()) {
        acc.entry(path, 'dir', 0);
        await walk(path);
      } else if (st.isSymbolicLink()) {
        acc.entry(path, 'symlink', 0, readlinkSync(full));
      } else if (st.isFile()) {
        acc.entry(path, 'file', st.size);
        try {
          for await (const chunk of createReadStream(full, { highWaterMark: 1024 * 1024 })) {
            bytes += (chunk as Buffer).length;
            acc.data(chunk as Buffer);
          }
        } catch (error) {
          unreadable.push(`${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
        }
        acc.entryEnd();
        await acc.drain();
      } else {
        acc.entry(path, 'other', 0);
      }
    }
  };
  let error: string | undefined;
  try {
    await walk('');
  } catch (e) {
    error = e instanceof Error ? e.message : String(e);
  } finally {
    acc.close();
  }
  if (unreadable.length && !error) error = `could not read ${unreadable.length} path(s), e.g. ${unreadable[0]}`;
  return acc.result({ id, ...present({ error }), compression: 'none', digest: '', diffId: '', bytes, blobHits: [] });
}
