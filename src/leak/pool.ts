import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { buildMatcher } from './matcher.js';
import { emptyLayerIndex } from './filesystem.js';
import { scanLayer } from './layer.js';
import { Budget, newTotals } from './nested/budget.js';
import type { LayerJob, LayerResult, ScanLimits, TargetSpec } from './types.js';

/**
 * Layers are scanned in parallel on worker_threads, one layer per worker at a time. The worker is the leak-check
 * bundle itself (dist/leak-check/index.js, which starts as a worker when it is not the main thread), so both the
 * CLI bundle and the action find it at `../leak-check/index.js`. From sources (tests) there is no bundle: layers
 * then run in this thread, still overlapping their decompression on libuv's pool.
 */
interface WorkerInit {
  readonly orgCaLeakWorker: true;
  readonly spec: TargetSpec;
  readonly limits: ScanLimits;
  /** The check's running totals, shared by every thread (see nested/budget.ts). */
  readonly totals: BigInt64Array<SharedArrayBuffer>;
}

export function workerScript(): string | undefined {
  try {
    // Built at run time so that ncc does not take it for a module to bundle.
    const parts = ['..', 'leak-check', ['index', 'js'].join('.')];
    const candidate = join(dirname(fileURLToPath(import.meta.url)), ...parts);
    return existsSync(candidate) ? candidate : undefined;
  } catch {
    return undefined;
  }
}

export function isLeakWorker(): boolean {
  return !isMainThread && (workerData as Partial<WorkerInit> | undefined)?.orgCaLeakWorker === true;
}

/** The worker side: one matcher, then one layer per message. */
export function serveWorker(): void {
  const init = workerData as WorkerInit;
  const matcher = buildMatcher(init.spec);
  parentPort!.on('message', (job: LayerJob) => {
    // The path-hash arrays are moved, not copied: a copy would briefly double the biggest part of a result.
    void scanLayer(job, matcher, init.limits, new Budget(init.limits, init.totals)).then((result) => parentPort!.postMessage(result, [result.index.dirs.buffer, result.index.nondirs.buffer]));
  });
}

export async function runLayerJobs(
  jobs: readonly LayerJob[],
  spec: TargetSpec,
  limits: ScanLimits,
  parallel = availableParallelism(),
  totals: BigInt64Array<SharedArrayBuffer> = newTotals(),
): Promise<LayerResult[]> {
  // Biggest first, so one large layer does not start last and finish alone.
  const queue = [...jobs].sort((a, b) => b.blob.size - a.blob.size);
  const results = new Map<string, LayerResult>();
  const script = workerScript();
  const width = Math.max(1, Math.min(parallel, queue.length));
  if (!script || width === 1) {
    const matcher = buildMatcher(spec);
    const lanes = Array.from({ length: Math.min(width, 2) }, async () => {
      for (let job = queue.shift(); job; job = queue.shift()) results.set(job.id, await scanLayer(job, matcher, limits, new Budget(limits, totals)));
    });
    await Promise.all(lanes);
  } else {
    const init: WorkerInit = { orgCaLeakWorker: true, spec, limits, totals };
    const lanes = Array.from({ length: width }, () =>
      new Promise<void>((resolve, reject) => {
        // A worker's heap holds one window per file and a few buffers; capping it keeps the whole process bounded.
        const worker = new Worker(script, { workerData: init, resourceLimits: { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 } });
        let current: LayerJob | undefined;
        const next = (): void => {
          current = queue.shift();
          if (!current) {
            void worker.terminate().then(() => resolve());
            return;
          }
          worker.postMessage(current);
        };
        worker.on('message', (result: LayerResult) => {
          results.set(result.id, result);
          next();
        });
        worker.on('error', (error: Error) => {
          if (current) results.set(current.id, failed(current, `worker failed: ${error.message}`));
          reject(error);
        });
        next();
      }),
    );
    await Promise.all(lanes);
  }
  return jobs.map((job) => results.get(job.id) ?? failed(job, 'not scanned'));
}

function failed(job: LayerJob, error: string): LayerResult {
  return { id: job.id, error, compression: 'unknown', digest: '', diffId: '', bytes: 0, files: 0, index: emptyLayerIndex(), hits: [], unreadable: [], notLookedInside: [], nestedFiles: 0, captured: [] };
}
