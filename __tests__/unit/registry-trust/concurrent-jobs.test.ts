/**
 * Several runners on one host (often one user, so one state directory) run jobs at once: a job's registry trust must
 * never be reverted by another job's step, only by its own post step or hook, or once its job has ended. On real
 * directories, with real processes standing for the jobs' Runner.Worker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ancestry, ownerRunning, parseProcStat, type JobOwner } from '../../../src/fs/job-owner.js';
import { applyRegistryTrust } from '../../../src/registry-trust/apply.js';
import {
  filesListedElsewhere,
  readJournalFile,
  registryJournalFiles,
  revertJournalFile,
  revertLeftoverJournals,
  undoReport,
  writeJournalFile,
  type LeftoverOutcome,
} from '../../../src/registry-trust/trust-journal.js';
import { certFileName, isOrgCaCertName, type TrustLocation } from '../../../src/registry-trust/locations.js';
import { treeSnapshot } from '../../support/registry/index.js';
import { opsFor } from '../../../src/registry-trust/privileges.js';
import { trustedScratchDir } from '../../support/unprivileged-user.js';

const snapshot = (dir: string): Record<string, string> => treeSnapshot([dir]);

/** A process standing for a job's Runner.Worker: running until stopped. */
async function job(): Promise<{ owner: JobOwner; end: () => Promise<void>; child: ChildProcess }> {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('spawn', resolve));
  const owner = { pid: child.pid!, start: parseProcStat(readFileSync(`/proc/${child.pid}/stat`, 'utf8'))!.start };
  const end = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  return { owner, end, child };
}

const live = { running: ownerRunning, ancestors: [] as JobOwner[] };
const kinds = (outcomes: LeftoverOutcome[]): string[] =>
  outcomes.map((o) => ('reverted' in o ? 'reverted' : 'running' in o ? 'running' : 'error'));

