import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { pemCertificates } from '../ca/bundle.js';
import { certificateFromDer, sha256Hex, toPem, type Certificate } from '../ca/certificate.js';
import type { StoreHost } from './privileged-commands.js';
import {
  prepareJournal,
  readJournal,
  storeOf,
  writeJournal,
  type Journal,
  type JournalEntry,
} from './store-journal.js';
import { linuxStoreFor, parseOsRelease, type LinuxStore } from './platforms.js';
import type { StoreSelection } from './selection.js';
import { present } from '../lang/present.js';

export interface StoreContext {
  readonly host: StoreHost;
  readonly journalPath: string;
  /** The user whose NSS databases are changed. */
  readonly home?: string;
  /** /etc/os-release text; read from the machine when absent. */
  readonly osRelease?: string;
}

export class StoreError extends Error {
  override readonly name = 'StoreError';
}

/** What one call did, as sentences for the log (never certificate text). */
export interface StoreOutcome {
  readonly changed: readonly string[];
  readonly notices: readonly string[];
}

const NSS_FILES = ['cert9.db', 'key4.db', 'pkcs11.txt'];

function anchorName(cert: Certificate, store: LinuxStore): string {
  return `org-ca-${cert.fingerprint.slice(0, 16)}${store.extension}`;
}

export function nssNickname(cert: Certificate): string {
  return `org-ca ${cert.fingerprint.slice(0, 16)}`;
}

export function osStore(context: StoreContext): LinuxStore {
  const text = context.osRelease ?? (existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '');
  const release = parseOsRelease(text);
  const store = linuxStoreFor(release);
  if (!store) {
    throw new StoreError(
      `the OS trust store of '${release.id || 'this system'}' is not known to org-ca: expected Debian, Ubuntu, RHEL/Fedora, Alpine, SUSE or Arch (from /etc/os-release ID/ID_LIKE).`,
    );
  }
  return store;
}

/** Fingerprints of the certificates in the store's bundle: what the OS already trusts. */
function bundleFingerprints(store: LinuxStore): Set<string> {
  const out = new Set<string>();
  if (!existsSync(store.bundle)) return out;
  for (const der of pemCertificates(readFileSync(store.bundle, 'latin1'))) {
    try {
      out.add(certificateFromDer(der).fingerprint);
    } catch {
      // a malformed block in a distribution bundle is not ours to judge
    }
  }
  return out;
}

/**
 * NSS databases of a user that Chromium and Firefox read. Chromium ≥ 146 uses ~/.local/share/pki/nssdb unless
 * ~/.pki/nssdb exists, older ones only ~/.pki/nssdb: so every existing one gets the CA, and where none exists
 * ~/.pki/nssdb is created, which both read.
 */
export function nssDatabases(home: string): { existing: string[]; create?: string } {
  const candidates = [join(home, '.pki', 'nssdb'), join(home, '.local', 'share', 'pki', 'nssdb')];
  for (const base of [
    join(home, '.mozilla', 'firefox'),
    join(home, 'snap', 'firefox', 'common', '.mozilla', 'firefox'),
  ]) {
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) candidates.push(join(base, name));
  }
  const existing = candidates.filter((dir) => existsSync(join(dir, 'cert9.db')));
  const chromium = existing.some((dir) => dir.endsWith(join('pki', 'nssdb')));
  return chromium ? { existing } : { existing, create: candidates[0]! };
}

/** The directories `mkdir -p dir` would create, outermost first. */
function missingDirs(dir: string): string[] {
  const out: string[] = [];
  for (let d = dir; !existsSync(d); d = posix.dirname(d)) out.unshift(d);
  return out;
}

class Session {
  private journal: Journal;
  readonly changed: string[] = [];
  readonly notices: string[] = [];

  constructor(private readonly context: StoreContext) {
    this.journal = readJournal(context.journalPath, context.home ?? homedir());
  }

  get entries(): readonly JournalEntry[] {
    return this.journal.entries;
  }

  /** Records an entry before the change it describes is made. */
  record(entry: JournalEntry): void {
    this.journal = { version: 1, entries: [...this.journal.entries, entry] };
    writeJournal(this.context.journalPath, this.journal);
  }

  forget(entry: JournalEntry): void {
    this.journal = { version: 1, entries: this.journal.entries.filter((e) => e !== entry) };
    writeJournal(this.context.journalPath, this.journal);
  }

  private must(argv: readonly string[], privileged: boolean, what: string, input?: string): void {
    const { host } = this.context;
    const r = privileged ? host.runPrivileged(argv, input) : host.run(argv, input);
    if (r.code !== 0) {
      const last = r.output.trim().split('\n').pop() ?? '';
      throw new StoreError(
        `${what} failed: '${argv.join(' ')}' exited ${r.code}${last ? ` (${last.slice(0, 200)})` : ''}.`,
      );
    }
  }

