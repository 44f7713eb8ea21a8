import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { makeTempDirectory } from '../fs/ensure-directory.js';
import { delimiter, join } from 'node:path';
import type { ValidatedCa } from '../ca/validate.js';
import { explain, type Runtime } from '../detect/catalogue.js';
import { DEFAULT_PROBE_URLS, detect } from '../detect/detect.js';
import { verdictLine } from '../detect/report.js';
import { parseTarget, routeFor, TargetError } from '../detect/route.js';
import { publicRoots, systemRoots } from '../detect/trust.js';
import { prepareInjection } from '../tools/inject.js';
import { currentPlatform, loadCaArgument } from './ca-options.js';
import { EXIT_FAILURE, EXIT_OK, parseCommandArgs, UsageError, type Command } from './command.js';

const HELP = `Usage: org-ca doctor [URL] [--ca FILE]

Runs the clients installed here (node, python3, curl, git, java) against URL the way they run in a job, with
the current environment (proxy variables included), and for each failure prints the client's own error, what
it means, and the one setting that fixes it for that tool. With --ca, runs each failing client again with
org-ca's settings to show whether the org CA fixes it.

URL defaults to ${DEFAULT_PROBE_URLS[0]}.

Options:
  --ca FILE        the org CA: PEM, DER, base64 or .p7b; - reads standard input
  --timeout SECS   per-client time limit (default 20)
  -h, --help       this help

Exit status: 0 when every installed client verifies TLS (with --ca: once org-ca's settings are applied), 1 otherwise.`;

type Env = NodeJS.ProcessEnv;

interface ClientRun {
  /** The client verified the server's chain (an HTTP error status still counts: TLS worked). */
  readonly ok: boolean;
  /** The client's own words: the last meaningful lines of its output. */
  readonly text: string;
}

interface Client {
  readonly name: string;
  readonly runtime: Runtime;
  /** The executable looked up on PATH; absent = not installed. */
  readonly bin: string;
  version(env: Env): string;
  run(url: string, env: Env, dir: string, timeoutMs: number): Promise<ClientRun>;
}

function onPath(bin: string, env: Env): string | undefined {
  if (bin.includes('/')) return bin;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, bin);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function exec(argv: readonly string[], env: Env, timeoutMs: number): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', (error) => resolve({ code: -1, out: error.message }));
    child.on('close', (code, signal) => resolve({ code, out: signal ? `${out}\n(killed by ${signal} after ${timeoutMs} ms)` : out }));
  });
}

/** The lines that say what went wrong, without stack frames. */
function lastLines(out: string, n = 2): string {
  return out
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() && !/^\s+at |^\s*File "|^\s*\^|^Traceback|^\s+\.\.\./.test(l))
    .slice(-n)
    .join('\n');
}

