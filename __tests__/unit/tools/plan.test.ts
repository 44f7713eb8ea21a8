import { parseToolList } from '../../../src/tools/tool-list.js';
import { planInjection, wgetrcContent, type PlanInput } from '../../../src/tools/injection-plan.js';
import { TOOL_REGISTRY } from '../../../src/tools/registry.js';

const base: PlanInput = { platform: 'linux', env: {}, dir: '/t/org-ca-x', caOverrides: [] };
const vars = (input: Partial<PlanInput>): Record<string, string> =>
  Object.fromEntries(planInjection({ ...base, ...input }).variables.map((v) => [v.name, v.value]));

describe('the registry', () => {
  test('every entry cites a source and has a unique variable', () => {
    const names = TOOL_REGISTRY.map((e) => e.variable);
    expect(new Set(names).size).toBe(names.length);
    for (const entry of TOOL_REGISTRY) expect(entry.source).toMatch(/^https:\/\//);
  });

  test('append-type variables get the org CA alone, replace-type the combined bundle', () => {
    for (const v of planInjection(base).variables) {
      if (v.file === 'ca') expect(v.semantics).toBe('append');
      if (v.semantics === 'append') expect(v.value).toBe('/t/org-ca-x/org-ca.pem');
      if (v.file === 'bundle') expect(v.value).toBe('/t/org-ca-x/ca-bundle.pem');
    }
  });

  test('SSL_CERT_DIR is never exported (OpenSSL wants it hashed, Go/.NET read every file)', () => {
    expect(vars({})).not.toHaveProperty('SSL_CERT_DIR');
  });
});

describe('planInjection', () => {
  test('on Linux: every tool of the issue, no GODEBUG', () => {
    const v = vars({});
    expect(Object.keys(v).sort()).toEqual(
      [
        'NODE_EXTRA_CA_CERTS',
        'SSL_CERT_FILE',
        'REQUESTS_CA_BUNDLE',
        'PIP_CERT',
        'CURL_CA_BUNDLE',
        'GIT_SSL_CAINFO',
        'AWS_CA_BUNDLE',
        'CARGO_HTTP_CAINFO',
        'DENO_CERT',
        'CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE',
        'BUNDLE_SSL_CA_CERT',
        'COMPOSER_CAFILE',
        'HEX_CACERTS_PATH',
        'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH',
        'WGETRC',
        'JAVA_TOOL_OPTIONS',
        'PERL_LWP_SSL_CA_FILE',
        'WGET2RC',
      ].sort(),
    );
    expect(v.WGETRC).toBe('/t/org-ca-x/wgetrc');
    expect(v.JAVA_TOOL_OPTIONS).toBe(
      '-Djavax.net.ssl.trustStore=/t/org-ca-x/truststore.jks -Djavax.net.ssl.trustStoreType=JKS -Djavax.net.ssl.trustStorePassword=changeit',
    );
  });

  test.each([
    ['darwin', 'x509sslcertoverrideplatform=0'],
    ['win32', 'x509sslcertoverrideplatform=0'],
  ] as const)('on %s: GODEBUG keeps the platform verifier', (platform, expected) => {
    expect(vars({ platform }).GODEBUG).toBe(expected);
  });

  test('GODEBUG is appended to, and left alone when it already decides', () => {
    expect(vars({ platform: 'darwin', env: { GODEBUG: 'http2client=0' } }).GODEBUG).toBe(
      'http2client=0,x509sslcertoverrideplatform=0',
    );
    const plan = planInjection({ ...base, platform: 'darwin', env: { GODEBUG: 'x509sslcertoverrideplatform=1' } });
    expect(plan.variables.find((v) => v.name === 'GODEBUG')).toBeUndefined();
    expect(plan.notes.join()).toMatch(/already sets x509sslcertoverrideplatform/);
  });

  test('JAVA_TOOL_OPTIONS is appended to an existing value; a path with spaces is quoted', () => {
    expect(vars({ env: { JAVA_TOOL_OPTIONS: '-Xmx1g' } }).JAVA_TOOL_OPTIONS).toMatch(
      /^-Xmx1g -Djavax\.net\.ssl\.trustStore=/,
    );
    expect(vars({ dir: '/t/with space' }).JAVA_TOOL_OPTIONS).toContain(
      '"-Djavax.net.ssl.trustStore=/t/with space/truststore.jks"',
    );
  });

  test('the tools input narrows the set, and only the files needed are planned', () => {
    const plan = planInjection({ ...base, tools: ['node', 'git'] });
    expect(plan.variables.map((v) => v.name)).toEqual(['NODE_EXTRA_CA_CERTS', 'GIT_SSL_CAINFO']);
    expect(plan.files.truststore).toBeUndefined();
    expect(plan.files.wgetrc).toBeUndefined();
  });

  test('a cafile in an npmrc is overridden with Node’s roots and the org CA (what npm reads without it), once', () => {
    const plan = planInjection({
      ...base,
      caOverrides: [
        { where: '/usr/etc/npmrc', setting: 'cafile', tool: 'npm/yarn 1/pnpm', variable: 'npm_config_cafile' },
        { where: '/home/u/.npmrc', setting: 'ca', tool: 'npm/yarn 1/pnpm', variable: 'npm_config_cafile' },
        { where: '/w/bunfig.toml', setting: 'cafile', tool: 'bun install' },
      ],
    });
    expect(plan.variables.filter((v) => v.name === 'npm_config_cafile').map((v) => v.value)).toEqual([
      '/t/org-ca-x/node-ca-bundle.pem',
    ]);
    expect(plan.files.nodeBundle).toBe('/t/org-ca-x/node-ca-bundle.pem');
    expect(plan.notes.filter((n) => /npmrc sets/.test(n))).toHaveLength(2);
    expect(plan.notes.join('\n')).toMatch(
      /bunfig\.toml sets cafile for bun install, which then ignores NODE_EXTRA_CA_CERTS and has no environment form/,
    );
  });

  test('overrides are skipped when node is not among the tools', () => {
    const plan = planInjection({
      ...base,
      tools: ['git'],
      caOverrides: [{ where: '/x', setting: 'cafile', tool: 'npm', variable: 'npm_config_cafile' }],
    });
    expect(plan.variables.map((v) => v.name)).toEqual(['GIT_SSL_CAINFO']);
  });
});

describe('parseToolList', () => {
  test.each([
    ['', undefined],
    ['all', undefined],
    ['node, git\njava', ['node', 'git', 'java']],
    ['NODE node', ['node']],
  ])('%j', (value, expected) => {
    expect(parseToolList(value)).toEqual(expected);
  });

  test('an unknown tool is named with the list of known ones', () => {
    expect(() => parseToolList('node, gradle')).toThrow(
      /^tools: unknown tool 'gradle'\. Expected 'all' or a list of: node, openssl, /,
    );
  });
});

test('wgetrc keeps the user settings and replaces any ca_certificate', () => {
  expect(wgetrcContent('tries = 3\nca_certificate = /old.pem\n', '/t/b.pem')).toBe(
    'tries = 3\n# written by org-ca: GnuTLS wget reads no CA variable, only wgetrc\nca_certificate = /t/b.pem\n',
  );
  expect(wgetrcContent(undefined, '/t/b.pem')).toMatch(/^# written by org-ca/);
});
