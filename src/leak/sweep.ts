/**
 * A run over many images (several IMAGE arguments, `--images FILE`, every tag of a repository), and the share of one
 * shard of it (fanout/). Images are taken in batches: a batch's images are listed together (their manifests and
 * configs fetched a few at a time), then every distinct layer of the batch not judged before is read in one pool of
 * workers, then each image's report is composed. So a layer many images share is read once, the workers stay busy
 * across images, and the cost follows the distinct layers, not the images. Memory is bounded by the batch.
 */
import {
  checkLimits,
  composeReport,
  describeInput,
  diskCache,
  listInput,
  readInput,
  spillBoundFor,
  type CheckOptions,
  type InputPart,
  type ListedInput,
} from './check.js';
import { present } from '../lang/present.js';
import { RunVerdicts } from './layer-cache.js';
import { inTurns } from '../lang/in-turns.js';
import { failureReport, safeMessage, verdictOf } from './reporting/report.js';
import { newTotals } from './scanning/nested/budget.js';
import { runLayerJobs } from './scanning/pool.js';
import { openBlob } from './sources/blob.js';
import {
  isRepositoryReference,
  listRepositoryTags,
  pemOf,
  RegistryError,
  RegistryRunMemo,
} from './sources/registry/index.js';
import {
  DEFAULT_LIMITS,
  type LayerJob,
  type LayerResult,
  type Report,
  type Subject,
  type SweepReport,
  type Verdict,
} from './types.js';

/** Images listed and read together: enough to keep the workers busy, few enough that their metadata stays small. */
const BATCH = 32;
/** Manifests and configs fetched at once while a batch is listed. */
export const LISTING_CONCURRENCY = 8;

/** The options of a run over several images: one check's, less the image. */
export type SweepOptions = Omit<CheckOptions, 'image'>;

/** The images a run names, in order, once each: `registry:HOST/REPO` with no tag becomes every tag of it. */
export async function expandImages(
  images: readonly string[],
  options: Pick<CheckOptions, 'spec' | 'registry'>,
): Promise<string[]> {
  const expanded: string[] = [];
  for (const image of images) {
    if (!isRepositoryReference(image)) expanded.push(image);
    else {
      const base = image.replace(/^(registry:|docker:\/\/)/, 'registry:');
      for (const tag of await listRepositoryTags(image, pemOf(options.spec.certs), options.registry))
        expanded.push(`${base}:${tag}`);
    }
  }
  return [...new Set(expanded)];
}

/** A run's options with its memory of the registries it reads (tags listed, the referrers API), shared by its images. */
export function withRunMemo(options: SweepOptions): SweepOptions {
  return { ...options, registry: { ...options.registry, memo: new RegistryRunMemo() } };
}

/** A run's memory of the layers it read (and the disk cache behind it, when there is one). */
export async function runVerdicts(options: SweepOptions): Promise<RunVerdicts> {
  return new RunVerdicts(await diskCache(options.cacheDir, options.spec, { ...DEFAULT_LIMITS, ...options.limits }));
}

/** Which part of a run is read here: all of it, or one shard's share. */
export interface RunShare {
  /** The image at this place of the run's list has its own parts (config, manifests) read here. */
  ownsImage(position: number): boolean;
  /** The layer with this key is read here. */
  ownsLayer(key: string): boolean;
}

const WHOLE_RUN: RunShare = { ownsImage: () => true, ownsLayer: () => true };

/** What reading one image of a run gave. */
export type ImageRead =
  /** A finished report: an image that could not be opened (to every shard), or a root file system (to its owner). */
  | { readonly image: string; readonly position: number; readonly report: Report }
  | {
      readonly image: string;
      readonly position: number;
      readonly subjects: readonly Subject[];
      /** The owner's part; absent where another shard owns the image. */
      readonly part?: InputPart;
      /** Its layers that an earlier image of the run, or the cache, had judged. */
      readonly cachedLayers: number;
    };

/**
 * Reads the share of a run: for each batch, the images listed, their owned layers read once, then `each` called per
 * image in order with the results of the batch's layers by key.
 */
