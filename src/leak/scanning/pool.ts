import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, threadId, Worker, workerData } from 'node:worker_threads';
import { buildMatcher } from './matcher.js';
import { emptyLayerIndex } from './final-fs.js';
import { scanLayer } from './layer.js';
import { Budget, newLayerCounter, newTotals } from './nested/budget.js';
import { spooledSize } from './nested/spool.js';
import {
  handOver,
  hitsThroughHardlinks,
  isOfferable,
  openOffered,
  type ContainerResult,
  type OfferedContainer,
} from './nested/offer.js';
import type { BlobOpener, LayerJob, LayerResult, ScanLimits, TargetSpec } from '../types.js';

/**
 * Layers are scanned in parallel on worker_threads, one layer per worker at a time; big archives found inside a
 * layer are offered back and opened by whichever worker is free (see nested/offer.ts), so that one layer full of
 * jars does not keep one core busy while the other waits. The worker is a bundle of its own,
 * dist/leak-worker/index.js (the scanner only: a worker's memory is most of the check's), found next to the CLI's
 * and the action's bundles. From sources (tests) there is no bundle: layers then run in this thread.
 */
interface WorkerInit {
  readonly orgCaLeakWorker: true;
  readonly spec: TargetSpec;
  readonly limits: ScanLimits;
  /** The check's running totals, shared by every thread (see nested/budget.ts). */
  readonly totals: BigInt64Array<SharedArrayBuffer>;
}

/** Main thread → worker. */
type Task =
  | { readonly type: 'layer'; readonly job: LayerJob; readonly layerNested: BigInt64Array<SharedArrayBuffer> }
  | { readonly type: 'container'; readonly offer: OfferedContainer };

/** Worker → main thread. */
type Report =
  | { readonly type: 'layer'; readonly result: LayerResult }
  | { readonly type: 'offer'; readonly offer: OfferedContainer }
  | { readonly type: 'container'; readonly result: ContainerResult };

export function workerScript(): string | undefined {
  try {
    // Built at run time so that ncc does not take it for a module to bundle.
    const parts = ['..', 'leak-worker', ['index', 'js'].join('.')];
    const candidate = join(dirname(fileURLToPath(import.meta.url)), ...parts);
    return existsSync(candidate) ? candidate : undefined;
  } catch {
    return undefined;
  }
}

export function isLeakWorker(): boolean {
  return !isMainThread && (workerData as Partial<WorkerInit> | undefined)?.orgCaLeakWorker === true;
}

/** The worker side: one matcher, then one task per message; `open` reads blobs (the sources' opener, given by the worker entry). */
export function serveWorker(open: BlobOpener): void {
  const init = workerData as WorkerInit;
  const matcher = buildMatcher(init.spec);
  const port = parentPort!;
  let offered = 0;
  // Where this worker's offered archives wait, made at the first offer (an image without big archives writes
  // nothing to disk) and removed by the main thread at the end.
  let offerDir: string | undefined;
  port.on('message', (task: Task) => {
    if (task.type === 'container') {
      void openOffered(task.offer, matcher, init.limits, init.totals).then((result) =>
        port.postMessage({ type: 'container', result } satisfies Report),
      );
      return;
    }
    let seq = 0;
    const offer = (nested: Parameters<typeof isOfferable>[0]): boolean => {
      if (!isOfferable(nested)) return false;
      let moved;
      try {
        offerDir ??= mkdtempSync(join(tmpdir(), 'org-ca-leak-offers-'));
        moved = handOver(nested, offerDir, `${threadId}-${offered++}`);
      } catch {
        // Not movable (a full or odd temporary directory): this worker opens it itself, as without offers.
        return false;
      }
      port.postMessage({
        type: 'offer',
        offer: { layerId: task.job.id, seq: seq++, job: moved, layerNested: task.layerNested },
      } satisfies Report);
      return true;
    };
    void scanLayer(
      task.job,
      matcher,
      init.limits,
      open,
      new Budget(init.limits, init.totals, task.layerNested),
      offer,
    ).then((result) =>
      // The path-hash arrays are moved, not copied: a copy would briefly double the biggest part of a result.
      port.postMessage({ type: 'layer', result } satisfies Report, [
        result.index.dirs.buffer,
        result.index.nondirs.buffer,
      ]),
    );
  });
}

export async function runLayerJobs(
  jobs: readonly LayerJob[],
  spec: TargetSpec,
  limits: ScanLimits,
  open: BlobOpener,
  parallel = availableParallelism(),
  totals: BigInt64Array<SharedArrayBuffer> = newTotals(),
): Promise<LayerResult[]> {
  // Biggest first, so one large layer does not start last and finish alone.
  const queue = [...jobs].sort((a, b) => b.blob.size - a.blob.size);
  const results = new Map<string, LayerResult>();
  const script = workerScript();
  const width = Math.max(1, Math.min(parallel, queue.length));
  if (!script || parallel <= 1) {
    const matcher = buildMatcher(spec);
    for (let job = queue.shift(); job; job = queue.shift())
      results.set(job.id, await scanLayer(job, matcher, limits, open, new Budget(limits, totals)));
  } else {
    const offerDirs = new Set<string>();
    try {
      await new Scheduler(
        script,
        { orgCaLeakWorker: true, spec, limits, totals },
        queue,
        results,
        Math.max(1, parallel),
        width,
        offerDirs,
      ).run();
    } finally {
      for (const dir of offerDirs) rmSync(dir, { recursive: true, force: true });
    }
  }
  return jobs.map((job) => results.get(job.id) ?? failed(job, 'not scanned'));
}