const firstLine = (argv: string[], env: Env): string => {
  const r = spawnSync(argv[0]!, argv.slice(1), { env, encoding: 'utf8', timeout: 10000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n').find((l) => l.trim())?.trim() ?? '';
};

// Node: fetch through the proxy from the environment (NODE_USE_ENV_PROXY, Node ≥24), as npm and most tools go.
const NODE_SCRIPT = `fetch(process.argv[1],{method:'HEAD',signal:AbortSignal.timeout(${15000})}).then(r=>{console.log('HTTP '+r.status);},e=>{const c=e.cause||e;console.error((c.code?c.code+': ':'')+(c.message||c));process.exit(1);});`;
const PY_SCRIPT = `import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(urllib.request.Request(sys.argv[1], method="HEAD"), timeout=15)
    print("HTTP ok")
except urllib.error.HTTPError as e:
    print("HTTP", e.code)
except Exception as e:
    print(repr(e), file=sys.stderr)
    sys.exit(1)`;
const JAVA_SOURCE = `import java.net.*; import javax.net.ssl.*;
public class OrgCaDoctor { public static void main(String[] a) throws Exception {
  String auth = System.getenv("ORG_CA_DOCTOR_PROXY_AUTH");
  if (auth != null) { int i = auth.indexOf(':'); final String u = auth.substring(0, i), p = auth.substring(i + 1);
    Authenticator.setDefault(new Authenticator() { protected PasswordAuthentication getPasswordAuthentication() {
      return getRequestorType() == RequestorType.PROXY ? new PasswordAuthentication(u, p.toCharArray()) : null; } }); }
  try { HttpsURLConnection c = (HttpsURLConnection) new URI(a[0]).toURL().openConnection();
        c.setConnectTimeout(15000); c.setReadTimeout(15000); c.setRequestMethod("HEAD");
        System.out.println("HTTP " + c.getResponseCode());
  } catch (Exception e) { System.err.println(e); System.exit(1); } } }`;

/**
 * Java reads no proxy variable; Maven/Gradle users set https.proxyHost etc., so the doctor does the same for the
 * route the other clients take. http.nonProxyHosts is emptied: OpenJDK appends its loopback default to any non-empty
 * value, and the route already applied NO_PROXY. Basic proxy auth over CONNECT is off by default in the JDK
 * (jdk.http.auth.tunneling.disabledSchemes=Basic); the credentials go to the child in its environment, not argv.
 */
export function javaProxy(url: string, env: Env): { flags: string[]; env: Env } {
  const route = routeFor(parseTarget(url), env);
  if (route.kind !== 'proxy') return { flags: [], env: {} };
  const flags = [`-Dhttps.proxyHost=${route.host}`, `-Dhttps.proxyPort=${route.port}`, '-Dhttp.nonProxyHosts='];
  if (!route.authorization) return { flags, env: {} };
  const userPass = Buffer.from(route.authorization.replace(/^Basic /, ''), 'base64').toString();
  return { flags: [...flags, '-Djdk.http.auth.tunneling.disabledSchemes='], env: { ORG_CA_DOCTOR_PROXY_AUTH: userPass } };
}

const CLIENTS: readonly Client[] = [
  {
    name: 'node',
    runtime: 'node',
    bin: process.execPath,
    version: () => `node ${process.version}`,
    async run(url, env, _dir, timeoutMs) {
      const r = await exec([process.execPath, '-e', NODE_SCRIPT, url], { ...env, NODE_USE_ENV_PROXY: '1' }, timeoutMs);
      return { ok: r.code === 0, text: lastLines(r.out) };
    },
  },
  {
    name: 'python3',
    runtime: 'python',
    bin: 'python3',
    version: (env) => firstLine(['python3', '--version'], env),
    async run(url, env, _dir, timeoutMs) {
      const r = await exec(['python3', '-c', PY_SCRIPT, url], env, timeoutMs);
      return { ok: r.code === 0, text: lastLines(r.out, 1) };
    },
  },
  {
    name: 'curl',
    runtime: 'curl',
    bin: 'curl',
    version: (env) => firstLine(['curl', '--version'], env).split(' ').slice(0, 2).join(' '),
    async run(url, env, _dir, timeoutMs) {
      const r = await exec(['curl', '-sS', '-I', '-o', '/dev/null', '--max-time', String(Math.ceil(timeoutMs / 1000)), url], env, timeoutMs + 2000);
      // curl follows its one-line error with paragraphs of advice; the `curl: (N)` line is the error itself.
      const line = r.out.split('\n').find((l) => /^curl: \(\d+\)/.test(l)) ?? lastLines(r.out);
      return { ok: r.code === 0, text: r.code === 0 ? 'TLS ok' : `${line} (exit ${r.code})` };
    },
  },
  {
    name: 'git',
    runtime: 'git',
    bin: 'git',
    version: (env) => firstLine(['git', '--version'], env),
    async run(url, env, _dir, timeoutMs) {
      const r = await exec(['git', 'ls-remote', '--heads', url], { ...env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true' }, timeoutMs);
      const text = lastLines(r.out);
      // An HTTP-level answer (not a repository, 404, auth wanted) means the TLS handshake worked.
      const httpAnswer = /returned error: \d{3}|not found|Authentication failed|not valid|could not read Username|repository .* not found/i.test(text);
      return { ok: r.code === 0 || (httpAnswer && !explain(text, 'git')), text: r.code === 0 ? 'TLS ok' : text };
    },
  },
  {
    name: 'java',
    runtime: 'java',
    bin: 'java',
    version: (env) => firstLine(['java', '-version'], env),
    async run(url, env, dir, timeoutMs) {
      const source = join(dir, 'OrgCaDoctor.java');
      writeFileSync(source, JAVA_SOURCE);
      const proxy = javaProxy(url, env);
      const r = await exec(['java', ...proxy.flags, source, url], { ...env, ...proxy.env }, timeoutMs);
      // JAVA_TOOL_OPTIONS makes the JVM print "Picked up JAVA_TOOL_OPTIONS: …" first; that is not the answer.
      const out = r.out.replace(/^Picked up JAVA_TOOL_OPTIONS:.*$/gm, '');
      return { ok: r.code === 0, text: lastLines(out, 1) };
    },
  },
];

function report(name: string, version: string, run: ClientRun): string[] {
  const lines = [`${run.ok ? 'OK  ' : 'FAIL'}  ${name}  (${version})`];
  if (run.ok) return lines;
  for (const l of run.text.split('\n')) lines.push(`      error: ${l}`);
  const explanation = explain(run.text, CLIENTS.find((c) => c.name === name)?.runtime);
  if (explanation) {
    lines.push(`      means: ${explanation.error.id}: ${explanation.error.meaning}.`, `      fix:   ${explanation.fix}`);
  } else {
    lines.push('      means: not a certificate-trust error (network, proxy or HTTP): the CA is not the cause.');
  }
  return lines;
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'run the installed clients against a URL and explain their TLS errors',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs('doctor', argv, { ca: { type: 'string' }, timeout: { type: 'string' } }, true);
    if (positionals.length > 1) throw new UsageError(`doctor: one URL at most, got ${positionals.length} (see 'org-ca doctor --help')`);
    const timeoutSecs = values.timeout === undefined ? 20 : Number(values.timeout);
    if (!Number.isFinite(timeoutSecs) || timeoutSecs <= 0 || timeoutSecs > 600) throw new UsageError(`doctor: invalid --timeout '${values.timeout}': expected seconds from 1 to 600`);
    let url: string;
    try {
      url = parseTarget(positionals[0] ?? DEFAULT_PROBE_URLS[0]!).url;
    } catch (error) {
      if (error instanceof TargetError) throw new UsageError(`doctor: ${error.message}`);
      throw error;
    }
    const now = new Date();
    let ca: ValidatedCa | undefined;
    if (values.ca) {
      ca = loadCaArgument(values.ca, now);
    }
    const env = process.env;
    const timeoutMs = timeoutSecs * 1000;
    const dir = await makeTempDirectory(tmpdir(), 'org-ca-doctor-', { purpose: 'TMPDIR' });
    try {
      const [verdict] = await detect({ urls: [url], env, timeoutMs: 5000, trust: { org: ca?.certs ?? [], public: publicRoots(), system: systemRoots }, now });
      process.stdout.write(`probe: ${verdictLine(verdict!)}\n\n`);

      const installed = CLIENTS.filter((c) => onPath(c.bin, env));
      const missing = CLIENTS.filter((c) => !installed.includes(c));
      const runs = await Promise.all(installed.map((c) => c.run(url, env, dir, timeoutMs)));
      const lines: string[] = [];
      installed.forEach((c, i) => lines.push(...report(c.name, c.version(env), runs[i]!)));
      for (const c of missing) lines.push(`--    ${c.name}  (not installed)`);
      process.stdout.write(`${lines.join('\n')}\n`);

      const failing = installed.filter((_c, i) => !runs[i]!.ok);
      if (!ca || failing.length === 0) return failing.length === 0 ? EXIT_OK : EXIT_FAILURE;

      // Again, with what `org-ca env` / the action would set.
      const injection = await prepareInjection({
        certs: ca.certs,
        env,
        platform: currentPlatform(),
        dir: join(dir, 'files'),
        workspace: process.cwd(),
        onVerificationOff: 'warn',
      });
      const fixedEnv: Env = { ...env };
      for (const v of injection.plan.variables) fixedEnv[v.name] = v.value;
      const again = await Promise.all(failing.map((c) => c.run(url, fixedEnv, dir, timeoutMs)));
      process.stdout.write(`\nWith org-ca's settings (${ca.primary.subject}):\n`);
      failing.forEach((c, i) => {
        const r = again[i]!;
        process.stdout.write(r.ok ? `OK    ${c.name}  fixed\n` : `FAIL  ${c.name}  still failing: ${r.text.split('\n').join(' / ')}\n`);
      });
      return again.every((r) => r.ok) ? EXIT_OK : EXIT_FAILURE;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
