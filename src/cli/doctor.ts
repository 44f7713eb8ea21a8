import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { makeTempDirectory } from '../fs/ensure-directory.js';
import { delimiter, join } from 'node:path';
import type { ValidatedCa } from '../ca/validate.js';
import { explain, type Runtime } from '../detect/catalogue.js';
import { DEFAULT_PROBE_URLS, detect } from '../detect/detect.js';
import { toJson, verdictLine, type ProbeJson } from '../detect/probe-report.js';
import { parseTarget, routeFor } from '../detect/route.js';
import { publicRoots, systemRoots } from '../detect/trust.js';
import { prepareInjection } from '../tools/inject.js';
import { currentPlatform, loadCaArgument } from './ca-options.js';
import { parseDuration } from '../options/parse.js';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command-kit.js';
import { present } from '../lang/present.js';

const HELP = `Usage: org-ca doctor [URL] [--ca FILE] [--json] [--timeout DURATION]

Runs the clients installed here (node, python3, curl, git, java) against URL the way they run in a job, with
the current environment (proxy variables included), and for each failure prints the client's own error, what
it means, and the one setting that fixes it for that tool. With --ca, runs each failing client again with
org-ca's settings to show whether the org CA fixes it.

URL defaults to ${DEFAULT_PROBE_URLS[0]}.

Options:
  --ca FILE            the org CA: PEM, DER, base64 or .p7b; - reads standard input
  --json               print the result as JSON
  --timeout DURATION   per-client time limit, 1s to 10m (default 20s; e.g. 30s, 2m; a bare number is seconds)
  -h, --help           this help

Exit status: 0 when every installed client verifies TLS (with --ca: once org-ca's settings are applied), 1 otherwise;
2 usage or input error.`;

/** Per-client time limit: a cold JVM compiling the probe takes seconds; ten minutes is surely a hung client. */
const CLIENT_TIMEOUT_RANGE = { minMs: 1000, maxMs: 600_000 };
const DEFAULT_CLIENT_TIMEOUT_MS = 20_000;

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
    const started = Date.now();
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', (error) => resolve({ code: -1, out: error.message }));
    // A JVM exits 143 on SIGTERM rather than dying of it: the clock, not the signal, says it was stopped.
    child.on('close', (code, signal) => {
      const stopped = signal !== null || Date.now() - started >= timeoutMs;
      resolve({ code, out: stopped ? `${out}\n(stopped after ${timeoutMs} ms: no answer within --timeout)` : out });
    });
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
  return (
    `${r.stdout ?? ''}${r.stderr ?? ''}`
      .split('\n')
      .find((l) => l.trim())
      ?.trim() ?? ''
  );
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
/**
 * PROXY_TLS: the clients that cannot speak TLS to a proxy (Java's HttpsURLConnection, Python's urllib: measured, both
 * send CONNECT and Proxy-Authorization in clear to an https:// proxy). For an https:// proxy the doctor refuses to
 * run them, in one line, rather than hand them the credentials; curl, git and Node speak TLS to it.
 */
export function proxyTlsRefusal(client: string, url: string, env: Env): string | undefined {
  const route = routeFor(parseTarget(url), env);
  if (route.kind !== 'proxy' || route.protocol !== 'https:') return undefined;
  return `${client} cannot speak TLS to the https:// proxy ${route.display}: org-ca will not send the proxy credentials in clear; check ${client} behind this proxy through an http:// proxy address, or with your build tool's own settings.`;
}

export function javaProxy(url: string, env: Env): { flags: string[]; env: Env } {
  const route = routeFor(parseTarget(url), env);
  if (route.kind !== 'proxy') return { flags: [], env: {} };
  const flags = [`-Dhttps.proxyHost=${route.host}`, `-Dhttps.proxyPort=${route.port}`, '-Dhttp.nonProxyHosts='];
  if (!route.authorization) return { flags, env: {} };
  const userPass = Buffer.from(route.authorization.replace(/^Basic /, ''), 'base64').toString();
  return {
    flags: [...flags, '-Djdk.http.auth.tunneling.disabledSchemes='],
    env: { ORG_CA_DOCTOR_PROXY_AUTH: userPass },
  };
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
      const refused = proxyTlsRefusal('python3', url, env);
      if (refused) return { ok: false, text: refused };
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
      const r = await exec(
        ['curl', '-sS', '-I', '-o', '/dev/null', '--max-time', String(Math.ceil(timeoutMs / 1000)), url],
        env,
        timeoutMs + 2000,
      );
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
      const r = await exec(
        ['git', 'ls-remote', '--heads', url],
        { ...env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true' },
        timeoutMs,
      );
      const text = lastLines(r.out);
      // An HTTP-level answer (not a repository, 404, auth wanted) means the TLS handshake worked.
      const httpAnswer =
        /returned error: \d{3}|not found|Authentication failed|not valid|could not read Username|repository .* not found/i.test(
          text,
        );
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
      const refused = proxyTlsRefusal('java', url, env);
      if (refused) return { ok: false, text: refused };
      const proxy = javaProxy(url, env);
      const r = await exec(['java', ...proxy.flags, source, url], { ...env, ...proxy.env }, timeoutMs);
      // JAVA_TOOL_OPTIONS makes the JVM print "Picked up JAVA_TOOL_OPTIONS: …" first; that is not the answer.
      const out = r.out.replace(/^Picked up JAVA_TOOL_OPTIONS:.*$/gm, '');
      return { ok: r.code === 0, text: lastLines(out, 1) };
    },
  },
];

