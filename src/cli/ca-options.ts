import { readFileSync } from 'node:fs';
import { loadCa, type CaSpec } from '../ca/load.js';
import type { ValidatedCa } from '../ca/validate.js';
import { oneOf } from '../options/parse.js';
import { parseProbeUrls } from '../detect/probe-urls.js';
import { parseToolList } from '../tools/tool-list.js';
import { ON_VERIFICATION_OFF_VALUES, type OnVerificationOff } from '../options/values.js';
import { prepareInjection, VerificationOffError, type Injection } from '../tools/inject.js';
import { TOOL_IDS } from '../tools/registry.js';
import { UsageError } from './command-kit.js';
import { STRATEGIES, type NativePlan, type Strategy } from '../native/switch-plan.js';
import { resolveNative } from '../native/os-store-check.js';
import { certificatesPem } from '../ca/bundle.js';
import { DEFAULT_PROBE_TIMEOUT_MS, DEFAULT_PROBE_URLS } from '../detect/detect.js';
import { byFingerprint, findOrgCaInOsStore, OsStoreCaError, systemRoots } from '../detect/os-store-ca.js';
import { present } from '../lang/present.js';

/** Options shared by the commands that take the CA: --ca FILE (or - for stdin), --fingerprint, --tools. */
export const CA_OPTIONS = {
  ca: { type: 'string' },
  fingerprint: { type: 'string' },
  tools: { type: 'string' },
  'on-verification-off': { type: 'string' },
  strategy: { type: 'string' },
} as const;

/** The CA flags' names in messages, so no CLI error speaks of the action's `ca-file` or `ca-fingerprint`. */
export const CA_FLAG_NAMES = { ca: '--ca -', caFile: '--ca', fingerprint: '--fingerprint' } as const;

const HELP_INDENT = ' '.repeat(29);