describe('registry trust of jobs running at once on one host', () => {
  let dir: string;
  let state: string;
  let ca: string;
  const jobs: { end: () => Promise<void> }[] = [];
  beforeEach(() => {
    dir = trustedScratchDir('concurrent-');
    state = join(dir, 'state', 'org-ca');
    mkdirSync(state, { recursive: true });
    ca = join(dir, 'org-ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
  });
  afterEach(async () => {
    for (const j of jobs.splice(0)) await j.end();
    rmSync(dir, { recursive: true, force: true });
  });
  const env = (): Record<string, string> => ({ XDG_STATE_HOME: join(dir, 'state'), HOME: dir });
  const locations = (): TrustLocation[] => [
    { id: 'docker', readers: 'docker', root: join(dir, 'etc/docker/certs.d'), privileged: true, source: '' },
    {
      id: 'containers',
      readers: 'containers',
      root: join(dir, 'etc/containers/certs.d'),
      privileged: true,
      source: '',
    },
  ];
  /** One job's main step, as setUpRegistryTrust does it: its own journal file and CA file name. */
  function mainStep(runId: string, owner: JobOwner, madeByOrgCa: ReadonlySet<string> = new Set()) {
    const path = join(state, `registry-journal-${runId}.json`);
    const othersFiles = filesListedElsewhere(registryJournalFiles(env(), 1000), path);
    const result = applyRegistryTrust({
      registries: ['docker.io', 'ghcr.io'],
      caPath: ca,
      runId,
      owner,
      madeByOrgCa,
      othersFiles,
      env: {},
      uid: 0,
      mode: 'root',
      locations: locations(),
      save: (j) => writeJournalFile(path, j),
    });
    return { path, result };
  }
  /** One job's post step, as undoRegistryTrust does it: the other journals' files tell a shared directory. */
  const postStep = (path: string) =>
    revertJournalFile(path, opsFor, filesListedElsewhere(registryJournalFiles(env(), 1000), path))!;
  const dirsOf = (paths: readonly string[]): Set<string> =>
    new Set(
      paths.flatMap(
        (p) =>
          readJournalFile(p)
            ?.entries.filter((e) => e.type === 'dir')
            .map((e) => e.path) ?? [],
      ),
    );

  test("each job writes its own CA file and journal; a second job's main step leaves the first's alone and shares its directories", async () => {
    const [a, b] = [await job(), await job()];
    jobs.push(a, b);
    const before = snapshot(dir);
    const first = mainStep('aaaaaaaa', a.owner);
    // The second job's main step, as setUpRegistryTrust: leftovers first; the first job still runs.
    const seen = revertLeftoverJournals(registryJournalFiles(env(), 1000), 'next-run', live, opsFor);
    expect(kinds(seen)).toEqual(['running']);
    expect(seen[0]).toMatchObject({ path: first.path, running: a.owner });
    const second = mainStep('bbbbbbbb', b.owner, dirsOf([first.path]));
    expect(second.result.warnings).toEqual([]);
    for (const host of ['docker.io', 'ghcr.io']) {
      expect(readdirSync(join(dir, 'etc/docker/certs.d', host)).sort()).toEqual([
        certFileName('aaaaaaaa'),
        certFileName('bbbbbbbb'),
      ]);
    }
    expect(registryJournalFiles(env(), 1000)).toEqual([first.path, second.path]);

    // The first job ends first: its post step takes out its files only, quietly leaving the shared directories.
    const firstUndo = postStep(first.path);
    expect(firstUndo.left).toEqual([]);
    expect(undoReport(firstUndo).shared).toMatch(/still hold the CA file of another org-ca run on this host/);
    expect(readdirSync(join(dir, 'etc/docker/certs.d/docker.io'))).toEqual([certFileName('bbbbbbbb')]);
    // The last run out removes what both made: the tree is as before the first job.
    const secondUndo = postStep(second.path);
    expect(secondUndo.left).toEqual([]);
    expect(snapshot(dir)).toEqual(before);
    expect(registryJournalFiles(env(), 1000)).toEqual([]);
  });

  test('the second job may end first: the first then removes everything', async () => {
    const [a, b] = [await job(), await job()];
    jobs.push(a, b);
    const before = snapshot(dir);
    const first = mainStep('aaaaaaaa', a.owner);
    const second = mainStep('bbbbbbbb', b.owner, dirsOf([first.path]));
    expect(postStep(second.path).left).toEqual([]);
    expect(readdirSync(join(dir, 'etc/containers/certs.d/ghcr.io'))).toEqual([certFileName('aaaaaaaa')]);
    expect(postStep(first.path).left).toEqual([]);
    expect(snapshot(dir)).toEqual(before);
  });

  test('a directory an administrator made is never taken over: it stays, empty, after both jobs', async () => {
    const [a, b] = [await job(), await job()];
    jobs.push(a, b);
    mkdirSync(join(dir, 'etc/docker/certs.d/docker.io'), { recursive: true });
    const before = snapshot(dir);
    const first = mainStep('aaaaaaaa', a.owner);
    const second = mainStep('bbbbbbbb', b.owner, dirsOf([first.path]));
    expect(readJournalFile(second.path)!.entries.map((e) => e.path)).not.toContain(
      join(dir, 'etc/docker/certs.d/docker.io'),
    );
    postStep(first.path);
    postStep(second.path);
    expect(snapshot(dir)).toEqual(before);
  });

  test('a journal whose job ended is reverted by the next run; the hook reverts its own job at once, never another running job', async () => {
    const [ended, running] = [await job(), await job()];
    jobs.push(ended, running);
    const before = snapshot(dir);
    const gone = mainStep('aaaaaaaa', ended.owner);
    const still = mainStep('bbbbbbbb', running.owner, dirsOf([gone.path]));
    // The hook of the job this test process stands for: its own journal is reverted though its worker still runs.
    const own = mainStep('cccccccc', ancestry()[1]!, dirsOf([gone.path, still.path]));
    await ended.end();

    const hook = revertLeftoverJournals(
      registryJournalFiles(env(), 1000),
      'job-completed',
      { running: ownerRunning, ancestors: ancestry() },
      opsFor,
    );
    expect(hook.map((o) => [o.path, kinds([o])[0]])).toEqual([
      [gone.path, 'reverted'],
      [still.path, 'running'],
      [own.path, 'reverted'],
    ]);
    expect(existsSync(gone.path)).toBe(false);
    expect(existsSync(own.path)).toBe(false);
    expect(readdirSync(join(dir, 'etc/docker/certs.d/docker.io'))).toEqual([certFileName('bbbbbbbb')]);

    await running.end();
    expect(kinds(revertLeftoverJournals(registryJournalFiles(env(), 1000), 'next-run', live, opsFor))).toEqual([
      'reverted',
    ]);
    expect(snapshot(dir)).toEqual(before);
  });

  test('one journal that cannot be read is reported and the others are still reverted; an older single journal without an owner is a leftover', async () => {
    const target = join(dir, 'etc/docker/certs.d/a.io/org-ca.crt');
    mkdirSync(join(dir, 'etc/docker/certs.d/a.io'), { recursive: true });
    writeFileSync(target, 'what an earlier version wrote');
    const { createHash } = await import('node:crypto');
    // The file name and shape an earlier version used.
    writeFileSync(
      join(state, 'registry-journal.json'),
      JSON.stringify({
        mode: 'root',
        entries: [
          {
            type: 'file',
            path: target,
            privileged: true,
            sha256: createHash('sha256').update('what an earlier version wrote').digest('hex'),
          },
        ],
      }),
    );
    writeFileSync(
      join(state, 'registry-journal-0badf00d.json'),
      '{"mode": "root", "owner": {"pid": "1; reboot"}, "entries": []}',
    );
    writeFileSync(join(state, 'store-journal.json'), '{}');
    const outcomes = revertLeftoverJournals(registryJournalFiles(env(), 1000), 'next-run', live, opsFor);
    expect(outcomes.map((o) => o.path.split('/').at(-1))).toEqual([
      'registry-journal-0badf00d.json',
      'registry-journal.json',
    ]);
    expect(kinds(outcomes)).toEqual(['error', 'reverted']);
    expect((outcomes[0] as { error: string }).error).toMatch(
      /registry-journal-0badf00d\.json' is not an org-ca registry-trust journal/,
    );
    expect(existsSync(target)).toBe(false);
    expect(existsSync(join(state, 'registry-journal-0badf00d.json'))).toBe(true);
  });

  test("a directory that also holds an org-ca file no journal lists (orphaned, or an older version's) is reported, not handed over", async () => {
    const a = await job();
    jobs.push(a);
    const first = mainStep('aaaaaaaa', a.owner);
    writeFileSync(join(dir, 'etc/docker/certs.d/docker.io/org-ca.crt'), 'an older version wrote this');
    const undo = postStep(first.path);
    expect(undo.shared).toEqual([]);
    expect(undo.left.join('\n')).toMatch(/docker\.io: not empty or not removable/);
    expect(existsSync(join(dir, 'etc/docker/certs.d/docker.io', certFileName('aaaaaaaa')))).toBe(false);
  });

  test('every change is journaled before it is made: a step stopped at any point leaves nothing its journal does not list', async () => {
    const a = await job();
    jobs.push(a);
    const path = join(state, 'registry-journal-aaaaaaaa.json');
    const unlisted: string[] = [];
    applyRegistryTrust({
      registries: ['docker.io'],
      caPath: ca,
      runId: 'aaaaaaaa',
      owner: a.owner,
      env: {},
      uid: 0,
      mode: 'root',
      locations: locations(),
      save: (j) => {
        writeJournalFile(path, j);
        // At each save the newest entry is not made yet, and everything that exists under etc/ is listed.
        const listed = new Set(j.entries.map((e) => e.path));
        expect(existsSync(j.entries.at(-1)!.path)).toBe(false);
        for (const p of Object.keys(snapshot(dir)).filter((p) => p.includes('/etc/')))
          if (!listed.has(p)) unlisted.push(p);
      },
    });
    expect(unlisted).toEqual([]);
    expect(readJournalFile(path)!.owner).toEqual(a.owner);
  });

  test.each([
    ['org-ca-a1b2c3d4.crt', true],
    ['org-ca.crt', true],
    ['org-ca-A1B2C3D4.crt', false],
    ['org-ca-a1b2.crt', false],
    ['ca.crt', false],
    ['org-ca-a1b2c3d4.crt.bak', false],
  ])('isOrgCaCertName(%s) = %s', (name, expected) => {
    expect(isOrgCaCertName(name)).toBe(expected);
  });

  test('a run id that is not hex is refused with the value', () => {
    expect(() => certFileName('../x')).toThrow("run id '../x' is not 8 to 32 hex digits");
  });
});
