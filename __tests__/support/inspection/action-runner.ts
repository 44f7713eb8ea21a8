/**
 * Runs the bundled action the way the Actions runner does: `node dist/<entry>/index.js` with inputs as INPUT_<NAME>,
 * fresh GITHUB_ENV/GITHUB_OUTPUT/GITHUB_STATE/GITHUB_STEP_SUMMARY files, and saved state passed to the post step as
 * STATE_<name> variables.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ActionRun {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** GITHUB_ENV as the runner reads it: what later steps get. */
  readonly env: Record<string, string>;
  readonly outputs: Record<string, string>;
  readonly state: Record<string, string>;
  readonly summary: string;
  /** Raw text of each file command, for "this never appears anywhere" checks. */
  readonly files: { readonly env: string; readonly output: string; readonly state: string; readonly summary: string };
  readonly runnerTemp: string;
}

export interface RunActionOptions {
  /** Input names as in action.yml (`ca-file`), values as the runner would pass them. */
  readonly inputs?: Readonly<Record<string, string>>;
  /** The step's environment (process.env is NOT inherited: pass what the job would have). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Saved state from the main step, for `post` (the runner passes it as STATE_<name>). */
  readonly state?: Readonly<Record<string, string>>;
  /** RUNNER_TEMP to use (default: a fresh directory). The post step must get the main step's. */
  readonly runnerTemp?: string;
  readonly runnerEnvironment?: string;
  readonly timeoutMs?: number;
  /** Where the file-command files go (default: the OS temp dir); never inside RUNNER_TEMP. */
  readonly workRoot?: string;
  /**
   * Run the step under a shell that exits with it, as a job's Runner.Worker ends with the job: the journals the step
   * writes then belong to a job that has ended (src/fs/job-owner.ts). By default the step's parent is the test worker,
   * which outlives it, as a running job's worker does.
   */
  readonly jobEnds?: boolean;
  /** Run the step as a child of this stand-in for another job's Runner.Worker (startJobWorker). */
  readonly worker?: JobWorker;
}

/**
 * A stand-in for one job's Runner.Worker: a process that outlives the steps it starts until `end()`, so that steps
 * started through it belong to a job other than the test worker's while it runs (src/fs/job-owner.ts).
 */
export interface JobWorker {
  readonly pid: number;
  run(
    args: readonly string[],
    env: Readonly<Record<string, string>>,
    cwd: string,
    timeoutMs: number,
  ): Promise<{ exitCode: number | null; stdout: string; stderr: string }>;
  end(): Promise<void>;
}

const WORKER_LOOP = `
const { spawn } = require('node:child_process');
require('node:readline').createInterface({ input: process.stdin }).on('line', (line) => {
  const { id, args, env, cwd, timeoutMs } = JSON.parse(line);
  const child = spawn(process.execPath, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  child.on('close', (exitCode) => {
    clearTimeout(timer);
    process.stdout.write(JSON.stringify({ id, exitCode, stdout, stderr }) + '\\n');
  });
});
`;

export async function startJobWorker(): Promise<JobWorker> {
  const worker = spawn(process.execPath, ['-e', WORKER_LOOP], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    worker.once('spawn', resolve);
    worker.once('error', reject);
  });
  const waiting = new Map<number, (result: { exitCode: number | null; stdout: string; stderr: string }) => void>();
  // A worker that is gone answers every step still waiting: never a test that hangs.
  worker.once('exit', (code, signal) => {
    for (const answer of waiting.values())
      answer({ exitCode: null, stdout: '', stderr: `the job worker exited (${signal ?? code}) before the step ended` });
    waiting.clear();
  });
  let buffered = '';
  worker.stdout.setEncoding('utf8');
  worker.stdout.on('data', (d: string) => {
    buffered += d;
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const { id, ...result } = JSON.parse(buffered.slice(0, nl)) as {
        id: number;
        exitCode: number | null;
        stdout: string;
        stderr: string;
      };
      buffered = buffered.slice(nl + 1);
      waiting.get(id)?.(result);
      waiting.delete(id);
    }
  });
  let next = 0;
  return {
    pid: worker.pid!,
    run: (args, env, cwd, timeoutMs) =>
      new Promise((resolve) => {
        const id = next++;
        waiting.set(id, resolve);
        worker.stdin.write(`${JSON.stringify({ id, args, env, cwd, timeoutMs })}\n`);
      }),
    end: async () => {
      if (worker.exitCode !== null || worker.signalCode !== null) return;
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGKILL');
      await exited;
    },
  };
}

