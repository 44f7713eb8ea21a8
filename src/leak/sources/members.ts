import { sniff } from '../sniff.js';
import type { LayerJob } from '../types.js';
import { present } from '../../lang/present.js';
import { readMember, type Source } from './archive.js';
import { digestOfMember, type Plan } from './image.js';

/**
 * Every regular member is scanned once: as a layer when a manifest says so or its bytes are a tar stream (an
 * unreferenced blob still ships), else as content (configs, manifests, attestations, legacy json).
 */
export function layerJobsOf(source: Source, plan: Plan): { jobs: LayerJob[]; contentMembers: string[] } {
  const jobs: LayerJob[] = [];
  const contentMembers: string[] = [];
  for (const m of source.members.values()) {
    if (m.type !== 'file') continue;
    const planned = plan.layerMembers.get(m.name);
    const digest = planned?.digest ?? digestOfMember(m);
    if (planned) {
      jobs.push({ id: m.name, blob: m.blob, where: m.name, ...present({ mediaType: planned.mediaType, digest }) });
      continue;
    }
    const kind = sniff(readMember({ ...m, blob: { ...m.blob, size: Math.min(m.blob.size, 1024) } }));
    if (kind === 'gzip' || kind === 'zstd' || (kind === 'none' && m.blob.size >= 1024))
      jobs.push({ id: m.name, blob: m.blob, where: m.name, ...present({ digest }) });
    else contentMembers.push(m.name);
  }
  return { jobs, contentMembers };
}