export async function readImages(
  images: readonly string[],
  options: SweepOptions,
  verdicts: RunVerdicts,
  each: (read: ImageRead, results: ReadonlyMap<string, LayerResult>) => void,
  share: RunShare = WHOLE_RUN,
  /** Inputs the caller listed already (by place), handed over: they are used instead of listing again, and closed. */
  listedBefore: ReadonlyMap<number, ListedInput> = new Map(),
): Promise<{ readonly layersRead: number }> {
  const limits = checkLimits(options);
  /** The place of the image whose reading first needed each layer. */
  const firstNeeded = new Map<string, number>();
  let layersRead = 0;
  for (let from = 0; from < images.length; from += BATCH) {
    const batch = images.slice(from, from + BATCH).map((image, i) => ({ image, position: from + i }));
    const listed = await inTurns(batch, LISTING_CONCURRENCY, async ({ image, position }) => {
      const before = listedBefore.get(position);
      if (before) return before;
      try {
        return await listInput({ ...options, image });
      } catch (error) {
        return safeMessage(error);
      }
    });
    try {
      const results = new Map<string, LayerResult>();
      const toRead: LayerJob[] = [];
      const jobOf = new Map<string, LayerJob>();
      const allJobs: LayerJob[] = [];
      for (const [i, l] of listed.entries()) {
        if (typeof l === 'string' || l.input.kind !== 'image') continue;
        l.jobs.forEach((job, j) => {
          const key = l.layers[j]!.key;
          allJobs.push(job);
          if (!share.ownsLayer(key) || results.has(key) || jobOf.has(key)) return;
          if (!firstNeeded.has(key)) firstNeeded.set(key, batch[i]!.position);
          const known = verdicts.get(job);
          if (known) results.set(key, known);
          else jobOf.set(key, job);
        });
      }
      // One id a layer across the batch: two inputs may name different layers alike (`layer.tar`).
      for (const [key, job] of jobOf) toRead.push({ ...job, id: key });
      const images = batch.length;
      const layerRun = runLayerJobs(
        toRead,
        options.spec,
        {
          ...limits,
          // The check-wide bounds hold per image, so a batch of images has the sum of theirs.
          maxImageBytes: limits.maxImageBytes * images,
          maxNestedImageBytes: limits.maxNestedImageBytes * images,
          maxSpillBytes: limits.spillGiven
            ? limits.maxSpillBytes * images
            : spillBoundFor(allJobs, limits.maxSpillBytes),
        },
        openBlob,
        options.parallel,
        newTotals(),
      );
      const reads: ImageRead[] = [];
      for (const [i, l] of listed.entries()) {
        const { image, position } = batch[i]!;
        const owns = share.ownsImage(position);
        if (typeof l === 'string') {
          reads.push({ image, position, report: failureReport(image, l) });
        } else if (l.input.kind !== 'image') {
          if (owns) reads.push({ image, position, report: await rootfsReport(l, options) });
        } else {
          const part = owns ? await describeInput(l, options) : undefined;
          const cachedLayers = l.layers.filter((x) => firstNeeded.get(x.key) !== position || !jobOf.has(x.key)).length;
          reads.push({ image, position, subjects: l.input.plan.subjects, cachedLayers, ...present({ part }) });
        }
      }
      for (const r of await layerRun) {
        verdicts.put(jobOf.get(r.id)!, r);
        results.set(r.id, r);
        layersRead++;
      }
      for (const read of reads) each(read, results);
    } finally {
      for (const l of listed) if (typeof l !== 'string') l.close();
    }
  }
  return { layersRead };
}

async function rootfsReport(listed: ListedInput, options: SweepOptions): Promise<Report> {
  const read = await readInput(listed, { ...options, image: listed.image });
  return 'report' in read ? read.report : failureReport(listed.image, 'not a root file system');
}

/**
 * Checks every image named (`registry:HOST/REPO` with no tag: every tag of the repository); a layer several images
 * share is read once. An image that cannot be checked is reported as unreadable and the rest are still checked.
 */
export async function checkImages(
  images: readonly string[],
  options: SweepOptions,
  strict = false,
): Promise<SweepReport> {
  const started = Date.now();
  options = withRunMemo(options);
  const verdicts = await runVerdicts(options);
  const reports: Report[] = [];
  const { layersRead } = await readImages(await expandImages(images, options), options, verdicts, (read, results) => {
    reports.push('report' in read ? read.report : imageReport(read.image, read.part!, results, read.cachedLayers));
  });
  return sweepOf(images, reports, strict, { layersRead, ms: Date.now() - started });
}

/** An image's report from its part and its layers' results; a registry layer that broke off makes it unreadable. */
export function imageReport(
  image: string,
  part: InputPart,
  results: ReadonlyMap<string, LayerResult>,
  cachedLayers: number,
): Report {
  try {
    return composeReport(part, (layer) => results.get(layer.key), cachedLayers);
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error;
    return failureReport(image, safeMessage(error));
  }
}

/** The reports of a run over several images as one: a verdict per image, and which images hold each layer. */
export function sweepOf(
  inputs: readonly string[],
  reports: readonly Report[],
  strict: boolean,
  work: { readonly layersRead: number; readonly ms: number },
): SweepReport {
  const layerImages = new Map<string, { images: string[]; verdict: Verdict }>();
  for (const report of reports) {
    for (const layer of report.layers ?? []) {
      const entry = layerImages.get(layer.digest) ?? { images: [], verdict: layer.verdict };
      entry.images.push(report.input);
      layerImages.set(layer.digest, entry);
    }
  }
  return {
    inputs,
    images: reports.map((report) => ({ image: report.input, verdict: verdictOf(report, strict), report })),
    layers: [...layerImages].map(([digest, e]) => ({ digest, verdict: e.verdict, images: e.images })),
    stats: { images: reports.length, layers: layerImages.size, ...work },
  };
}
