import type { ScanLimits } from '../../types.js';

/**
 * Bounds on absolute work, not on ratios: a 100 MB zero-filled file is legitimate (it gzips about 1000:1), while a
 * bomb is whatever makes the check read more than the user allows. Two kinds of bytes are counted:
 * - the uncompressed bytes of layers: past a bound the layer fails (fails closed: the rest was never read);
 * - the bytes expanded while looking inside files (archives and compressed files, at any depth): past a bound the
 *   member is listed as "not looked inside" and the scan goes on.
 * Each is bounded per layer and in total over the check. The totals are shared by every worker thread through a
 * SharedArrayBuffer, so two layers scanned at once count against the same total.
 */
export class LimitError extends Error {
  override readonly name = 'LimitError';
}

export class NestedLimitError extends Error {
  override readonly name = 'NestedLimitError';
}

const LAYER_TOTAL = 0;
const NESTED_TOTAL = 1;
const SPILL_TOTAL = 2;

/** The shared counters of one check: [uncompressed layer bytes, nested bytes, bytes spilled to TMPDIR]. */
export function newTotals(): BigInt64Array<SharedArrayBuffer> {
  return new BigInt64Array(new SharedArrayBuffer(3 * 8));
}

export function describeBytes(n: number): string {
  const units: [number, string][] = [
    [1024 ** 4, 'TiB'],
    [1024 ** 3, 'GiB'],
    [1024 ** 2, 'MiB'],
    [1024, 'KiB'],
  ];
  for (const [size, unit] of units) if (n >= size && n % size === 0) return `${n / size} ${unit}`;
  for (const [size, unit] of units) if (n >= size) return `${(n / size).toFixed(1)} ${unit}`;
  return `${n} bytes`;
}

/**
 * A layer's own nested counter, shared too: a big archive found in a layer may be opened by another worker (see
 * pool.ts), and its bytes still count against that layer's budget.
 */
export function newLayerCounter(): BigInt64Array<SharedArrayBuffer> {
  return new BigInt64Array(new SharedArrayBuffer(8));
}

/** The bounds shared by every layer of one check: a result they shaped says something about the check, not the layer. */
export const CHECK_WIDE_BOUNDS = ['--max-image-bytes', '--max-nested-image-bytes', '--max-spill-bytes'] as const;

export class Budget {
  private layerBytes = 0;

  constructor(
    readonly limits: ScanLimits,
    private readonly totals: BigInt64Array<SharedArrayBuffer> = newTotals(),
    private readonly layerNested: BigInt64Array<SharedArrayBuffer> = newLayerCounter(),
  ) {}

  private get nestedBytes(): number {
    return Number(Atomics.load(this.layerNested, 0));
  }

  /** Uncompressed bytes of the layer itself. Throws LimitError past the per-layer or the total bound. */
  layer(n: number): void {
    this.layerBytes += n;
    const total = Number(Atomics.add(this.totals, LAYER_TOTAL, BigInt(n))) + n;
    if (this.layerBytes > this.limits.maxLayerBytes) {
      throw new LimitError(
        `layer is over the ${describeBytes(this.limits.maxLayerBytes)} bound for one uncompressed layer (--max-layer-bytes)`,
      );
    }
    if (total > this.limits.maxImageBytes) {
      throw new LimitError(
        `the image's layers are over the ${describeBytes(this.limits.maxImageBytes)} bound for all uncompressed layers together (--max-image-bytes)`,
      );
    }
  }

  /** Bytes expanded inside files. Throws NestedLimitError past the per-layer or the total bound. */
  nested(n: number): void {
    const layer = Number(Atomics.add(this.layerNested, 0, BigInt(n))) + n;
    const total = Number(Atomics.add(this.totals, NESTED_TOTAL, BigInt(n))) + n;
    if (layer > this.limits.maxNestedLayerBytes) {
      throw new NestedLimitError(
        `over the ${describeBytes(this.limits.maxNestedLayerBytes)} expansion budget for the files inside one layer (--max-nested-layer-bytes)`,
      );
    }
    if (total > this.limits.maxNestedImageBytes) {
      throw new NestedLimitError(
        `over the ${describeBytes(this.limits.maxNestedImageBytes)} expansion budget for the files inside the whole image (--max-nested-image-bytes)`,
      );
    }
  }

  /** Why nothing more may be opened, once a nested budget is spent. */
  /**
   * Bytes of archives written to TMPDIR so they can be opened (SPILL_BOUND): over the check, a hostile image full of
   * big archives would otherwise fill the runner's disk. False once the bound is reached: the archive is then listed
   * as not looked inside, like any other spent budget.
   */
  spill(n: number): boolean {
    return Number(Atomics.add(this.totals, SPILL_TOTAL, BigInt(n))) + n <= this.limits.maxSpillBytes;
  }

  /** Why an archive that had to wait on disk was not opened. */
  get spillSpent(): string {
    return `the ${describeBytes(this.limits.maxSpillBytes)} budget for archives written to TMPDIR to be opened is spent (--max-spill-bytes)`;
  }

  get exhausted(): string | undefined {
    if (this.nestedBytes >= this.limits.maxNestedLayerBytes)
      return `the ${describeBytes(this.limits.maxNestedLayerBytes)} expansion budget for the files inside one layer is spent (--max-nested-layer-bytes)`;
    if (Number(Atomics.load(this.totals, NESTED_TOTAL)) >= this.limits.maxNestedImageBytes) {
      return `the ${describeBytes(this.limits.maxNestedImageBytes)} expansion budget for the files inside the whole image is spent (--max-nested-image-bytes)`;
    }
    return undefined;
  }

  /** Bytes expanded inside the files of this layer so far (for the report's statistics). */
  get expanded(): number {
    return this.nestedBytes;
  }
}
