/** The I/O half of the native strategy: reads the OS bundle and probes the versions of `break` switches. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pemCertificates } from '../ca/bundle.js';
import { sha256Hex, type Certificate } from '../ca/certificate.js';
import { SYSTEM_BUNDLE_FILES } from '../tools/system-bundles.js';
import { NATIVE_SWITCHES, type NativeId } from './switches.js';
import { planNative, type NativePlan, type StoreCheck, type Strategy } from './switch-plan.js';

/** The certificates that must be in the store: the roots given (self-signed), or every certificate when none is. */
export function anchorsOf(certs: readonly Certificate[]): readonly Certificate[] {
  const roots = certs.filter((c) => c.selfIssued);
  return roots.length ? roots : certs;
}

/**
 * Reads the distribution's bundle (the first of SYSTEM_BUNDLE_FILES that exists: the file OpenSSL, Debian's certifi,
 * curl and git read by default) and says whether it holds every anchor of the CA, by SHA-256 of the DER.
 */
export function checkOsStore(
  certs: readonly Certificate[],
  files: readonly string[] = SYSTEM_BUNDLE_FILES,
): StoreCheck {
  for (const path of files) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      continue;
    }
    const present = new Set(pemCertificates(text).map((der) => sha256Hex(der)));
    return { path, holds: anchorsOf(certs).every((c) => present.has(c.fingerprint)) };
  }
  return { holds: false };
}

/** Runs each `break` switch's probe (5 s each); a version only when the probe succeeds and prints one. */
export function probeVersions(env: NodeJS.ProcessEnv): Partial<Record<NativeId, string>> {
  const versions: Partial<Record<NativeId, string>> = {};
  for (const entry of NATIVE_SWITCHES) {
    if (!entry.probe) continue;
    const [command, ...args] = entry.probe.argv;
    const r = spawnSync(command!, args, { env, encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] });
    const version = r.status === 0 ? /(\d+(?:\.\d+)+)/.exec(r.stdout ?? '')?.[1] : undefined;
    if (version) versions[entry.id] = version;
  }
  return versions;
}

/** Checks the store and the versions, then plans. Probes run only when the store holds the CA. */
export function resolveNative(
  strategy: Strategy,
  certs: readonly Certificate[],
  caName: string,
  env: NodeJS.ProcessEnv,
): NativePlan {
  if (strategy === 'env') return planNative({ strategy, store: { holds: false }, caName, env, versions: {} });
  const store = checkOsStore(certs);
  return planNative({ strategy, store, caName, env, versions: store.holds ? probeVersions(env) : {} });
}
