import { certificatesPem, combineBundle, pemCertificates, type Bundle } from '../ca/bundle.js';
import { sha256Hex, type Certificate } from '../ca/certificate.js';
import { writeJks, type KeystoreEntry } from '../ca/jks.js';
import { scanConfigs, type ConfigScan, type InsecureSetting } from './config-scan.js';
import { jdkCacerts, readConfigFiles, readUserWgetrc, runnerTrustSources, writePublicFile } from './host.js';
import { ensureDirectory } from '../fs/ensure-directory.js';
import { planInjection, wgetrcContent, type Plan } from './plan.js';
import type { Platform } from './registry.js';

export type OnVerificationOff = 'fail' | 'warn';

export interface InjectionRequest {
  readonly certs: readonly Certificate[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly platform: Platform;
  readonly tools?: readonly string[];
  readonly dir: string;
  /** What `dir` is, for messages (`--dir`, `RUNNER_TEMP`); default 'the output directory'. */
  readonly dirPurpose?: string;
  readonly workspace?: string;
  readonly onVerificationOff: OnVerificationOff;
}

export interface Injection {
  readonly plan: Plan;
  readonly bundle: Bundle;
  readonly scan: ConfigScan;
  readonly warnings: readonly string[];
  /** Where the Java truststore's public roots came from. */
  readonly truststoreBase?: string;
}

export class VerificationOffError extends Error {
  constructor(settings: readonly InsecureSetting[]) {
    super(
      `TLS verification is switched off (${settings.map((s) => `${s.setting} in ${s.where}`).join('; ')}): ` +
        "org-ca makes tools trust the org CA instead; remove these settings, or set on-verification-off: 'warn' to continue.",
    );
    this.name = 'VerificationOffError';
  }
}

export function describeInsecure(settings: readonly InsecureSetting[]): string {
  return `TLS verification is switched off by ${settings.map((s) => `${s.setting} (${s.where})`).join(', ')}; with the org CA trusted it is no longer needed.`;
}

/** Reads what the machine trusts and configures, plans, and writes the files. Exports nothing: that is the caller's. */
export async function prepareInjection(request: InjectionRequest): Promise<Injection> {
  const scan = scanConfigs(readConfigFiles(request.env, request.workspace), request.env);
  const warnings: string[] = [];
  if (scan.insecure.length) {
    if (request.onVerificationOff === 'fail') throw new VerificationOffError(scan.insecure);
    warnings.push(describeInsecure(scan.insecure));
  }
  // Guarded (never Node's recursive mkdir, which spins under /proc) and absolute, so the variables survive a `cd`.
  const dir = await ensureDirectory(request.dir, { purpose: request.dirPurpose ?? 'the output directory' });
  const plan = planInjection({
    platform: request.platform,
    tools: request.tools,
    env: request.env,
    dir,
    caOverrides: scan.caOverrides,
  });
  const bundle = combineBundle(runnerTrustSources(request.env), request.certs);

  writePublicFile(plan.files.ca, certificatesPem(request.certs));
  writePublicFile(plan.files.bundle, bundle.pem);
  let truststoreBase: string | undefined;
  if (plan.files.truststore) {
    const jdk = await jdkCacerts(request.env);
    truststoreBase = jdk ? jdk.path : 'the combined bundle (no JDK found)';
    const base: KeystoreEntry[] = jdk
      ? [...jdk.entries]
      : pemCertificates(bundle.pem).map((der) => ({ alias: `root-${sha256Hex(der).slice(0, 16)}`, der }));
    const org = request.certs.map((cert) => ({ alias: `org-ca-${cert.fingerprint.slice(0, 16)}`, der: cert.der }));
    writePublicFile(plan.files.truststore, writeJks(uniqueEntries([...base, ...org])));
  }
  if (plan.files.wgetrc) writePublicFile(plan.files.wgetrc, wgetrcContent(readUserWgetrc(request.env), plan.files.bundle));
  return { plan, bundle, scan, warnings, truststoreBase };
}

function uniqueEntries(entries: readonly KeystoreEntry[]): KeystoreEntry[] {
  const seenDer = new Set<string>();
  const seenAlias = new Set<string>();
  const out: KeystoreEntry[] = [];
  for (const entry of entries) {
    const fingerprint = sha256Hex(entry.der);
    if (seenDer.has(fingerprint)) continue;
    seenDer.add(fingerprint);
    let alias = entry.alias.toLowerCase() || `cert-${fingerprint.slice(0, 16)}`;
    if (seenAlias.has(alias)) alias = `${alias}-${fingerprint.slice(0, 8)}`;
    seenAlias.add(alias);
    out.push({ alias, der: entry.der });
  }
  return out;
}
