import { join } from 'node:path';
import type { CaOverride } from './config-scan.js';
import { TOOL_REGISTRY, type FileKind, type Platform, type Semantics, type ToolEntry } from './registry.js';
import { DEFAULT_STORE_PASSWORD } from '../ca/jks.js';

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
}

export interface Plan {
  readonly files: PlanFiles;
  readonly variables: readonly PlannedVariable[];
  readonly notes: readonly string[];
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

function appliesTo(entry: ToolEntry, input: PlanInput): boolean {
  if (entry.platforms && !entry.platforms.includes(input.platform)) return false;
  return input.tools === undefined || input.tools.includes(entry.id);
}

/** From the inputs to the exact files and variables, with no I/O: what the action performs and what tests assert. */
export function planInjection(input: PlanInput): Plan {
  const entries = TOOL_REGISTRY.filter((entry) => appliesTo(entry, input));
  const wantsTruststore = entries.some((entry) => entry.file === 'truststore');
  const wantsWgetrc = entries.some((entry) => entry.file === 'wgetrc');
  const files: PlanFiles = {
    ca: join(input.dir, 'org-ca.pem'),
    bundle: join(input.dir, 'ca-bundle.pem'),
    ...(wantsTruststore ? { truststore: join(input.dir, 'truststore.jks') } : {}),
    ...(wantsWgetrc ? { wgetrc: join(input.dir, 'wgetrc') } : {}),
  };
  const notes: string[] = [];
  const variables: PlannedVariable[] = [];
  const add = (entry: Pick<ToolEntry, 'readers' | 'semantics' | 'file' | 'source'>, name: string, value: string): void => {
    variables.push({ name, value, readers: entry.readers, semantics: entry.semantics, file: entry.file, source: entry.source });
  };

  for (const entry of entries) {
    switch (entry.file) {
      case 'ca':
        add(entry, entry.variable, files.ca);
        break;
      case 'setting': {
        // GODEBUG is the only setting-type entry: a comma-separated list that other settings share.
        const current = input.env.GODEBUG ?? '';
        if (current.includes('x509sslcertoverrideplatform=')) {
          notes.push(`GODEBUG already sets x509sslcertoverrideplatform (${current}); left as it is.`);
        } else {
          add(entry, 'GODEBUG', current ? `${current},${GODEBUG_KEEP_PLATFORM_VERIFIER}` : GODEBUG_KEEP_PLATFORM_VERIFIER);
        }
        break;
      }
      case 'bundle':
        add(entry, entry.variable, files.bundle);
        break;
      case 'wgetrc':
        add(entry, entry.variable, files.wgetrc!);
        break;
      case 'truststore': {
        const current = (input.env.JAVA_TOOL_OPTIONS ?? '').trim();
        const ours = [
          `-Djavax.net.ssl.trustStore=${files.truststore!}`,
          '-Djavax.net.ssl.trustStoreType=JKS',
          `-Djavax.net.ssl.trustStorePassword=${DEFAULT_STORE_PASSWORD}`,
        ].map(quoteJvmArg);
        if (/-Djavax\.net\.ssl\.trustStore=/.test(current)) {
          notes.push('JAVA_TOOL_OPTIONS already named a trustStore; the org-ca one is appended and wins (the JVM takes the last -D).');
        }
        add(entry, entry.variable, [current, ...ours].filter(Boolean).join(' '));
        break;
      }
    }
  }

  // A configured cafile makes npm/yarn/bun ignore NODE_EXTRA_CA_CERTS: override it with the combined bundle.
  const nodeSelected = input.tools === undefined || input.tools.includes('node');
  if (nodeSelected) {
    const seenVariables = new Set<string>();
    for (const override of input.caOverrides) {
      if (!override.variable) {
        notes.push(
          `${override.where} sets ${override.setting} for ${override.tool}, which then ignores NODE_EXTRA_CA_CERTS and has no environment form to override: point it at ${files.bundle} or remove it.`,
        );
        continue;
      }
      notes.push(`${override.where} sets ${override.setting} for ${override.tool}, which makes it ignore NODE_EXTRA_CA_CERTS: overridden by ${override.variable} with the combined bundle.`);
      if (seenVariables.has(override.variable)) continue;
      seenVariables.add(override.variable);
      add(
        { readers: override.tool, semantics: 'replace', file: 'bundle', source: 'https://docs.npmjs.com/cli/using-npm/config#cafile' },
        override.variable,
        files.bundle,
      );
    }
  }
  return { files, variables, notes };
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
