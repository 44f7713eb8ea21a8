import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { certificateFromDer } from '../../../src/ca/certificate.js';
import { pemCertificates } from '../../../src/ca/bundle.js';
import { checkOsStore } from '../../../src/native/os-store-check.js';
import { compareVersions, planNative, type NativeInput } from '../../../src/native/switch-plan.js';
import { NATIVE_SWITCHES } from '../../../src/native/switches.js';
import { TOOL_REGISTRY } from '../../../src/tools/registry.js';
import { mintRoot } from '../../support/pki.js';

const held: NativeInput = {
  strategy: 'native',
  store: { path: '/etc/ssl/certs/ca-certificates.crt', holds: true },
  caName: 'CN=Org Root',
  env: {},
  versions: {},
};
const vars = (input: Partial<NativeInput>): Record<string, string> =>
  Object.fromEntries(planNative({ ...held, ...input }).variables.map((v) => [v.name, v.value]));

describe('the native registry', () => {
  test('every switch cites a source, names its first version, and a switch that breaks old versions has a probe', () => {
    for (const entry of NATIVE_SWITCHES) {
      expect(entry.source).toMatch(/^https:\/\//);
      expect(entry.since).toMatch(/\d/);
      if (entry.olderVersions === 'break') expect(entry.probe?.min).toMatch(/^\d+\.\d+/);
    }
  });

  test('no native switch is one of the file variables (native mode sets no file)', () => {
    const fileVariables = new Set(TOOL_REGISTRY.map((e) => e.variable));
    for (const entry of NATIVE_SWITCHES) expect(fileVariables.has(entry.variable)).toBe(false);
  });
});

describe('planNative', () => {
  test('env: nothing native, the files as before', () => {
    expect(planNative({ ...held, strategy: 'env' })).toEqual({ useEnvFiles: true, variables: [], notes: [] });
  });

  test('native with the CA in the store: the switches that old versions ignore, and no files', () => {
    const plan = planNative(held);
    expect(plan.useEnvFiles).toBe(false);
    expect(vars({})).toEqual({ NODE_USE_SYSTEM_CA: '1', DENO_TLS_CA_STORE: 'mozilla,system', UV_SYSTEM_CERTS: 'true' });
    expect(plan.notes.join('\n')).toMatch(/PIP_USE_FEATURE not set: no pip that takes it was found/);
  });

  test('both: the switches and the files', () => {
    expect(planNative({ ...held, strategy: 'both' }).useEnvFiles).toBe(true);
    expect(vars({ strategy: 'both' })).toHaveProperty('NODE_USE_SYSTEM_CA', '1');
  });

  test.each<[string, string | undefined, string | undefined]>([
    ['pip 22.1 (before the feature) is left alone', '22.1', undefined],
    ['pip 23.0.1 with truststore gets the feature', '23.0.1', 'truststore'],
    ['pip 24.1.2 gets the feature', '24.1.2', 'truststore'],
    ['pip 24.2 needs nothing', '24.2', undefined],
    ['pip 26.0 needs nothing', '26.0', undefined],
  ])('%s', (_name, version, expected) => {
    expect(vars({ versions: version ? { pip: version } : {} }).PIP_USE_FEATURE).toBe(expected);
  });

  test('conda gets truststore only from 23.9', () => {
    expect(vars({ versions: { conda: '23.7.4' } })).not.toHaveProperty('CONDA_SSL_VERIFY');
    expect(vars({ versions: { conda: '24.11.3' } }).CONDA_SSL_VERIFY).toBe('truststore');
  });

  test("the job's own list values are kept and extended", () => {
    expect(vars({ env: { DENO_TLS_CA_STORE: 'mozilla' } }).DENO_TLS_CA_STORE).toBe('mozilla,system');
    expect(vars({ env: { DENO_TLS_CA_STORE: 'system' } }).DENO_TLS_CA_STORE).toBe('system');
    expect(vars({ env: { PIP_USE_FEATURE: 'fast-deps' }, versions: { pip: '23.0' } }).PIP_USE_FEATURE).toBe(
      'fast-deps truststore',
    );
  });

  test('native without the CA in the store falls back to env with a notice naming the store and the CA', () => {
    const plan = planNative({ ...held, store: { path: '/etc/ssl/certs/ca-certificates.crt', holds: false } });
    expect(plan.useEnvFiles).toBe(true);
    expect(plan.variables).toEqual([]);
    expect(plan.fallback).toBe(
      "strategy 'native': the OS store (/etc/ssl/certs/ca-certificates.crt) does not hold CN=Org Root, so the runtimes' native verifiers would not trust it; falling back to strategy 'env' (CA files and variables).",
    );
    const both = planNative({ ...held, strategy: 'both', store: { holds: false } });
    expect(both.fallback).toBeUndefined();
    expect(both.notes[0]).toMatch(/^strategy 'both': no OS store was found/);
  });

  test('compareVersions is numeric', () => {
    expect(compareVersions('24.10', '24.2')).toBeGreaterThan(0);
    expect(compareVersions('22.2', '22.2.0')).toBe(0);
    expect(compareVersions('9.9', '22.2')).toBeLessThan(0);
  });
});

describe('checkOsStore reads the bundle', () => {
  test('holds only when the root is in the first bundle that exists', () => {
    const dir = mkdtempSync(join(tmpdir(), 'org-ca-store-'));
    try {
      const root = mintRoot({ cn: 'Store Test Root', org: 'Store Org' });
      const other = mintRoot({ cn: 'Other Root', org: 'Other Org' });
      const cert = certificateFromDer(pemCertificates(root.certPem)[0]!);
      const bundle = join(dir, 'bundle.crt');
      writeFileSync(bundle, other.certPem);
      expect(checkOsStore([cert], [join(dir, 'missing.crt'), bundle])).toEqual({ path: bundle, holds: false });
      writeFileSync(bundle, other.certPem + root.certPem);
      expect(checkOsStore([cert], [join(dir, 'missing.crt'), bundle])).toEqual({ path: bundle, holds: true });
      expect(checkOsStore([cert], [join(dir, 'missing.crt')])).toEqual({ holds: false });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