/**
 * Hands out layers and offered archives to the workers, and merges each archive's result into its layer's. A layer
 * is done when its own scan and every archive it offered are done. Workers start one per layer up to `parallel`;
 * an offer made while every worker is busy starts one more, up to `parallel`.
 */
class Scheduler {
  private readonly offers: OfferedContainer[] = [];
  private readonly idle: Worker[] = [];
  private readonly workers = new Set<Worker>();
  private readonly current = new Map<Worker, Task>();
  /** Per layer: its own result once scanned, and the offers still out. */
  private readonly layers = new Map<string, { result?: LayerResult; open: number; done: ContainerResult[] }>();
  private settle!: { resolve: () => void; reject: (error: Error) => void };

  constructor(
    private readonly script: string,
    private readonly init: WorkerInit,
    private readonly queue: LayerJob[],
    private readonly results: Map<string, LayerResult>,
    private readonly parallel: number,
    private readonly initialWidth: number,
    /** The workers' offer directories, collected for removal. */
    private readonly offerDirs: Set<string>,
  ) {}

  run(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.settle = { resolve, reject };
      for (let i = 0; i < this.initialWidth; i++) this.dispatch(this.spawn());
    }).finally(() => Promise.all([...this.workers].map((w) => w.terminate())));
  }

  private spawn(): Worker {
    // A worker's heap holds one window per file and a few buffers (10–20 MB used, measured on the bench images);
    // capping it keeps the whole process bounded: at 64/16 MB the jars bench peaked at 255–271 MB, at 48/8 MB at
    // 237 MB, no slower. The path index of a layer lives in typed arrays, off this heap.
    const worker = new Worker(this.script, {
      workerData: this.init,
      resourceLimits: { maxOldGenerationSizeMb: 48, maxYoungGenerationSizeMb: 8 },
    });
    this.workers.add(worker);
    worker.on('message', (report: Report) => this.receive(worker, report));
    worker.on('error', (error: Error) => {
      const task = this.current.get(worker);
      if (task?.type === 'layer') this.results.set(task.job.id, failed(task.job, `worker failed: ${error.message}`));
      this.settle.reject(error);
    });
    return worker;
  }

  private receive(worker: Worker, report: Report): void {
    if (report.type === 'offer') {
      const spooled = report.offer.job.spooled;
      if (spooled.kind === 'file') this.offerDirs.add(dirname(spooled.file));
      this.offers.push(report.offer);
      this.offers.sort((a, b) => spooledSize(b.job.spooled) - spooledSize(a.job.spooled));
      const layer = this.layers.get(report.offer.layerId)!;
      layer.open++;
      if (this.idle.length) this.dispatch(this.idle.pop()!);
      else if (this.workers.size < this.parallel) this.dispatch(this.spawn());
      return;
    }
    this.current.delete(worker);
    if (report.type === 'layer') {
      this.layers.get(report.result.id)!.result = report.result;
      this.finish(report.result.id);
    } else {
      const layer = this.layers.get(report.result.layerId)!;
      layer.open--;
      layer.done.push(report.result);
      this.finish(report.result.layerId);
    }
    this.dispatch(worker);
  }

  /**
   * Gives the worker the next task: layers first (each is a long serial stream, best started early), then the
   * offered archives, biggest first, which fill in evenly at the end.
   */
  private dispatch(worker: Worker): void {
    const job = this.queue.shift();
    const offer = job ? undefined : this.offers.shift();
    let task: Task | undefined;
    if (job) {
      const layerNested = newLayerCounter();
      this.layers.set(job.id, { open: 0, done: [] });
      task = { type: 'layer', job, layerNested };
    } else if (offer) task = { type: 'container', offer };
    if (!task) {
      this.idle.push(worker);
      if (this.idle.length === this.workers.size) this.settle.resolve();
      return;
    }
    this.current.set(worker, task);
    worker.postMessage(task);
  }

  private finish(id: string): void {
    const layer = this.layers.get(id)!;
    if (!layer.result || layer.open > 0) return;
    const r = layer.result;
    const done = layer.done.sort((a, b) => a.seq - b.seq);
    const hits = done.flatMap((d) => d.hits);
    this.results.set(id, {
      ...r,
      hits: [...r.hits, ...hits, ...hitsThroughHardlinks(hits, r.index.hardlinks)],
      unreadable: [...r.unreadable, ...done.flatMap((d) => d.unreadable)],
      notLookedInside: [...r.notLookedInside, ...done.flatMap((d) => d.notLookedInside)],
      nestedFiles: r.nestedFiles + done.reduce((n, d) => n + d.nestedFiles, 0),
    });
  }
}

function failed(job: LayerJob, error: string): LayerResult {
  return {
    id: job.id,
    error,
    compression: 'unknown',
    digest: '',
    diffId: '',
    bytes: 0,
    files: 0,
    index: emptyLayerIndex(),
    hits: [],
    unreadable: [],
    notLookedInside: [],
    nestedFiles: 0,
    captured: [],
    blobHits: [],
  };
}
