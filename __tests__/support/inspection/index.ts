/**
 * The TLS-inspection lab for end-to-end tests: a test PKI, an HTTPS upstream, and real inspection proxies on loopback.
 *
 *   const lab = useInspectionLab({ mitmproxy: true, squid: true });   // at the top of a test file
 *   test('…', async () => { const results = await runClients(['curl'], { env: lab().jobEnv(), proxy: lab().mitmproxy!.url, … }) });
 *
 * useInspectionLab registers beforeAll/afterAll itself, so everything it starts stops after the file, even on failure.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { jobEnv } from './clients.js';
import { writeLabPki, type LabPki } from './lab-pki.js';
import type { Service } from './procs.js';
import { startMitmproxy, startSquid, startUpstream, type Proxy, type Upstream } from './services.js';
import { trustedScratchDir } from '../unprivileged-user.js';

export * from './action-runner.js';
export * from './clients.js';
export * from './lab-pki.js';
export * from './procs.js';
export * from './services.js';

export interface LabOptions {
  /** mitmdump re-signing with the single-tier org CA. */
  readonly mitmproxy?: boolean;
  /** squid ssl-bump re-signing with the org intermediate, sending intermediate + root. */
  readonly squid?: boolean;
  /** The same squid, requiring proxy basic auth (user `lab`, password `lab-secret`). */
  readonly squidAuth?: boolean;
  /** mitmdump re-signing with the foreign CA nobody provides. */
  readonly foreign?: boolean;
  /** Two more loopback servers: one signed by the org CA itself, one by the "internal" CA. */
  readonly servers?: boolean;
}

export interface Lab {
  readonly dir: string;
  readonly pki: LabPki;
  readonly upstream: Upstream;
  readonly mitmproxy?: Proxy;
  readonly squid?: Proxy;
  readonly squidAuth?: Proxy;
  readonly foreign?: Proxy;
  /** https://127.0.0.1:PORT/ whose certificate the single-tier org CA signed (no proxy needed to see the org CA). */
  readonly orgSigned?: Upstream;
  /** https://127.0.0.1:PORT/ signed by the internal CA, reached directly (as a NO_PROXY service would be). */
  readonly internal?: Upstream;
  /** A fresh scratch directory inside the lab. */
  scratch(prefix: string): string;
  /** The environment a job on this machine would have (see clients.jobEnv), with the lab's HOME. */
  jobEnv(extra?: Readonly<Record<string, string | undefined>>): Record<string, string>;
  stop(): Promise<void>;
}

export const LAB_PROXY_USER = { user: 'lab', password: 'lab-secret' } as const;

export async function startInspectionLab(options: LabOptions = {}): Promise<Lab> {
  // Root's scratch directory rather than /tmp: journals and hooks that root acts on must sit where nobody else can
  // write (src/fs/trusted-path.ts). squid runs as `proxy` and must traverse to its own files in here (0755).
  const dir = trustedScratchDir('lab-');
  const started: Service[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(started.map((s) => s.stop()));
  };
  try {
    const pki = writeLabPki(join(dir, 'pki'));
    const upstream = await startUpstream(pki, dir);
    started.push(upstream);
    const track = async (p: Promise<Proxy>): Promise<Proxy> => {
      const proxy = await p;
      started.push(proxy);
      return proxy;
    };
    const trackServer = async (p: Promise<Upstream>): Promise<Upstream> => {
      const server = await p;
      started.push(server);
      return server;
    };
    const [orgSigned, internal] = options.servers
      ? await Promise.all([
          trackServer(
            startUpstream(pki, dir, { name: 'org-signed', cert: pki.paths.orgSignedCert, key: pki.paths.orgSignedKey }),
          ),
          trackServer(
            startUpstream(pki, dir, {
              name: 'internal',
              cert: pki.paths.internalServerCert,
              key: pki.paths.internalServerKey,
            }),
          ),
        ])
      : [undefined, undefined];
    const [mitmproxy, squid, squidAuth, foreign] = await Promise.all([
      options.mitmproxy
        ? track(
            startMitmproxy({
              name: 'mitmproxy-org',
              confdir: pki.paths.mitmConfdir,
              upstreamCa: pki.paths.publicRoot,
              dir,
            }),
          )
        : undefined,
      options.squid ? track(startSquid({ name: 'squid-org', pki, dir })) : undefined,
      options.squidAuth
        ? track(startSquid({ name: 'squid-auth', pki, dir, basicAuth: { ...LAB_PROXY_USER } }))
        : undefined,
      options.foreign
        ? track(
            startMitmproxy({
              name: 'mitmproxy-foreign',
              confdir: pki.paths.foreignConfdir,
              upstreamCa: pki.paths.publicRoot,
              dir,
            }),
          )
        : undefined,
    ]);
    let n = 0;
    const home = join(dir, 'home');
    return {
      dir,
      pki,
      upstream,
      ...(mitmproxy ? { mitmproxy } : {}),
      ...(squid ? { squid } : {}),
      ...(squidAuth ? { squidAuth } : {}),
      ...(foreign ? { foreign } : {}),
      ...(orgSigned ? { orgSigned } : {}),
      ...(internal ? { internal } : {}),
      scratch(prefix) {
        const d = join(dir, 'scratch', `${prefix}-${++n}`);
        mkdirSync(d, { recursive: true });
        return d;
      },
      jobEnv: (extra) => jobEnv(home, extra),
      async stop() {
        await stopAll();
        if (!process.env.ORG_CA_KEEP_LAB) rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** Starts the lab in beforeAll and stops it in afterAll; call at the top level of a test file. */
export function useInspectionLab(options: LabOptions, startTimeoutMs = 90000): () => Lab {
  let lab: Lab | undefined;
  beforeAll(async () => {
    lab = await startInspectionLab(options);
  }, startTimeoutMs);
  afterAll(async () => {
    await lab?.stop();
  }, 30000);
  return () => {
    if (!lab) throw new Error('the inspection lab did not start (see the beforeAll error above)');
    return lab;
  };
}
