/**
 * Performs the trust plan on the runner: creates what is missing, journals each step as it happens, and rolls
 * everything back if a step fails, so the runner is never left half-configured.
 */
import { posix } from 'node:path';
import { undoJournal, sha256File, type Journal, type JournalEntry } from './trust-journal.js';
import type { JobOwner } from '../fs/job-owner.js';
import { certFileName, trustLocations, type TrustLocation } from './locations.js';
import { planTrust } from './trust-plan.js';
import { detectMode, kindOf, opsFor, type FileOps, type Mode } from './privileges.js';
import { present } from '../lang/present.js';

export interface ApplyInput {
  readonly registries: readonly string[];
  /** The org CA alone, as PEM (the injection's ca file). */
  readonly caPath: string;
  /** Names the CA files (`org-ca-RUN.crt`) and the journal of this run. */
  readonly runId: string;
  /** The job this run belongs to, recorded in the journal (src/fs/job-owner.ts). */
  readonly owner?: JobOwner;
  /** Directories other org-ca runs' journals list as made by them (see planTrust). */
  readonly madeByOrgCa?: ReadonlySet<string>;
  /** The CA files other runs' journals list: a directory holding only those is theirs to remove (undoJournal). */
  readonly othersFiles?: ReadonlySet<string>;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly uid: number;
  /** For tests: the rights to assume (default: detected). */
  readonly mode?: Mode;
  /** For tests: other roots than /etc/docker/certs.d and friends. */
  readonly locations?: readonly TrustLocation[];
  /** Called with the journal after every step, so that a crash half-way still leaves the post step a record. */
  readonly save?: (journal: Journal) => void;
}

export interface ApplyResult {
  readonly journal: Journal;
  readonly written: readonly string[];
  readonly notes: readonly string[];
  readonly warnings: readonly string[];
  /** Registries whose /etc/docker/certs.d directory did not exist before: Docker's BuildKit sees them only after a daemon restart. */
  readonly newDockerHosts: readonly string[];
}

export function applyRegistryTrust(input: ApplyInput): ApplyResult {
  const mode = input.mode ?? detectMode(input.uid);
  const all = input.locations ?? trustLocations(input.env, input.uid);
  const notes: string[] = [];
  const warnings: string[] = [];
  const usable = all.filter((l) => opsFor(mode, l.privileged));
  const withoutRights = all.filter((l) => !opsFor(mode, l.privileged));
  if (withoutRights.length) {
    warnings.push(
      `Not running as root and sudo asks for a password, so ${withoutRights.map((l) => l.root).join(' and ')} ` +
        `${withoutRights.length > 1 ? 'were' : 'was'} left unchanged: ${withoutRights.map((l) => l.readers).join('; ')} will not trust the org CA for registry pulls. ` +
        'Give the runner user passwordless sudo, or add the CA to those directories when the runner is provisioned.',
    );
  }
  const plan = planTrust(usable, input.registries, kindOf, certFileName(input.runId), input.madeByOrgCa);
  for (const s of plan.skipped) notes.push(`Registry trust: ${s}.`);
  const entries: JournalEntry[] = [];
  const journal = (): Journal => ({ mode, ...present({ owner: input.owner }), entries: [...entries] });
  const privileged = new Map(usable.map((l) => [l.id, l.privileged] as const));
  const ops = (p: boolean): FileOps | undefined => opsFor(mode, p);
  const written: string[] = [];
  try {
    for (const dir of plan.adopt) {
      entries.push({ type: 'dir', path: dir.path, privileged: privileged.get(dir.location) ?? true });
    }
    // Each change is journaled before it is made: a step stopped between the two leaves nothing its journal does not
    // list (undo skips what is not there). A directory whose mkdir failed is taken off again (what is there now is
    // someone else's); a file is not: its name is this run's own, and a copy that failed may have left part of it.
    const journaled = (entry: JournalEntry, change: () => void): void => {
      entries.push(entry);
      input.save?.(journal());
      try {
        change();
      } catch (error) {
        if (entry.type === 'dir') entries.pop();
        throw error;
      }
    };
    for (const dir of plan.mkdirs) {
      const p = privileged.get(dir.location) ?? true;
      journaled({ type: 'dir', path: dir.path, privileged: p }, () => ops(p)!.mkdir(dir.path));
    }
    // The name is this run's own, so no other file can be there; undo removes it only while it holds this content.
    const sha256 = sha256File(input.caPath);
    for (const file of plan.files) {
      const p = privileged.get(file.location) ?? true;
      journaled({ type: 'file', path: file.path, privileged: p, sha256 }, () => ops(p)!.copy(input.caPath, file.path));
      written.push(file.path);
    }
  } catch (error) {
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    // This run's own file names: removed whatever they hold (a copy that failed half-way holds part of the CA).
    const ownName = certFileName(input.runId);
    const undo = undoJournal(journal(), ops, input.othersFiles, (path) => posix.basename(path) === ownName);
    // What could not be removed stays journaled for the post step, the hook or the next run.
    entries.splice(0, entries.length, ...undo.retry);
    input.save?.(journal());
    warnings.push(
      `Registry trust was not set up (${why}); everything written so far was removed again` +
        (undo.left.length ? `, except: ${undo.left.join('; ')}` : '') +
        '. Builders will not trust the org CA for registry pulls.',
    );
    return { journal: journal(), written: [], notes, warnings, newDockerHosts: [] };
  }
  const dockerRoot = all.find((l) => l.id === 'docker')?.root;
  const newDockerHosts = dockerRoot
    ? input.registries.filter((r) => [...plan.adopt, ...plan.mkdirs].some((d) => d.path === posix.join(dockerRoot, r)))
    : [];
  return { journal: journal(), written, notes, warnings, newDockerHosts };
}
