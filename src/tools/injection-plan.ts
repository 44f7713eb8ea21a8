import { join } from 'node:path';
import type { CaOverride } from './config-scan.js';
import { TOOL_REGISTRY, type FileKind, type Platform, type Semantics, type ToolEntry } from './registry.js';
import { DEFAULT_STORE_PASSWORD } from '../ca/jks.js';
import { isSystemBundlePath } from './system-bundles.js';
import { defined, present } from '../lang/present.js';

export interface PlannedVariable {
  readonly name: string;
  readonly value: string;
  readonly readers: string;
  readonly semantics: Semantics;
  readonly file: FileKind;
  readonly source: string;
}

export interface PlanFiles {
  readonly ca: string;
  readonly bundle: string;
  readonly truststore?: string;
  readonly wgetrc?: string;
  readonly wget2rc?: string;
  /** Node's default roots + the org CA: for a variable that replaces Node's roots (npm's cafile), present only then. */
  readonly nodeBundle?: string;
}

/**
 * A variable the job had already set to a file (appending, or replacing a tool's roots): that file's certificates go,
 * with the org CA, into `path`. Its readers trusted exactly that file before, so they trust that plus the org CA now.
 */
export interface KeptTrust {
  readonly variable: string;
  readonly from: string;
  readonly path: string;
}

/** The user's own Java trustStore, as the JVM would resolve it from the options: the base of org-ca's store. */
export interface JavaTrustStore {
  readonly path: string;
  readonly type?: string;
  readonly password?: string;
  /** The variable that named the store. */
  readonly from: 'JAVA_TOOL_OPTIONS' | 'JDK_JAVA_OPTIONS';
}

export interface Plan {
  readonly files: PlanFiles;
  readonly variables: readonly PlannedVariable[];
  readonly notes: readonly string[];
  readonly kept: readonly KeptTrust[];
  readonly javaTrustStore?: JavaTrustStore;
}

export interface PlanInput {
  readonly platform: Platform;
  /** Tool ids from the registry; undefined = all. */
  readonly tools?: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The directory the files go to (under RUNNER_TEMP in the action). */
  readonly dir: string;
  readonly caOverrides: readonly CaOverride[];
}

export const GODEBUG_KEEP_PLATFORM_VERIFIER = 'x509sslcertoverrideplatform=0';

function quoteJvmArg(arg: string): string {
  // JAVA_TOOL_OPTIONS splits on white space; since JDK 9 a double-quoted option may hold spaces (JDK-8061999).
  return /\s/.test(arg) ? `"${arg}"` : arg;
}

