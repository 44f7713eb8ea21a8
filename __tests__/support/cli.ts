/**
 * The CLI as engineers run it: the `cli` bundle of scripts/build.mjs, built from the current sources (or
 * ORG_CA_TEST_DIST), started as a separate Node 24 process.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { buildDist } from './inspection/action-runner.js';

/** The bundled CLI's entry point, dist/cli/index.js of a build of the current sources. */
export async function cliEntry(): Promise<string> {
  return join(await buildDist(['cli']), 'cli', 'index.js');
}

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** The whole environment (process.env is not inherited). */
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

/** Runs the CLI without blocking the test process (a server in the test itself must keep answering). */
export function runCli(entry: string, args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [entry, ...args], {
      env: options.env ?? { PATH: process.env.PATH },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(options.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}
