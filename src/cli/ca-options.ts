import { readFileSync } from 'node:fs';
import { loadCa, type CaSpec } from '../ca/load.js';
import type { ValidatedCa } from '../ca/validate.js';
import { oneOf } from '../action/inputs.js';
import { prepareInjection, type Injection, type OnVerificationOff } from '../tools/inject.js';
import { parseToolList } from '../tools/plan.js';
import { UsageError } from './command.js';

/** Options shared by the commands that take the CA: --ca FILE (or - for stdin), --fingerprint, --tools. */
export const CA_OPTIONS = {
  ca: { type: 'string' },
  fingerprint: { type: 'string' },
  tools: { type: 'string' },
  'on-verification-off': { type: 'string' },
} as const;

export const CA_OPTIONS_HELP = [
  '  --ca FILE                  the org CA: PEM, DER, base64 or .p7b; - reads standard input',
  '  --fingerprint SHA256       fail unless the CA has this SHA-256 fingerprint',
  '  --tools LIST               only these tools (comma-separated registry ids), default all',
  '  --on-verification-off fail|warn   what to do where TLS verification is switched off (default fail)',
].join('\n');

export interface CaOptions {
  readonly ca: ValidatedCa;
  readonly tools?: readonly string[];
  readonly onVerificationOff: OnVerificationOff;
}

/** `--ca FILE` or `--ca -` (standard input) as a CaSpec for loadCa. */
export function caArgument(value: string): CaSpec {
  return value === '-' ? { ca: readFileSync(0, 'utf8') } : { caFile: value };
}

/** Loads and validates `--ca FILE|-`, naming the option in every message. */
export function loadCaArgument(value: string, now: Date, fingerprint?: string): ValidatedCa {
  return loadCa({ ...caArgument(value), ...(fingerprint ? { fingerprint } : {}) }, now, { ca: '--ca -', caFile: '--ca' });
}

export function readCaOptions(command: string, values: { ca?: string; fingerprint?: string; tools?: string; 'on-verification-off'?: string }): CaOptions {
  if (!values.ca) throw new UsageError(`${command}: --ca FILE is required (see 'org-ca ${command} --help')`);
  let tools: readonly string[] | undefined;
  let onVerificationOff: OnVerificationOff;
  try {
    tools = parseToolList(values.tools ?? '');
    onVerificationOff = oneOf('--on-verification-off', values['on-verification-off'] ?? '', ['fail', 'warn'] as const, 'fail');
  } catch (error) {
    throw new UsageError(`${command}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const ca = loadCaArgument(values.ca, new Date(), values.fingerprint);
  return { ca, ...(tools ? { tools } : {}), onVerificationOff };
}

export function currentPlatform(): 'linux' | 'darwin' | 'win32' {
  return process.platform === 'darwin' || process.platform === 'win32' ? process.platform : 'linux';
}

/** Writes the CA files into `dir` for a command run from the CLI, the working directory counting as the project. */
export function injectForCli(options: CaOptions, dir: string, dirPurpose = '--dir'): Promise<Injection> {
  return prepareInjection({
    certs: options.ca.certs,
    env: process.env,
    platform: currentPlatform(),
    ...(options.tools ? { tools: options.tools } : {}),
    dir,
    dirPurpose,
    workspace: process.cwd(),
    onVerificationOff: options.onVerificationOff,
  });
}