/** The runner's input variable: upper-cased, spaces → `_`, hyphens kept (actions/runner; @actions/core getInput). */
export function inputVariable(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

/**
 * Parses a GITHUB_ENV/GITHUB_OUTPUT/GITHUB_STATE file: `name=value` lines and `name<<DELIMITER` heredocs
 * (https://docs.github.com/actions/reference/workflow-commands-for-github-actions#multiline-strings).
 */
export function parseFileCommands(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '') continue;
    const heredoc = /^([^=]+?)<<(.+)$/.exec(line);
    const eq = line.indexOf('=');
    if (heredoc && (eq === -1 || line.indexOf('<<') < eq)) {
      const [, name, delimiter] = heredoc;
      const value: string[] = [];
      i++;
      while (i < lines.length && lines[i] !== delimiter) value.push(lines[i++]!);
      if (i >= lines.length) throw new Error(`file command '${name}' has no closing delimiter '${delimiter}'`);
      out[name!] = value.join('\n');
    } else if (eq > 0) {
      out[line.slice(0, eq)] = line.slice(eq + 1);
    } else {
      throw new Error(`unparseable file-command line: '${line}'`);
    }
  }
  return out;
}

async function runNode(
  args: readonly string[],
  env: Record<string, string>,
  cwd: string,
  timeoutMs: number,
): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], cwd });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exitCode = await new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  clearTimeout(timer);
  return { exitCode, stdout, stderr };
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** A bundle of scripts/build.mjs: the main action's two steps, or the leak-check sub-action. */
export type ActionEntry = 'main' | 'post' | 'leak-check';
/** The entries of scripts/build.mjs: the action bundles and the CLI. */
export type BuildEntry = ActionEntry | 'cli' | 'leak-worker';

const JOB_THAT_ENDS =
  "require('node:child_process').spawn(process.execPath, [process.argv[1]], { stdio: 'inherit' }).on('exit', (code) => process.exit(code ?? 1))";

export async function runAction(entry: ActionEntry, options: RunActionOptions = {}): Promise<ActionRun> {
  const root = options.workRoot ?? tmpdir();
  const work = mkdtempSync(join(root, `file-commands-${entry}-`));
  const runnerTemp = options.runnerTemp ?? mkdtempSync(join(root, 'runner-temp-'));
  mkdirSync(runnerTemp, { recursive: true });
  const files = {
    env: join(work, 'github_env'),
    output: join(work, 'github_output'),
    state: join(work, 'github_state'),
    summary: join(work, 'step_summary'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.env ?? {})) if (v !== undefined) env[k] = v;
  // The builders' registry trust writes under /etc/docker/certs.d and /etc/containers/certs.d, which every suite on
  // this machine shares: only the registry suites, which hold a lock for it (holdHostTrust), ask for it.
  if (entry === 'main' && options.inputs?.registries === undefined) env[inputVariable('registries')] = 'none';
  for (const [k, v] of Object.entries(options.inputs ?? {})) env[inputVariable(k)] = v;
  for (const [k, v] of Object.entries(options.state ?? {})) env[`STATE_${k}`] = v;
  Object.assign(env, {
    GITHUB_ACTIONS: 'true',
    GITHUB_ENV: files.env,
    GITHUB_OUTPUT: files.output,
    GITHUB_STATE: files.state,
    GITHUB_STEP_SUMMARY: files.summary,
    RUNNER_TEMP: runnerTemp,
    RUNNER_ENVIRONMENT: options.runnerEnvironment ?? env.RUNNER_ENVIRONMENT ?? 'self-hosted',
  });
  const script = join(
    await buildDist(entry === 'leak-check' ? ['leak-check', 'leak-worker'] : undefined),
    entry,
    'index.js',
  );
  // The parent that exits with the step is node, not sh: a POSIX shell drops variables like INPUT_CA-FILE.
  const args = options.jobEnds ? ['-e', JOB_THAT_ENDS, script] : [script];
  const { exitCode, stdout, stderr } = options.worker
    ? await options.worker.run(args, env, runnerTemp, options.timeoutMs ?? 30000)
    : await runNode(args, env, runnerTemp, options.timeoutMs ?? 30000);
  const raw = {
    env: readText(files.env),
    output: readText(files.output),
    state: readText(files.state),
    summary: readText(files.summary),
  };
  return {
    exitCode,
    stdout,
    stderr,
    env: parseFileCommands(raw.env),
    outputs: parseFileCommands(raw.output),
    state: parseFileCommands(raw.state),
    summary: raw.summary,
    files: raw,
    runnerTemp,
  };
}