  /** Reverts every recorded change, newest first; each step is safe to repeat. */
  revertAll(): void {
    const updates = new Map<string, readonly string[]>();
    for (const entry of [...this.journal.entries].reverse()) {
      if (entry.kind === 'os') {
        this.revertAnchor(entry);
        // The rebuild command is the store table's (validated: readJournal refuses an unknown store), never the journal's.
        const store = storeOf(entry)!;
        updates.set(store.id, store.updateAfterRemove);
      } else {
        this.revertNss(entry);
      }
    }
    // One rebuild per store, after every anchor is gone; the entries stay until it succeeded.
    for (const argv of updates.values()) this.must(argv, true, 'rebuilding the OS trust store');
    for (const entry of [...this.journal.entries]) this.forget(entry);
  }

  private revertAnchor(entry: Extract<JournalEntry, { kind: 'os' }>): void {
    if (existsSync(entry.file)) {
      const now = sha256Hex(readFileSync(entry.file));
      if (now !== entry.sha256) {
        this.notices.push(
          `${entry.file} was changed after org-ca wrote it: left in place, remove it by hand if it is not wanted.`,
        );
      } else {
        this.must(['rm', '-f', '--', entry.file], true, `removing ${entry.file}`);
        this.changed.push(`removed ${entry.file} from the ${entry.store} trust store`);
      }
    }
    if (entry.createdDir && existsSync(entry.createdDir) && readdirSync(entry.createdDir).length === 0) {
      this.must(['rmdir', '--', entry.createdDir], true, `removing ${entry.createdDir}`);
    }
  }

  private revertNss(entry: Extract<JournalEntry, { kind: 'nss' }>): void {
    const db = `sql:${entry.db}`;
    if (
      existsSync(join(entry.db, 'cert9.db')) &&
      this.context.host.run(['certutil', '-L', '-d', db, '-n', entry.nickname]).code === 0
    ) {
      this.must(
        ['certutil', '-D', '-d', db, '-n', entry.nickname],
        false,
        `removing the CA from the NSS database ${entry.db}`,
      );
      this.changed.push(`removed '${entry.nickname}' from the NSS database ${entry.db}`);
    }
    // A database org-ca created for the CA goes entirely: its files, then its directories, deepest first.
    if (entry.createdDb) {
      for (const file of NSS_FILES)
        this.must(['rm', '-f', '--', join(entry.db, file)], false, `removing ${join(entry.db, file)}`);
      for (const dir of [...entry.createdDirs].reverse()) {
        if (existsSync(dir) && readdirSync(dir).length === 0) this.must(['rmdir', '--', dir], false, `removing ${dir}`);
      }
    }
  }

  addToOs(certs: readonly Certificate[]): void {
    const { host } = this.context;
    const store = osStore(this.context);
    if (host.privilege === 'none') {
      throw new StoreError(
        `adding the CA to the ${store.id} trust store needs root or passwordless sudo, and neither is available: nothing was changed.`,
      );
    }
    if (!host.has(store.update[0]!)) {
      throw new StoreError(
        `'${store.update[0]}' is not installed, so the ${store.id} trust store cannot be updated: install the ca-certificates package${store.id === 'rhel' || store.id === 'arch' ? ' (p11-kit trust)' : ''}; nothing was changed.`,
      );
    }
    const trusted = bundleFingerprints(store);
    let added = false;
    for (const cert of certs) {
      if (trusted.has(cert.fingerprint)) {
        this.notices.push(
          `'${cert.subject}' is already in the OS trust store (${store.bundle}): left as it is, and never removed by org-ca.`,
        );
        continue;
      }
      const file = posix.join(store.anchorDir, anchorName(cert, store));
      if (existsSync(file)) {
        this.notices.push(`${file} already exists and was not written by this run: left as it is.`);
        continue;
      }
      const createdDir = existsSync(store.anchorDir) ? undefined : store.anchorDir;
      const pem = toPem(cert.der);
      this.record({ kind: 'os', store: store.id, file, sha256: sha256Hex(pem), ...present({ createdDir }) });
      if (createdDir) this.must(['mkdir', '-p', '-m', '0755', '--', createdDir], true, `creating ${createdDir}`);
      // Written with the store's rights, refusing to replace a file (noclobber); the PEM goes through standard input.
      this.must(['sh', '-c', 'umask 022 && set -C && cat > "$1"', 'sh', file], true, `writing ${file}`, pem);
      this.changed.push(`added '${cert.subject}' to the ${store.id} trust store as ${file}`);
      added = true;
    }
    if (added) this.must(store.update, true, `updating the ${store.id} trust store`);
  }

