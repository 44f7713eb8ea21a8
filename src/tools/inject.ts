import { readFileSync } from 'node:fs';
import { certificatesPem, combineBundle, pemCertificates, type Bundle } from '../ca/bundle.js';
import { sha256Hex, type Certificate } from '../ca/certificate.js';
import { isJavaKeystore, readJks, trustAnchors, writeJks, type KeystoreEntry } from '../ca/jks.js';
import { scanConfigs, type ConfigScan, type InsecureSetting } from './config-scan.js';
import {
  jdkCacerts,
  nodeDefaultSources,
  readConfigFiles,
  readUserWget2rc,
  readUserWgetrc,
  runnerTrustSources,
  writePublicFile,
} from './runner-trust.js';
import { ensureDirectory } from '../fs/ensure-directory.js';
import {
  planInjection,
  wget2rcContent,
  wgetrcContent,
  type JavaTrustStore,
  type KeptTrust,
  type Plan,
} from './injection-plan.js';
import type { Platform } from './registry.js';
import type { OnVerificationOff } from '../options/values.js';
import { defined } from '../lang/present.js';

export type { OnVerificationOff };

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
  /** `howToGoOn` names the option as the caller spells it: the action's input by default, the CLI passes its flag. */
  constructor(settings: readonly InsecureSetting[], howToGoOn = "set on-verification-off: 'warn'") {
    super(
      `TLS verification is switched off (${settings.map((s) => `${s.setting} in ${s.where}`).join('; ')}): ` +
        `org-ca makes tools trust the org CA instead; remove these settings, or ${howToGoOn} to continue.`,
    );
    this.name = 'VerificationOffError';
    this.settings = settings;
  }

  readonly settings: readonly InsecureSetting[];
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
    ...defined({ tools: request.tools }),
    env: request.env,
    dir,
    caOverrides: scan.caOverrides,
  });
  const bundle = combineBundle(runnerTrustSources(), request.certs);

  // The user's store is opened before anything is written: a store that cannot be read stops the step, whole.
  const userStore =
    plan.javaTrustStore && plan.files.truststore ? await readUserTrustStore(plan.javaTrustStore) : undefined;

  writePublicFile(plan.files.ca, certificatesPem(request.certs));
  writePublicFile(plan.files.bundle, bundle.pem);
  if (plan.files.nodeBundle)
    writePublicFile(plan.files.nodeBundle, combineBundle(nodeDefaultSources(), request.certs).pem);
  for (const kept of plan.kept) writePublicFile(kept.path, keptContent(kept, request.certs, warnings));
  let truststoreBase: string | undefined;
  if (plan.files.truststore) {
    const jdk = userStore ? undefined : await jdkCacerts(request.env);
    truststoreBase = userStore
      ? `${plan.javaTrustStore!.path} (from ${plan.javaTrustStore!.from})`
      : jdk
        ? jdk.path
        : 'the combined bundle (no JDK found)';
    // A user's trustStore replaced cacerts on purpose: its trust anchors, not the JDK's, are the base; only the entries
    // Java itself anchors on (trustedCertEntry), never a key entry's chain (JAVA_MIRROR).
    const base: KeystoreEntry[] = userStore
      ? trustAnchors(userStore)
      : jdk
        ? trustAnchors(jdk.entries)
        : pemCertificates(bundle.pem).map((der) => ({ alias: `root-${sha256Hex(der).slice(0, 16)}`, der }));
    const org = request.certs.map((cert) => ({ alias: `org-ca-${cert.fingerprint.slice(0, 16)}`, der: cert.der }));
    writePublicFile(plan.files.truststore, writeJks(uniqueEntries([...base, ...org])));
  }
  if (plan.files.wgetrc)
    writePublicFile(plan.files.wgetrc, wgetrcContent(readUserWgetrc(request.env), plan.files.bundle));
  if (plan.files.wget2rc)
    writePublicFile(plan.files.wget2rc, wget2rcContent(readUserWget2rc(request.env), plan.files.bundle));
  return { plan, bundle, scan, warnings, ...defined({ truststoreBase }) };
}

/**
 * A kept appending variable's new file: what its old file held + the org CA, each certificate once. An unreadable or
 * empty old file gave the tool no trust (Node warns and ignores it, Deno fails every fetch), so nothing is lost by
 * going on with the org CA alone: a warning, not a failure.
 */
function keptContent(kept: KeptTrust, org: readonly Certificate[], warnings: string[]): string {
  let text = '';
  try {
    text = readFileSync(kept.from, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    warnings.push(
      `${kept.variable} named '${kept.from}', which could not be read (${code}): it gave no trust before, and now holds the org CA alone.`,
    );
  }
  if (text && pemCertificates(text).length === 0) {
    warnings.push(
      `${kept.variable} named '${kept.from}', which holds no PEM certificate: it gave no trust before, and now holds the org CA alone.`,
    );
  }
  return combineBundle([{ label: kept.variable, pems: [text] }], org).pem;
}

/** One line for a trustStore that cannot be used; the password is never part of it. */
function storeError(store: JavaTrustStore, problem: string): Error {
  return new Error(`${store.from} names the trustStore '${store.path}'${problem}`);
}

/**
 * The certificates of the user's own trustStore, read as the JVM would: its type from trustStoreType, else detected
 * (JDK 9+ keystore.type.compat reads JKS and PKCS12 under the default type), its password from trustStorePassword.
 */
async function readUserTrustStore(store: JavaTrustStore): Promise<KeystoreEntry[]> {
  const type = store.type?.toUpperCase();
  if (type !== undefined && !['JKS', 'JCEKS', 'PKCS12'].includes(type)) {
    throw storeError(
      store,
      ` of type ${store.type}, which org-ca cannot merge: expected a JKS or PKCS12 file; set tools without java to leave Java alone.`,
    );
  }
  let bytes: Buffer;
  try {
    bytes = readFileSync(store.path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw storeError(
      store,
      `, which could not be read (${code}): expected a readable JKS or PKCS12 store; fix the path or remove -Djavax.net.ssl.trustStore.`,
    );
  }
  const asJks = type === 'JKS' || type === 'JCEKS' || (type === undefined && isJavaKeystore(bytes));
  try {
    // JKS certificates are not encrypted: no password is needed to read them (the digest is the JVM's to check).
    if (asJks) return readJks(bytes);
    const { readPkcs12 } = await import('../ca/pkcs12.js');
    return readPkcs12(bytes, store.password !== undefined ? [store.password] : [undefined, '']);
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error))
      .split('\n')[0]!
      .replace(store.password ?? '\u0000', '***');
    const how = asJks
      ? 'JKS'
      : `PKCS12 ${store.password !== undefined ? 'with the trustStorePassword given' : 'without a trustStorePassword'}`;
    throw storeError(store, `, which could not be opened as ${how}: ${reason}.`);
  }
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
