/**
 * Each CI system's own way of reading what `org-ca env --format X` prints. Where the consumer runs here it is run for
 * real (bash sourcing a file, the JVM's java.util.Properties); where it cannot (GitLab's Rails service, the Azure
 * Pipelines agent) its parser is transcribed line for line from the cited source.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
export type Parsed = Record<string, string>;

function scratch<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'org-ca-consumer-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Prints the named variables of the environment it runs in as JSON (what `buildkite-agent env dump` does). */
const DUMP = `console.log(JSON.stringify(Object.fromEntries(process.argv.slice(1).map((n) => [n, process.env[n] ?? null]))))`;

function bashThenDump(script: string, names: readonly string[], env: NodeJS.ProcessEnv): Parsed {
  const r = spawnSync('bash', ['-e', '-c', `${script}\n"$ORG_CA_NODE" -e "$ORG_CA_DUMP" "$@"`, 'bash', ...names], {
    encoding: 'utf8',
    // stdin from /dev/null: libuv's pipes are socketpairs, and bash on a socket thinks sshd started it and sources
    // ~/.bashrc instead of $BASH_ENV.
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, ORG_CA_NODE: process.execPath, ORG_CA_DUMP: DUMP, ...env },
  });
  if (r.status !== 0) throw new Error(`bash failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Parsed;
}

/** CircleCI: every step is a non-interactive bash, which sources the file named by BASH_ENV before the command. */
export function circleciBashEnv(text: string, names: readonly string[]): Parsed {
  return scratch((dir) => {
    const file = join(dir, 'bash_env');
    writeFileSync(file, text);
    return bashThenDump('true', names, { BASH_ENV: file });
  });
}

/** Buildkite: the agent sources the environment hook in bash and keeps the variables the hook exported. */
export function buildkiteEnvironmentHook(text: string, names: readonly string[]): Parsed {
  return scratch((dir) => {
    const hook = join(dir, 'environment');
    writeFileSync(hook, `#!/bin/bash\nset -euo pipefail\n${text}`);
    return bashThenDump(`source '${hook}'`, names, {});
  });
}

/** Jenkins readProperties: java.util.Properties.load, run by the JVM; values come back base64 so nothing is re-parsed. */
export function jenkinsReadProperties(text: string): Parsed {
  return scratch((dir) => {
    const file = join(dir, 'org-ca.properties');
    writeFileSync(file, text, 'latin1');
    const out = execFileSync('java', [join(HERE, 'LoadProperties.java'), file], { encoding: 'utf8', timeout: 60_000 });
    const parsed: Parsed = {};
    for (const line of out.split('\n').filter(Boolean)) {
      const [k, v] = line.split(' ');
      parsed[Buffer.from(k!, 'base64').toString()] = Buffer.from(v ?? '', 'base64').toString();
    }
    return parsed;
  });
}

/**
 * GitLab: Ci::ParseDotenvArtifactService#scan_line! — `line.scan(/^(.*?)=(.*)$/).last`, `raise 'Invalid Format'` when
 * nil, `result.each(&:strip!)`; Ci::JobVariable validates the key against /\A[a-zA-Z0-9_]+\z/. Ruby's each_line keeps
 * the "\n"; Ruby's `.` matches "\r", like JS's without the s flag; `^`/`$` are per line in Ruby, hence the m flag.
 */
export function gitlabDotenvReport(text: string): Parsed {
  const parsed: Parsed = {};
  for (const line of text.match(/[^\n]*\n|[^\n]+$/g) ?? []) {
    const matches = [...line.matchAll(/^(.*?)=(.*)$/gm)];
    const last = matches.at(-1);
    if (!last) throw new Error(`Invalid Format: ${JSON.stringify(line)}`);
    const key = last[1]!.trim();
    if (!/^[a-zA-Z0-9_]+$/.test(key)) throw new Error(`invalid key ${JSON.stringify(key)}`);
    parsed[key] = last[2]!.trim();
  }
  return parsed;
}

/**
 * Azure Pipelines agent: Command.TryParse takes each output line, finds `##vso[`, the first `]` after it, splits
 * `area.event` from `k=v;k=v`, and unescapes properties and data with CommandStringConvertor.Unescape
 * (mappings first, then %AZP25 → % with DecodePercents on). Only task.setvariable lines are kept.
 */
export function azureAgent(text: string): Parsed {
  const unescape = (s: string): string => {
    let out = s;
    for (const [token, replacement] of [
      [';', '%3B'],
      ['\r', '%0D'],
      ['\n', '%0A'],
      [']', '%5D'],
    ] as const) {
      out = out.split(replacement).join(token);
    }
    return out.split('%AZP25').join('%');
  };
  const parsed: Parsed = {};
  // The agent reads the process output line by line (\n; a trailing \r is trimmed by the reader).
  for (const line of text.split('\n')) {
    const prefix = line.indexOf('##vso[');
    if (prefix < 0) continue;
    const rb = line.indexOf(']', prefix);
    if (rb < 0) continue;
    const info = line.slice(prefix + 6, rb);
    const space = info.indexOf(' ');
    const name = space < 0 ? info : info.slice(0, space);
    if (name.split('.').filter(Boolean).join('.') !== 'task.setvariable') continue;
    const properties: Record<string, string> = {};
    for (const part of (space < 0 ? '' : info.slice(space + 1)).split(';').filter(Boolean)) {
      const eq = part.indexOf('=');
      if (eq > 0 && eq < part.length - 1) properties[part.slice(0, eq).toLowerCase()] = unescape(part.slice(eq + 1));
    }
    if (properties.variable) parsed[properties.variable] = unescape(line.slice(rb + 1));
  }
  return parsed;
}
