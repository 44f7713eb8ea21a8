/**
 * Files packed into text as base64 (a Helm release in a ConfigMap is base64 of gzip of JSON, and base64 of that again
 * in a Secret; a JWK or a JSON config may carry a base64url DER): runs that start like base64 of a compressed stream,
 * like base64 of such base64, or that are base64url of a DER certificate, are decoded as they stream past and handed
 * on as files of their own, so the nested scan opens them as it opens any file (and finds runs in them again, up to
 * the depth bound). Plain base64 of a PEM or DER is not extracted: the matcher reads that in place.
 */

/** How a run's first characters say what it holds. */
interface RunStart {
  readonly prefix: Buffer;
  /** base64url of DER is extracted only when the run turns out to use the URL alphabet (else the matcher has it). */
  readonly urlOnly: boolean;
}

const b64 = (bytes: Buffer | string): string => Buffer.from(bytes).toString('base64');
/** The characters of the whole 3-byte groups: what does not depend on the bytes that follow. */
const whole = (text: string, bytes: number): string => text.slice(0, Math.floor(bytes / 3) * 4);
const url = (text: string): string => text.replace(/\+/g, '-').replace(/\//g, '_');

const MAGICS: readonly Buffer[] = [
  Buffer.from([0x1f, 0x8b, 0x08]), // gzip
  Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), // zstd
  Buffer.from('BZh'), // bzip2
  Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), // xz
];

function runStarts(): RunStart[] {
  const starts = new Set<string>();
  for (const magic of MAGICS) {
    const once = whole(b64(magic), magic.length);
    const twice = whole(b64(once), once.length);
    for (const text of [once, twice]) {
      starts.add(text);
      starts.add(url(text));
    }
  }
  // base64 of base64 of a PEM block ("-----BEGIN "): the matcher reads one level of base64 in place, not two.
  const begin = whole(b64('-----BEGIN '), 11);
  starts.add(whole(b64(begin), begin.length));
  const list: RunStart[] = [...starts].map((s) => ({ prefix: Buffer.from(s), urlOnly: false }));
  // DER of a certificate: SEQUENCE with a two-byte length (30 82), the whole of any real certificate.
  list.push({ prefix: Buffer.from('MII'), urlOnly: true });
  return list;
}

export const RUN_STARTS: readonly RunStart[] = runStarts();
const LONGEST_START = Math.max(...RUN_STARTS.map((s) => s.prefix.length));

/** Shorter runs are not files worth opening. */
const MIN_RUN = 32;
/** A base64url run is held until it shows its alphabet: at most this much of it (a certificate chain's DER). */
const URL_HOLD = 64 * 1024;

const IS_B64 = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_') IS_B64[c.charCodeAt(0)] = 1;

/** Where the decoded bytes of one run go: a nested file scan, opened at the run's offset in the file. */
export interface RunSink {
  write(bytes: Buffer): void;
  end(): void;
}

interface OpenRun {
  readonly at: number;
  readonly urlOnly: boolean;
  /** Characters not yet decoded (fewer than a group, or all of a run still too short or waiting for its alphabet). */
  pending: string;
  length: number;
  urlSeen: boolean;
  sink?: RunSink;
}

export class EmbeddedBase64 {
  private offset = 0;
  private run: OpenRun | undefined;
  /** The last bytes of the previous chunk, for a run start cut by the chunk boundary. */
  private tail = Buffer.alloc(0);

  constructor(private readonly open: (at: number) => RunSink) {}

  feed(chunk: Buffer): void {
    let i = 0;
    if (this.run) i = this.extend(chunk, 0);
    while (i < chunk.length) {
      const found = this.nextStart(chunk, i);
      if (!found) break;
      this.run = { at: this.offset + found.at, urlOnly: found.start.urlOnly, pending: '', length: 0, urlSeen: false };
      i = this.extend(
        chunk,
        Math.max(found.at, 0),
        found.at < 0 ? this.tail.subarray(this.tail.length + found.at) : undefined,
      );
    }
    const keep = Math.min(LONGEST_START - 1, chunk.length);
    this.tail = Buffer.concat([this.tail, chunk.subarray(chunk.length - keep)]).subarray(-(LONGEST_START - 1));
    this.offset += chunk.length;
  }

  end(): void {
    if (this.run) this.close();
  }

  /** The first run start at or after `from` (negative: it began in the previous chunk's tail), at a run's beginning. */
  private nextStart(chunk: Buffer, from: number): { at: number; start: RunStart } | undefined {
    let best: { at: number; start: RunStart } | undefined;
    const seamed =
      from === 0 && this.tail.length ? Buffer.concat([this.tail, chunk.subarray(0, LONGEST_START)]) : undefined;
    for (const start of RUN_STARTS) {
      if (seamed) {
        const s = seamed.indexOf(start.prefix);
        if (s !== -1 && s < this.tail.length && s + start.prefix.length > this.tail.length) {
          const at = s - this.tail.length;
          const before = s > 0 ? seamed[s - 1]! : undefined;
          if ((before === undefined || !IS_B64[before]) && (!best || at < best.at)) best = { at, start };
          continue;
        }
      }
      for (let at = chunk.indexOf(start.prefix, from); at !== -1; at = chunk.indexOf(start.prefix, at + 1)) {
        const before = at > 0 ? chunk[at - 1] : this.tail[this.tail.length - 1];
        if (before !== undefined && IS_B64[before]) continue;
        if (!best || at < best.at) best = { at, start };
        break;
      }
    }
    return best;
  }

  /** Takes the run's characters from `from` on; returns where the run ended (or the chunk's end). */
  private extend(chunk: Buffer, from: number, carried?: Buffer): number {
    if (carried) this.take(carried.toString('latin1'));
    let i = from;
    while (i < chunk.length && IS_B64[chunk[i]!]) i++;
    this.take(chunk.toString('latin1', from, i));
    if (i < chunk.length) {
      // '=' pads the last group and ends the run.
      if (chunk[i] === 0x3d) this.take('=');
      this.close();
      return i + 1;
    }
    return i;
  }

  private take(text: string): void {
    const run = this.run;
    if (!run || !text) return;
    run.length += text.length;
    if (!run.urlSeen && /[-_]/.test(text)) run.urlSeen = true;
    run.pending += text;
    if (!run.sink) {
      const ready = run.urlOnly ? run.urlSeen && run.length >= MIN_RUN : run.length >= MIN_RUN;
      if (!ready) {
        // Long, and still the standard alphabet: base64 of DER, which the matcher reads in place.
        if (run.pending.length > URL_HOLD) this.run = undefined;
        return;
      }
      run.sink = this.open(run.at);
    }
    const usable = run.pending.length - (run.pending.length % 4);
    if (usable) {
      run.sink.write(Buffer.from(run.pending.slice(0, usable), 'base64'));
      run.pending = run.pending.slice(usable);
    }
  }

  private close(): void {
    const run = this.run;
    this.run = undefined;
    if (!run) return;
    if (run.urlOnly && run.urlSeen && !run.sink && run.length >= MIN_RUN) run.sink = this.open(run.at);
    if (!run.sink) return;
    if (run.pending) run.sink.write(Buffer.from(run.pending.replace(/=+$/, ''), 'base64'));
    run.sink.end();
  }
}
