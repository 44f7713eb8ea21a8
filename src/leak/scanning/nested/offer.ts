import { renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Matcher } from '../matcher.js';
import type { FileHit, LayerResult, ScanLimits } from '../../types.js';
import { Budget } from './budget.js';
import { NESTED, openNested, type NestedJob, type ScanContext } from './scan.js';
import { TempDir } from './spool.js';

/**
 * A big archive found in a layer, handed to whichever layer worker is free. Layers are the natural unit of
 * parallel work, but their cost is not their size: one layer of a JDK holds 70 jmods and a 50 MB src.zip, and
 * opening them took longer than decompressing any other layer, on one core while the other sat idle. Archives
 * that were spilled to a temporary file (they are big) are moved into a directory shared by the check and opened
 * by the next free worker; their findings are merged back into the layer's result in the order they were found.
 */
export interface OfferedContainer {
  readonly layerId: string;
  /** Position among the layer's offers: results are merged in this order, whoever finished first. */
  readonly seq: number;
  readonly job: NestedJob;
  /** The layer's nested-bytes counter: the archive's bytes count against its layer's budget wherever it is opened. */
  readonly layerNested: BigInt64Array<SharedArrayBuffer>;
}

/** What opening an offered archive adds to its layer's result. */
export type ContainerResult = { readonly layerId: string; readonly seq: number } & Pick<
  LayerResult,
  'hits' | 'unreadable' | 'notLookedInside' | 'nestedFiles'
>;

/** Whether a container found at the top of a layer is worth handing over (spilled to a file: big, and movable). */
export function isOfferable(job: NestedJob): boolean {
  return job.depth === 0 && job.spooled.kind === 'file';
}

/** The container with its temporary file moved to `dir` (the layer's own temporary directory is removed with it). */
export function handOver(job: NestedJob, dir: string, name: string): NestedJob {
  if (job.spooled.kind !== 'file') return job;
  const file = join(dir, name);
  renameSync(job.spooled.file, file);
  return { ...job, spooled: { ...job.spooled, file } };
}

/** Opens one offered container (never throws for what is inside it: that is recorded, as for any container). */
export async function openOffered(
  offer: OfferedContainer,
  matcher: Matcher,
  limits: ScanLimits,
  totals: BigInt64Array<SharedArrayBuffer>,
): Promise<ContainerResult> {
  const temp = new TempDir();
  const ctx: ScanContext = {
    matcher,
    limits,
    budget: new Budget(limits, totals, offer.layerNested),
    temp,
    hits: [],
    unreadable: [],
    notLookedInside: [],
    nestedFiles: 0,
  };
  try {
    await openNested(ctx, offer.job);
  } finally {
    temp.remove();
  }
  return {
    layerId: offer.layerId,
    seq: offer.seq,
    hits: ctx.hits,
    unreadable: ctx.unreadable,
    notLookedInside: ctx.notLookedInside,
    nestedFiles: ctx.nestedFiles,
  };
}

/** Files reached by hard links carry the hits of the file they link to (and of what is inside it). */
export function hitsThroughHardlinks(
  hits: readonly FileHit[],
  hardlinks: readonly (readonly [string, string])[],
): FileHit[] {
  const links = hardlinks.filter(([, link]) => link);
  if (!links.length || !hits.length) return [];
  const byOuter = new Map<string, FileHit[]>();
  for (const hit of hits) {
    const cut = hit.path.indexOf(NESTED);
    const outer = cut === -1 ? hit.path : hit.path.slice(0, cut);
    byOuter.set(outer, [...(byOuter.get(outer) ?? []), hit]);
  }
  const out: FileHit[] = [];
  for (const [path, link] of links)
    for (const hit of byOuter.get(link) ?? []) out.push({ ...hit, path: path + hit.path.slice(link.length) });
  return out;
}
