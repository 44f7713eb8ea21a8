import { posix } from 'node:path';
import type { RuleId } from './rules.js';
import { covers, hasGlob, isUnder } from './paths.js';

/**
 * What one stage's file system may hold, as far as a Dockerfile tells: a record per path that an instruction put
 * there (a file, or a directory whose contents came from one source), with whether it is known to hold CA material.
 * Records are shared between a stage and the stages built FROM it; anything that changes one replaces it.
 */
export interface FileRecord {
  readonly path: string;
  /** A directory whose contents came from one source (`COPY . /app`, an extracted archive, a copied stage directory). */
  readonly dir: boolean;
  ca: boolean;
  /** The instruction whose layer holds it, and the stage it belongs to. */
  readonly line: number;
  readonly stage: number;
  /** The rule to report when it holds a CA. */
  readonly rule: RuleId;
  /** "COPY puts 'corp.crt' (from the build context) at /usr/local/share/ca-certificates/corp.crt" */
  readonly what: string;
  readonly origin: 'context' | 'stage' | 'external' | 'download' | 'secret' | 'write' | 'regenerated' | 'inline';
  /** For a copy of a context directory: the context path it mirrors, so that --context can look inside. */
  readonly contextDir?: string;
  /** Paths removed again under a directory record. */
  readonly removed: readonly string[];
  /** Why it is known to be a CA ("line 12 uses it with pip install --cert"). */
  evidence?: string;
  /** Created by the RUN being interpreted: reported only if still present when that RUN ends. */
  pending: boolean;
  reported: boolean;
}

/** What an instruction says of a file it makes; the rest of its record starts the same for every new file. */
export type NewFile = Pick<FileRecord, 'path' | 'dir' | 'ca' | 'rule' | 'what' | 'origin'> &
  Partial<Pick<FileRecord, 'contextDir' | 'evidence'>>;

/** `pending` for a RUN's files, which count only if they are still there when the RUN ends. */
export function fileRecord(file: NewFile, line: number, stage: number, pending = false): FileRecord {
  return { ...file, line, stage, removed: [], pending, reported: false };
}

export class StageFs {
  constructor(
    public records: FileRecord[] = [],
    public workdir = '/',
    public env = new Map<string, string>(),
  ) {}

  /** A copy for a stage built FROM this one (records are shared until one of them changes). */
  fork(): StageFs {
    return new StageFs([...this.records], this.workdir, new Map(this.env));
  }

  add(record: FileRecord): void {
    this.remove(record.path, true);
    this.records.push(record);
  }

  /** Removes a path (or glob) and what is under it; a directory record above it keeps a note of the hole. */
  remove(path: string, exactOnly = false): FileRecord[] {
    const gone: FileRecord[] = [];
    const kept: FileRecord[] = [];
    for (const r of this.records) {
      if (exactOnly ? r.path === path : covers(path, r.path)) gone.push(r);
      else if (!exactOnly && r.dir && !hasGlob(path) && isUnder(path, r.path) && path !== r.path)
        kept.push({ ...r, removed: [...r.removed, path] });
      else kept.push(r);
    }
    this.records = kept;
    return gone;
  }

  /** The record that provides `path`: the file itself, or the nearest directory record that holds it. */
  lookup(path: string): FileRecord | undefined {
    let best: FileRecord | undefined;
    for (const r of this.records) {
      if (r.path === path) return r;
      if (
        r.dir &&
        isUnder(path, r.path) &&
        !r.removed.some((x) => isUnder(path, x)) &&
        (!best || r.path.length > best.path.length)
      )
        best = r;
    }
    return best;
  }

  /** Records at or under `source` (a path or glob), and directory records that hold `source`. */
  covered(source: string): FileRecord[] {
    const out = this.records.filter((r) => covers(source, r.path));
    if (!hasGlob(source)) {
      const holder = this.lookup(source);
      if (holder && holder.path !== source && !out.includes(holder)) out.push(holder);
    }
    return out;
  }

  /** CA records at or under a directory. */
  caUnder(dir: string): FileRecord[] {
    return this.records.filter((r) => r.ca && (isUnder(r.path, dir) || (r.dir && isUnder(dir, r.path))));
  }
}

/** Where a record copied from `source` lands under `dest` (COPY and cp semantics). */
export function mapPath(record: FileRecord, source: string, dest: string, destIsDir: boolean): string {
  if (hasGlob(source)) return posix.join(dest, posix.basename(record.path));
  // A directory source copies its contents, not itself.
  if (record.path === source && record.dir) return dest;
  if (record.path === source || isUnder(source, record.path))
    return destIsDir ? posix.join(dest, posix.basename(source)) : dest;
  return posix.join(dest, record.path.slice(source === '/' ? 0 : source.length));
}