/** One client's result as `--json` prints it and the text report renders it. */
export interface ClientResult {
  readonly name: string;
  readonly installed: boolean;
  readonly version?: string;
  readonly ok?: boolean;
  /** The client's own words when it failed. */
  readonly error?: string;
  /** The catalogue's id and meaning, and the one setting that fixes it; absent when not a trust error. */
  readonly explanation?: { readonly id: string; readonly meaning: string; readonly fix: string };
  /** With --ca, for a failing client: whether org-ca's settings fix it. */
  readonly withOrgCa?: { readonly ok: boolean; readonly error?: string };
}

export interface DoctorReport {
  readonly url: string;
  readonly probe: ProbeJson;
  readonly clients: readonly ClientResult[];
  /** The CA given with --ca, by subject. */
  readonly ca?: string;
  readonly ok: boolean;
}

function explained(name: string, run: ClientRun): ClientResult['explanation'] {
  const explanation = explain(run.text, CLIENTS.find((c) => c.name === name)?.runtime);
  return explanation
    ? { id: explanation.error.id, meaning: explanation.error.meaning, fix: explanation.fix }
    : undefined;
}

/** The text report: one block per client, then what org-ca's settings changed. Pure. */
export function renderDoctorText(report: DoctorReport, probeLine: string): string {
  const lines = [`probe: ${probeLine}`, ''];
  for (const c of report.clients.filter((c) => c.installed)) {
    lines.push(`${c.ok ? 'OK  ' : 'FAIL'}  ${c.name}  (${c.version ?? ''})`);
    if (c.ok) continue;
    for (const l of (c.error ?? '').split('\n')) lines.push(`      error: ${l}`);
    if (c.explanation)
      lines.push(`      means: ${c.explanation.id}: ${c.explanation.meaning}.`, `      fix:   ${c.explanation.fix}`);
    else lines.push('      means: not a certificate-trust error (network, proxy or HTTP): the CA is not the cause.');
  }
  for (const c of report.clients.filter((c) => !c.installed)) lines.push(`--    ${c.name}  (not installed)`);
  const retried = report.clients.filter((c) => c.withOrgCa);
  if (report.ca && retried.length) {
    lines.push('', `With org-ca's settings (${report.ca}):`);
    for (const c of retried)
      lines.push(
        c.withOrgCa!.ok
          ? `OK    ${c.name}  fixed`
          : `FAIL  ${c.name}  still failing: ${(c.withOrgCa!.error ?? '').split('\n').join(' / ')}`,
      );
  }
  return `${lines.join('\n')}\n`;
}

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'run the installed clients against a URL and explain their TLS errors',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'doctor',
      argv,
      { ca: { type: 'string' }, timeout: { type: 'string' }, json: { type: 'boolean' } },
      true,
    );
    if (positionals.length > 1)
      throw new UsageError(`doctor: one URL at most, got ${positionals.length} (see 'org-ca doctor --help')`);
    const timeoutMs = parseDuration('--timeout', values.timeout ?? '', DEFAULT_CLIENT_TIMEOUT_MS, CLIENT_TIMEOUT_RANGE);
    const url = parseTarget(positionals[0] ?? DEFAULT_PROBE_URLS[0]!).url;
    const now = new Date();
    const ca: ValidatedCa | undefined = values.ca ? loadCaArgument(values.ca, now) : undefined;
    const env = process.env;
    const dir = await makeTempDirectory(tmpdir(), 'org-ca-doctor-', { purpose: 'TMPDIR' });
    try {
      const [verdict] = await detect({
        urls: [url],
        env,
        timeoutMs: 5000,
        trust: { org: ca?.certs ?? [], public: publicRoots(), system: systemRoots },
        now,
      });

      const installed = CLIENTS.filter((c) => onPath(c.bin, env));
      const runs = await Promise.all(installed.map((c) => c.run(url, env, dir, timeoutMs)));
      const failing = installed.filter((_c, i) => !runs[i]!.ok);

      // Again, with what `org-ca env` / the action would set.
      const again = new Map<string, ClientRun>();
      if (ca && failing.length) {
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
        const results = await Promise.all(failing.map((c) => c.run(url, fixedEnv, dir, timeoutMs)));
        failing.forEach((c, i) => again.set(c.name, results[i]!));
      }

      const clients: ClientResult[] = CLIENTS.map((c) => {
        const i = installed.indexOf(c);
        if (i === -1) return { name: c.name, installed: false };
        const run = runs[i]!;
        const retry = again.get(c.name);
        const explanation = run.ok ? undefined : explained(c.name, run);
        return {
          name: c.name,
          installed: true,
          version: c.version(env),
          ok: run.ok,
          ...present({
            error: run.ok ? undefined : run.text,
            explanation,
            withOrgCa: retry ? { ok: retry.ok, ...present({ error: retry.ok ? undefined : retry.text }) } : undefined,
          }),
        };
      });
      const ok = clients.every((c) => !c.installed || c.ok || c.withOrgCa?.ok);
      const report: DoctorReport = {
        url,
        probe: toJson([verdict!])[0]!,
        clients,
        ...present({ ca: ca ? ca.primary.subject : undefined }),
        ok,
      };
      process.stdout.write(
        values.json ? `${JSON.stringify(report, null, 2)}\n` : renderDoctorText(report, verdictLine(verdict!)),
      );
      return ok ? EXIT.ok : EXIT.failed;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