/** Words wrapped to `width` columns, continuation lines indented to the help text's column. */
function wrapList(words: readonly string[], width = 88): string {
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line && HELP_INDENT.length + line.length + word.length + 2 > width) {
      lines.push(line);
      line = '';
    }
    line += line ? ` ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => HELP_INDENT + l).join('\n');
}

/** The registry's tool ids, as `--tools` accepts them: generated, so help and registry cannot disagree. */
export const TOOLS_HELP = wrapList(TOOL_IDS.map((id, i) => (i < TOOL_IDS.length - 1 ? `${id},` : id)));

export const CA_OPTIONS_HELP = [
  '  --ca FILE                  the org CA: PEM, DER, base64 or .p7b; - reads standard input (env and exec with',
  "                             --strategy native|both: optional, the OS store's org CA is found as ca export does)",
  '  --fingerprint SHA256       fail unless the CA has this SHA-256 fingerprint',
  '  --tools LIST               only these tools (comma-separated), default all; the ids are:',
  TOOLS_HELP,
  `  --on-verification-off fail|warn   what to do where TLS verification is switched off (default fail)`,
  '  --strategy env|native|both  env (default): CA files + variables; native: switches that make runtimes read the',
  '                             OS store, when it holds the CA (else falls back to env); both: files, variables and switches',
].join('\n');

export interface CaOptions {
  readonly ca: ValidatedCa;
  readonly tools?: readonly string[];
  readonly onVerificationOff: OnVerificationOff;
  readonly strategy: Strategy;
}

/** `--ca FILE` or `--ca -` (standard input) as a CaSpec for loadCa. */
export function caArgument(value: string): CaSpec {
  if (value === '-') return { ca: readFileSync(0, 'utf8') };
  // The action's `ca:` is the certificate text; on the command line that text is not a file name.
  if (value.includes('-----BEGIN') || value.includes('\n')) {
    throw new UsageError(
      "--ca takes a path, not the certificate text: use '--ca -' and pipe the text in (e.g., printf '%s' \"$PEM\" | org-ca env --ca -)",
    );
  }
  return { caFile: value };
}

/** Loads and validates `--ca FILE|-`, naming the CLI's flags in every message. */
export function loadCaArgument(value: string, now: Date, fingerprint?: string): ValidatedCa {
  return loadCa({ ...caArgument(value), ...present({ fingerprint }) }, now, CA_FLAG_NAMES);
}

type CaOptionValues = {
  ca?: string;
  fingerprint?: string;
  tools?: string;
  'on-verification-off'?: string;
  strategy?: string;
  'probe-urls'?: string;
};

/** For env and exec, which may find the CA in the OS store: the CA flags plus where to probe when --ca is left out. */
export const CA_OR_OS_STORE_OPTIONS = { ...CA_OPTIONS, 'probe-urls': { type: 'string' } } as const;
export const CA_OR_OS_STORE_HELP = `${CA_OPTIONS_HELP}
  --probe-urls LIST          with no --ca: the https URLs probed to find it (default ${DEFAULT_PROBE_URLS.join(' ')})`;

/** The flags besides the CA itself: --tools, --on-verification-off, --strategy. */
function policyFlags(values: CaOptionValues): Omit<CaOptions, 'ca'> {
  const tools = parseToolList(values.tools ?? '', '--tools');
  const onVerificationOff = oneOf(
    '--on-verification-off',
    values['on-verification-off'] ?? '',
    ON_VERIFICATION_OFF_VALUES,
    'fail',
  );
  const strategy = oneOf('--strategy', values.strategy ?? '', STRATEGIES, 'env');
  return { ...present({ tools }), onVerificationOff, strategy };
}

export function readCaOptions(command: string, values: CaOptionValues): CaOptions {
  if (!values.ca) throw new UsageError(`${command}: --ca FILE is required (see 'org-ca ${command} --help')`);
  const flags = policyFlags(values);
  return { ca: loadCaArgument(values.ca, new Date(), values.fingerprint), ...flags };
}

/**
 * As readCaOptions; but with --strategy native or both and no --ca, the org CA is the one the OS store already holds
 * (found by probing, as `org-ca ca export` does), since native switches make runtimes read that store anyway.
 */
export async function readCaOptionsOrOsStore(
  command: string,
  values: CaOptionValues,
  note: (line: string) => void,
): Promise<CaOptions> {
  if (values.ca) return readCaOptions(command, values);
  const flags = policyFlags(values);
  if (flags.strategy === 'env') {
    throw new UsageError(
      `${command}: --ca FILE is required (with --strategy native, the CA your OS store holds is used instead; org-ca ca export writes it to a file; see 'org-ca ${command} --help')`,
    );
  }
  let found;
  try {
    found = values.fingerprint
      ? { certs: [byFingerprint(systemRoots(), values.fingerprint)], seen: [] }
      : await findOrgCaInOsStore({
          urls: parseProbeUrls(values['probe-urls'] ?? ''),
          env: process.env,
          timeoutMs: DEFAULT_PROBE_TIMEOUT_MS,
          now: new Date(),
        });
  } catch (error) {
    if (error instanceof OsStoreCaError)
      throw new UsageError(
        `${command}: no --ca, and ${error.message.charAt(0).toLowerCase()}${error.message.slice(1)} Give the CA with --ca FILE.`,
      );
    throw error;
  }
  for (const line of found.seen) note(line);
  const ca = loadCa({ ca: certificatesPem(found.certs) }, new Date(), { ...CA_FLAG_NAMES, ca: 'the OS store' });
  note(`no --ca: the org CA is the one the OS store holds: ${ca.certs.map((c) => c.subject).join(', ')}.`);
  return { ca, ...flags };
}

export function currentPlatform(): 'linux' | 'darwin' | 'win32' {
  return process.platform === 'darwin' || process.platform === 'win32' ? process.platform : 'linux';
}

/** Writes the CA files into `dir` for a command run from the CLI, the working directory counting as the project. */
export async function injectForCli(options: CaOptions, dir: string, dirPurpose = '--dir'): Promise<Injection> {
  try {
    return await prepareInjectionHere(options, dir, dirPurpose);
  } catch (error) {
    // The same refusal, in the CLI's words: its flag, not the action's input.
    if (error instanceof VerificationOffError)
      throw new VerificationOffError(error.settings, 'pass --on-verification-off warn');
    throw error;
  }
}

/**
 * What env and exec hand their tools: the native switches, and the CA files and variables only where the strategy
 * uses them (written into `dir`).
 */
export async function trustForCli(
  options: CaOptions,
  dir: string,
  dirPurpose?: string,
): Promise<{
  native: NativePlan;
  injection: Injection | undefined;
  variables: ReadonlyArray<{ readonly name: string; readonly value: string }>;
}> {
  const native = resolveNative(options.strategy, options.ca.certs, options.ca.primary.subject, process.env);
  const injection = native.useEnvFiles ? await injectForCli(options, dir, dirPurpose) : undefined;
  return { native, injection, variables: [...(injection?.plan.variables ?? []), ...native.variables] };
}

function prepareInjectionHere(options: CaOptions, dir: string, dirPurpose: string): Promise<Injection> {
  return prepareInjection({
    certs: options.ca.certs,
    env: process.env,
    platform: currentPlatform(),
    ...present({ tools: options.tools }),
    dir,
    dirPurpose,
    workspace: process.cwd(),
    onVerificationOff: options.onVerificationOff,
  });
}
