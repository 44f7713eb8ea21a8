import * as core from '@actions/core';
import { DEFAULT_PROBE_TIMEOUT_MS } from '../detect/detect.js';
import { eitherSpelling, oneOf, OptionError, parseDuration } from '../options/parse.js';
import { parseProbeUrls } from '../detect/probe-urls.js';
import { parseToolList } from '../tools/tool-list.js';
import { STRATEGIES, type Strategy } from '../native/switch-plan.js';
import { parseStoreSelection, StoreSelectionError, type StoreSelection } from '../store/selection.js';
import {
  ON_UNKNOWN_VALUES,
  ON_UNREACHABLE_VALUES,
  ON_VERIFICATION_OFF_VALUES,
  WHEN_VALUES,
  type OnUnknown,
  type OnUnreachable,
  type OnVerificationOff,
  type When,
} from '../options/values.js';
import { parseRegistries, type RegistrySelection } from '../registry-trust/hosts.js';
import { present } from '../lang/present.js';

/** The only reader of `core.getInput` for the main action: everything downstream takes this typed object. */
export interface Inputs {
  readonly ca: string;
  readonly caFile: string;
  readonly caFingerprint: string;
  readonly when: When;
  readonly tools?: readonly string[];
  readonly onVerificationOff: OnVerificationOff;
  readonly strategy: Strategy;
  /** Detection (when: auto). */
  readonly probeUrls: readonly string[];
  readonly probeTimeoutMs: number;
  readonly publicRoots: string;
  readonly onUnknown: OnUnknown;
  readonly onUnreachable: OnUnreachable;
  /** Also add the CA to the OS and/or browser trust stores (reverted by the post step through a journal). */
  readonly systemStore: StoreSelection;
  /** Registries whose pulls builders must trust the org CA for (`registries`); no hosts for 'none'. */
  readonly registries: RegistrySelection;
}

function storeInput(value: string): StoreSelection {
  try {
    return parseStoreSelection('system-store', value, true);
  } catch (error) {
    throw new OptionError(error instanceof StoreSelectionError ? error.message : String(error));
  }
}

function wrapped<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new OptionError(error instanceof Error ? error.message : String(error));
  }
}

/** Pure: from raw input strings (as the runner passes them) to Inputs. */
export function parseInputs(raw: (name: string) => string): Inputs {
  const tools = parseToolList(raw('tools'));
  return {
    ca: raw('ca'),
    caFile: raw('ca-file').trim(),
    caFingerprint: eitherSpelling(raw, 'ca-fingerprint', 'fingerprint'),
    when: oneOf('when', raw('when'), WHEN_VALUES, 'auto'),
    ...present({ tools }),
    onVerificationOff: oneOf('on-verification-off', raw('on-verification-off'), ON_VERIFICATION_OFF_VALUES, 'fail'),
    strategy: oneOf('strategy', raw('strategy'), STRATEGIES, 'env'),
    probeUrls: parseProbeUrls(raw('probe-urls')),
    probeTimeoutMs: parseDuration('probe-timeout', raw('probe-timeout'), DEFAULT_PROBE_TIMEOUT_MS),
    publicRoots: raw('public-roots').trim(),
    onUnknown: oneOf('on-unknown', raw('on-unknown'), ON_UNKNOWN_VALUES, 'fail'),
    onUnreachable: oneOf('on-unreachable', raw('on-unreachable'), ON_UNREACHABLE_VALUES, 'inject'),
    systemStore: storeInput(raw('system-store')),
    registries: wrapped(() => parseRegistries(raw('registries'))),
  };
}

export { parseProbeUrls };

export function getInputs(): Inputs {
  // trimWhitespace off for `ca`: the parser handles whitespace itself, and a PEM's line ends matter to nobody here.
  return parseInputs((name) => core.getInput(name, { trimWhitespace: name !== 'ca' }));
}