  addToBrowsers(certs: readonly Certificate[]): void {
    const { host } = this.context;
    if (!host.has('certutil')) {
      throw new StoreError(
        `'certutil' is not installed, so browser (NSS) databases cannot be changed: install libnss3-tools (Debian/Ubuntu) or nss-tools (RHEL/Fedora); nothing was changed.`,
      );
    }
    const home = this.context.home ?? homedir();
    const found = nssDatabases(home);
    const targets: { db: string; createdDirs: string[] }[] = found.existing.map((db) => ({ db, createdDirs: [] }));
    if (found.create) targets.push({ db: found.create, createdDirs: missingDirs(found.create) });
    const temp = mkdtempSync(join(tmpdir(), 'org-ca-nss-'));
    try {
      for (const target of targets) this.addToNssDb(target, certs, temp);
    } finally {
      rmSync(temp, { recursive: true, force: true });
    }
  }

  private addToNssDb(target: { db: string; createdDirs: string[] }, certs: readonly Certificate[], temp: string): void {
    const { host } = this.context;
    const db = `sql:${target.db}`;
    if (target.createdDirs.length || !existsSync(join(target.db, 'cert9.db'))) {
      this.record({
        kind: 'nss',
        db: target.db,
        nickname: nssNickname(certs[0]!),
        createdDb: true,
        createdDirs: target.createdDirs,
      });
      this.must(['mkdir', '-p', '-m', '0700', '--', target.db], false, `creating ${target.db}`);
      this.must(['certutil', '-N', '-d', db, '--empty-password'], false, `creating the NSS database ${target.db}`);
    }
    for (const cert of certs) {
      const nickname = nssNickname(cert);
      if (host.run(['certutil', '-L', '-d', db, '-n', nickname]).code === 0) {
        this.notices.push(`the NSS database ${target.db} already holds '${nickname}': left as it is.`);
        continue;
      }
      if (!this.entries.some((e) => e.kind === 'nss' && e.db === target.db && e.nickname === nickname)) {
        this.record({ kind: 'nss', db: target.db, nickname, createdDb: false, createdDirs: [] });
      }
      const pem = join(temp, `${cert.fingerprint}.pem`);
      writeFileSync(pem, toPem(cert.der), { mode: 0o644 });
      this.must(
        ['certutil', '-A', '-d', db, '-t', 'C,,', '-n', nickname, '-i', pem],
        false,
        `adding the CA to the NSS database ${target.db}`,
      );
      this.changed.push(`added '${cert.subject}' to the NSS database ${target.db}`);
    }
  }
}

/**
 * Adds the CA's certificates to the selected stores. A journal left by an earlier run (a crash, a cancelled job) is
 * reverted first; a failure half-way reverts what this call did, then reports the failure.
 */
export async function addToStores(
  context: StoreContext,
  certs: readonly Certificate[],
  selection: StoreSelection,
): Promise<StoreOutcome> {
  await prepareJournal(context.journalPath);
  const session = new Session(context);
  if (session.entries.length) {
    session.notices.push(
      `a journal of an earlier run that did not finish was found at ${context.journalPath}: reverting it first.`,
    );
    session.revertAll();
  }
  const anchors = certs.filter((c) => c.isCa);
  if (anchors.length === 0)
    throw new StoreError(
      'the CA input holds no CA certificate (basicConstraints CA:TRUE): nothing to add to a trust store.',
    );
  try {
    if (selection.os) session.addToOs(anchors);
    if (selection.browsers) session.addToBrowsers(anchors);
  } catch (error) {
    try {
      session.revertAll();
    } catch (revertError) {
      throw new StoreError(
        `${error instanceof Error ? error.message : String(error)} Reverting what was added also failed (${revertError instanceof Error ? revertError.message : String(revertError)}); the journal ${context.journalPath} still lists it for the next run.`,
      );
    }
    throw error;
  }
  return { changed: session.changed, notices: session.notices };
}

/** Takes out exactly what the journal lists; a missing journal means nothing to do. */
export async function removeFromStores(context: StoreContext): Promise<StoreOutcome> {
  await prepareJournal(context.journalPath);
  const session = new Session(context);
  if (session.entries.length === 0)
    return { changed: [], notices: [`no org-ca changes are recorded in ${context.journalPath}: nothing to remove.`] };
  session.revertAll();
  return { changed: session.changed, notices: session.notices };
}

export interface StoreStatus {
  readonly journal: string;
  readonly entries: readonly JournalEntry[];
}

export function storeStatus(context: StoreContext): StoreStatus {
  return { journal: context.journalPath, entries: readJournal(context.journalPath, context.home ?? homedir()).entries };
}
