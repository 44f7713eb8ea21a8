/** The in-build helper and the runner side must give every tool the same variable: the registry is the truth. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOOL_REGISTRY } from '../../../src/tools/registry.js';
import { mintRoot } from '../../support/pki.js';

const HELPER = fileURLToPath(new URL('../../../src/in-build/with-org-ca.sh', import.meta.url));

test('with-org-ca exports exactly the Linux registry variables, each pointing at the file kind the registry names', () => {
  const dir = mkdtempSync(join(tmpdir(), 'org-ca-helper-registry-'));
  try {
    writeFileSync(join(dir, 'org_ca'), mintRoot({ cn: 'Registry Check Root' }).certPem);
    const out = spawnSync('dash', [HELPER, 'env'], {
      env: { PATH: process.env.PATH, TMPDIR: dir, HOME: dir, ORG_CA_SECRET: join(dir, 'org_ca'), ORG_CA_QUIET: '1' },
      encoding: 'utf8',
    });
    expect(out.status).toBe(0);
    const env = new Map(
      out.stdout
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]),
    );
    const tmp = env.get('NODE_EXTRA_CA_CERTS')!.replace(/\/org-ca\.pem$/, '');
    const kindOf = (value: string): string | undefined => {
      if (value === `${tmp}/org-ca.pem`) return 'ca';
      if (value === `${tmp}/ca-bundle.pem`) return 'bundle';
      if (value === `${tmp}/wgetrc`) return 'wgetrc';
      if (value === `${tmp}/wget2rc`) return 'wget2rc';
      if (value.includes(`-Djavax.net.ssl.trustStore=${tmp}/truststore`)) return 'truststore';
      return undefined;
    };
    const exported = [...env]
      .filter(([, value]) => value.startsWith(tmp) || value.includes(tmp))
      .map(([name, value]) => `${name}:${kindOf(value)}`);
    const linux = TOOL_REGISTRY.filter((e) => !e.platforms || e.platforms.includes('linux'));
    // Java only where the image has a JDK with keytool (this machine has one: see .ci/run), APT_CONFIG is helper-only.
    const expected = [...linux.map((e) => `${e.variable}:${e.file}`), 'APT_CONFIG:undefined'];
    expect(exported.sort()).toEqual(expected.sort());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
