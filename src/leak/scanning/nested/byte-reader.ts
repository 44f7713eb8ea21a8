/**
 * Reads exact byte counts from an async iterable of chunks, for the hand-written frame walkers (zstd frames, xz
 * blocks). `truncated` words the error a reader of that format gives when the input ends early.
 */
export class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  /** Bytes handed out so far. */
  offset = 0;

  constructor(
    private readonly it: AsyncIterator<Buffer>,
    private readonly truncated: (where: string) => string,
  ) {}

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length < n && !this.done) {
      const next = await this.it.next();
      if (next.done) this.done = true;
      else this.buf = this.buf.length ? Buffer.concat([this.buf, next.value]) : next.value;
    }
    return this.buf.length >= n;
  }

  async atEnd(): Promise<boolean> {
    return !(await this.fill(1));
  }

  /** Exactly `n` bytes; throws when the input ends first. `what` names the field, for the message. */
  async exact(n: number, what = 'the stream'): Promise<Buffer> {
    if (!(await this.fill(n)))
      throw new Error(this.truncated(`inside ${what} at byte ${this.offset + this.buf.length}`));
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.offset += n;
    return out;
  }

  /** Up to `n` bytes, at least one; throws at the end of input. */
  async some(n: number, what = 'the stream'): Promise<Buffer> {
    if (!(await this.fill(1))) throw new Error(this.truncated(`inside ${what} at byte ${this.offset}`));
    const out = this.buf.subarray(0, Math.min(n, this.buf.length));
    this.buf = this.buf.subarray(out.length);
    this.offset += out.length;
    return out;
  }
}