/**
 * The bundles under test, made by the project's own scripts/build.mjs from the current sources, but in a shadow
 * checkout (copies of src/, scripts/ and the configs, a link to node_modules/) cached by the sources' hash: parallel test files
 * (and engineers) rebuilding dist/ in place would race with each other's runs, and dist/ is the lead's to commit.
 * ORG_CA_TEST_DIST=<dir> uses an existing build instead (e.g. the checked dist/ in CI); ORG_CA_TEST_SOURCE=head builds
 * HEAD's sources instead of the worktree's.
 */
const built = new Map<string, Promise<string>>();
/** Builds `entries` (default: the main action's main and post); other entries share the same cached directory. */
export function buildDist(entries: readonly BuildEntry[] = ['main', 'post']): Promise<string> {
  const key = [...entries].sort().join(',');
  if (!built.has(key)) built.set(key, buildOnce(entries));
  return built.get(key)!;
}

const BUILD_INPUTS = ['src', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json'];

/** ORG_CA_TEST_SOURCE=head builds the committed sources (stable while others edit the shared worktree). */
function fromHead(): boolean {
  return process.env.ORG_CA_TEST_SOURCE === 'head';
}

function sourceHash(): string {
  const hash = createHash('sha256');
  if (fromHead()) {
    for (const name of BUILD_INPUTS)
      hash.update(execFileSync('git', ['rev-parse', `HEAD:${name}`], { cwd: REPO_ROOT }));
    return `head-${hash.digest('hex').slice(0, 16)}`;
  }
  const walk = (path: string): void => {
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name));
    else hash.update(path).update(readFileSync(path));
  };
  for (const name of BUILD_INPUTS) walk(join(REPO_ROOT, name));
  return hash.digest('hex').slice(0, 16);
}

async function buildOnce(entries: readonly BuildEntry[]): Promise<string> {
  if (process.env.ORG_CA_TEST_DIST) return process.env.ORG_CA_TEST_DIST;
  const base = join(tmpdir(), `org-ca-test-dist-${sourceHash()}`);
  // main+post keep their historical directory; another entry set gets a sibling one, so neither build races the other.
  const key = [...entries].sort().join(',');
  const target = key === 'main,post' ? base : `${base}-${key.replace(/,/g, '-')}`;
  if (entries.every((e) => existsSync(join(target, e, 'index.js')))) return target;
  const shadow = mkdtempSync(join(tmpdir(), 'org-ca-test-build-'));
  try {
    // ncc's TypeScript loader resolves a symlinked src/ to its real path and then fails on the real tsconfig's
    // other inputs (measured: TS5110), so sources and configs are copied; only node_modules is linked.
    if (fromHead()) {
      const tar = execFileSync('git', ['archive', '--format=tar', 'HEAD', ...BUILD_INPUTS], {
        cwd: REPO_ROOT,
        maxBuffer: 256 * 1024 * 1024,
      });
      execFileSync('tar', ['-x', '-C', shadow], { input: tar });
    } else {
      for (const name of BUILD_INPUTS) {
        if (existsSync(join(REPO_ROOT, name))) cpSync(join(REPO_ROOT, name), join(shadow, name), { recursive: true });
      }
    }
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(shadow, 'node_modules'));
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [join(shadow, 'scripts', 'build.mjs'), ...entries], {
        cwd: shadow,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stdout.on('data', (d: Buffer) => (err += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.once('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`scripts/build.mjs failed (exit ${code}): ${err.trim()}`)),
      );
    });
    try {
      renameSync(join(shadow, 'dist'), target);
    } catch {
      // another test process won the race with an identical build
    }
  } finally {
    rmSync(shadow, { recursive: true, force: true });
  }
  return target;
}