/** JVM options as the JVM reads JAVA_TOOL_OPTIONS / JDK_JAVA_OPTIONS: white-space separated, double quotes group. */
export function splitJvmOptions(value: string | undefined): string[] {
  const tokens: string[] = [];
  for (const match of (value ?? '').matchAll(/(?:"[^"]*"|[^\s"])+/g)) tokens.push(match[0].replace(/"/g, ''));
  return tokens;
}

export interface JvmTrustOptions {
  readonly store?: string;
  readonly type?: string;
  readonly password?: string;
  /** Every other option, in order. */
  readonly rest: readonly string[];
}

const TRUST_PROPERTIES = {
  'javax.net.ssl.trustStore': 'store',
  'javax.net.ssl.trustStoreType': 'type',
  'javax.net.ssl.trustStorePassword': 'password',
} as const;

/** The trust-store properties of one options variable (the last of each wins, as in the JVM) and the other options. */
export function jvmTrustOptions(value: string | undefined): JvmTrustOptions {
  const found: { store?: string; type?: string; password?: string } = {};
  const rest: string[] = [];
  for (const token of splitJvmOptions(value)) {
    const m = /^-D(javax\.net\.ssl\.trustStore(?:Type|Password)?)=(.*)$/.exec(token);
    if (m) found[TRUST_PROPERTIES[m[1] as keyof typeof TRUST_PROPERTIES]] = m[2]!;
    else rest.push(token);
  }
  return { ...found, rest };
}

/** The file an appending variable gets when the job had set it already: a merged copy, never the user's file. */
function keptPath(dir: string, variable: string): string {
  return join(dir, `${variable.toLowerCase()}.pem`);
}

function appliesTo(entry: ToolEntry, input: PlanInput): boolean {
  if (entry.platforms && !entry.platforms.includes(input.platform)) return false;
  return input.tools === undefined || input.tools.includes(entry.id);
}

/** From the inputs to the exact files and variables, with no I/O: what the action performs and what tests assert. */
export function planInjection(input: PlanInput): Plan {
  const entries = TOOL_REGISTRY.filter((entry) => appliesTo(entry, input));
  const wantsTruststore = entries.some((entry) => entry.file === 'truststore');
  const wantsWgetrc = entries.some((entry) => entry.file === 'wgetrc');
  const wantsWget2rc = entries.some((entry) => entry.file === 'wget2rc');
  const files: PlanFiles = {
    ca: join(input.dir, 'org-ca.pem'),
    bundle: join(input.dir, 'ca-bundle.pem'),
    ...present({
      truststore: wantsTruststore ? join(input.dir, 'truststore.jks') : undefined,
      wgetrc: wantsWgetrc ? join(input.dir, 'wgetrc') : undefined,
      wget2rc: wantsWget2rc ? join(input.dir, 'wget2rc') : undefined,
    }),
  };
  const notes: string[] = [];
  const kept: KeptTrust[] = [];
  let javaTrustStore: JavaTrustStore | undefined;
  const variables: PlannedVariable[] = [];
  const add = (
    entry: Pick<ToolEntry, 'readers' | 'semantics' | 'file' | 'source'>,
    name: string,
    value: string,
  ): void => {
    variables.push({
      name,
      value,
      readers: entry.readers,
      semantics: entry.semantics,
      file: entry.file,
      source: entry.source,
    });
  };

  for (const entry of entries) {
    switch (entry.file) {
      case 'ca': {
        // An appending variable adds to the tool's roots: the file it named is trust the job already had (an
        // internal service's CA), so it is kept next to the org CA rather than replaced.
        const current = input.env[entry.variable]?.trim();
        if (current && current !== files.ca) {
          const path = keptPath(input.dir, entry.variable);
          kept.push({ variable: entry.variable, from: current, path });
          notes.push(
            `${entry.variable} already named '${current}': its certificates are kept, with the org CA, in ${path}.`,
          );
          add(entry, entry.variable, path);
        } else {
          add(entry, entry.variable, files.ca);
        }
        break;
      }
      case 'setting': {
        // GODEBUG is the only setting-type entry: a comma-separated list that other settings share.
        const current = input.env.GODEBUG ?? '';
        if (current.includes('x509sslcertoverrideplatform=')) {
          notes.push(`GODEBUG already sets x509sslcertoverrideplatform (${current}); left as it is.`);
        } else {
          add(
            entry,
            'GODEBUG',
            current ? `${current},${GODEBUG_KEEP_PLATFORM_VERIFIER}` : GODEBUG_KEEP_PLATFORM_VERIFIER,
          );
        }
        break;
      }
      case 'bundle': {
        // A replacing variable the job had set to a file of its own: its readers trusted that file, not the OS store,
        // so they get that file plus the org CA (EXACT_TRUST), never the OS store's roots on top.
        const current = input.env[entry.variable]?.trim();
        if (current && current !== files.bundle && !isSystemBundlePath(current)) {
          const path = keptPath(input.dir, entry.variable);
          kept.push({ variable: entry.variable, from: current, path });
          notes.push(
            `${entry.variable} already named '${current}': its readers keep trusting exactly its certificates, with the org CA added, in ${path}.`,
          );
          add(entry, entry.variable, path);
        } else {
          add(entry, entry.variable, files.bundle);
        }
        break;
      }
      case 'wgetrc':
        add(entry, entry.variable, files.wgetrc!);
        break;
      case 'wget2rc':
        add(entry, entry.variable, files.wget2rc!);
        break;
      case 'truststore': {
        // The java launcher passes JDK_JAVA_OPTIONS as command-line options, which beat JAVA_TOOL_OPTIONS property by
        // property (measured with OpenJDK 17): the user's store is what both resolve to, and its options move out of
        // JDK_JAVA_OPTIONS so that org-ca's, in JAVA_TOOL_OPTIONS, apply. Every other option stays where it was.
        const tool = jvmTrustOptions(input.env.JAVA_TOOL_OPTIONS);
        const launcher = jvmTrustOptions(input.env.JDK_JAVA_OPTIONS);
        const store = launcher.store ?? tool.store;
        if (store) {
          const type = launcher.type ?? tool.type;
          const password = launcher.password ?? tool.password;
          const from = launcher.store ? 'JDK_JAVA_OPTIONS' : 'JAVA_TOOL_OPTIONS';
          javaTrustStore = {
            path: store,
            ...present({ type }),
            ...defined({ password }),
            from,
          };
          notes.push(
            `the trustStore '${store}' named in ${from} is the base of the org-ca store (its certificates + the org CA).`,
          );
        }
        const ours = [
          `-Djavax.net.ssl.trustStore=${files.truststore!}`,
          '-Djavax.net.ssl.trustStoreType=JKS',
          `-Djavax.net.ssl.trustStorePassword=${DEFAULT_STORE_PASSWORD}`,
        ];
        add(entry, entry.variable, [...tool.rest, ...ours].map(quoteJvmArg).join(' '));
        if (launcher.store || launcher.type || launcher.password !== undefined) {
          add(entry, 'JDK_JAVA_OPTIONS', launcher.rest.map(quoteJvmArg).join(' '));
        }
        break;
      }
    }
  }

  // A configured cafile makes npm/yarn/bun ignore NODE_EXTRA_CA_CERTS: override it with Node's roots + the org CA,
  // the set npm reads without a cafile (npm's cafile replaces Node's roots), never the OS store's.
  const nodeSelected = input.tools === undefined || input.tools.includes('node');
  const nodeBundle = join(input.dir, 'node-ca-bundle.pem');
  let usesNodeBundle = false;
  if (nodeSelected) {
    const seenVariables = new Set<string>();
    for (const override of input.caOverrides) {
      if (!override.variable) {
        notes.push(
          `${override.where} sets ${override.setting} for ${override.tool}, which then ignores NODE_EXTRA_CA_CERTS and has no environment form to override: remove it, or add the org CA to the file it names.`,
        );
        continue;
      }
      notes.push(
        `${override.where} sets ${override.setting} for ${override.tool}, which makes it ignore NODE_EXTRA_CA_CERTS: overridden by ${override.variable} with Node's roots and the org CA.`,
      );
      if (seenVariables.has(override.variable)) continue;
      seenVariables.add(override.variable);
      add(
        {
          readers: override.tool,
          semantics: 'replace',
          file: 'bundle',
          source: 'https://docs.npmjs.com/cli/using-npm/config#cafile',
        },
        override.variable,
        nodeBundle,
      );
      usesNodeBundle = true;
    }
  }
  return {
    files: usesNodeBundle ? { ...files, nodeBundle } : files,
    variables,
    notes,
    kept,
    ...present({ javaTrustStore }),
  };
}

/** The content of the generated wget2rc: the user's own (WGET2RC replaces ~/.wget2rc) plus our CA line. */
export function wget2rcContent(existing: string | undefined, bundlePath: string): string {
  const kept = (existing ?? '')
    .split(/\r?\n/)
    .filter((line) => !/^\s*ca[-_]certificate\s*=/.test(line))
    .join('\n')
    .trim();
  return `${kept ? `${kept}\n` : ''}# written by org-ca: wget2 reads no CA variable, only its wget2rc\nca-certificate = ${bundlePath}\n`;
}

/** The content of the generated wgetrc: the user's own wgetrc (WGETRC replaces it) plus our CA line. */
export function wgetrcContent(existing: string | undefined, bundlePath: string): string {
  const kept = (existing ?? '')
    .split(/\r?\n/)
    .filter((line) => !/^\s*ca_certificate\s*=/.test(line))
    .join('\n')
    .trim();
  return `${kept ? `${kept}\n` : ''}# written by org-ca: GnuTLS wget reads no CA variable, only wgetrc\nca_certificate = ${bundlePath}\n`;
}
