import { spawnSync } from 'node:child_process';
import { buildOutputs, PROXY_BUILD_ARGS, proxyBuildArgs } from '../../../src/in-build/outputs.js';
import { shellQuote } from '../../../src/output/shell-quote.js';

const HELPER = '/runner/_temp/org-ca-build-context';

describe('buildOutputs', () => {
  const rows: Array<
    [
      string,
      Parameters<typeof buildOutputs>[0],
      { secretFiles: string; buildContexts: string; buildArgs: string; dockerFlags: string },
    ]
  > = [
    [
      'injected, no proxy',
      { helperDir: HELPER, caPath: '/t/org-ca-1/org-ca.pem', bundlePath: '/t/org-ca-1/ca-bundle.pem', env: {} },
      {
        secretFiles: 'org_ca=/t/org-ca-1/org-ca.pem\norg_ca_bundle=/t/org-ca-1/ca-bundle.pem',
        buildContexts: `org-ca=${HELPER}`,
        buildArgs: '',
        dockerFlags: `--secret id=org_ca,src=/t/org-ca-1/org-ca.pem --secret id=org_ca_bundle,src=/t/org-ca-1/ca-bundle.pem --build-context org-ca=${HELPER}`,
      },
    ],
    [
      'not injected: helper only, no secret, so required=false mounts stay empty',
      { helperDir: HELPER, env: {} },
      {
        secretFiles: '',
        buildContexts: `org-ca=${HELPER}`,
        buildArgs: '',
        dockerFlags: `--build-context org-ca=${HELPER}`,
      },
    ],
    [
      'proxies of both cases, in a stable order; other variables ignored',
      {
        helperDir: HELPER,
        env: {
          https_proxy: 'http://127.0.0.1:3128',
          HTTPS_PROXY: 'http://proxy:3128',
          NO_PROXY: 'localhost,.corp',
          SSL_CERT_FILE: '/x',
          NODE_EXTRA_CA_CERTS: '/y',
          HOME: '/root',
        },
      },
      {
        secretFiles: '',
        buildContexts: `org-ca=${HELPER}`,
        buildArgs: 'HTTPS_PROXY=http://proxy:3128\nhttps_proxy=http://127.0.0.1:3128\nNO_PROXY=localhost,.corp',
        dockerFlags: `--build-context org-ca=${HELPER} --build-arg HTTPS_PROXY=http://proxy:3128 --build-arg https_proxy=http://127.0.0.1:3128 --build-arg NO_PROXY=localhost,.corp`,
      },
    ],
    [
      'paths with spaces and quotes are shell-quoted in docker-flags only',
      {
        helperDir: "/r/it's temp",
        caPath: '/r/a b/org-ca.pem',
        bundlePath: '/r/a b/ca-bundle.pem',
        env: { NO_PROXY: '*' },
      },
      {
        secretFiles: 'org_ca=/r/a b/org-ca.pem\norg_ca_bundle=/r/a b/ca-bundle.pem',
        buildContexts: "org-ca=/r/it's temp",
        buildArgs: 'NO_PROXY=*',
        dockerFlags: `--secret 'id=org_ca,src=/r/a b/org-ca.pem' --secret 'id=org_ca_bundle,src=/r/a b/ca-bundle.pem' --build-context 'org-ca=/r/it'\\''s temp' --build-arg 'NO_PROXY=*'`,
      },
    ],
  ];
  test.each(rows)('%s', (_name, input, expected) => {
    const out = buildOutputs(input);
    expect({
      secretFiles: out.secretFiles,
      buildContexts: out.buildContexts,
      buildArgs: out.buildArgs,
      dockerFlags: out.dockerFlags,
    }).toEqual(expected);
  });

  test('never carries certificate content, even when a proxy variable holds some', () => {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    const out = buildOutputs({
      helperDir: HELPER,
      caPath: '/t/org-ca.pem',
      bundlePath: '/t/b.pem',
      env: { HTTPS_PROXY: pem, ORG_CA: pem },
    });
    for (const value of [out.secretFiles, out.buildContexts, out.buildArgs, out.dockerFlags])
      expect(value).not.toContain('BEGIN CERTIFICATE');
    expect(out.skipped).toEqual(['HTTPS_PROXY: holds a line break, which a build-args list cannot carry']);
  });
});

describe('proxyBuildArgs', () => {
  test('only the predefined proxy args, upper and lower case', () => {
    expect(PROXY_BUILD_ARGS).toEqual([
      'HTTP_PROXY',
      'http_proxy',
      'HTTPS_PROXY',
      'https_proxy',
      'FTP_PROXY',
      'ftp_proxy',
      'NO_PROXY',
      'no_proxy',
      'ALL_PROXY',
      'all_proxy',
    ]);
  });
  test.each([
    ['http://user:hunter2@proxy:3128', false],
    ['user:hunter2@proxy:3128', false],
    ['http://proxy.corp:3128', true],
    ['socks5://10.0.0.1:1080', true],
  ])('%s passed on: %s', (value, passed) => {
    const { args, skipped } = proxyBuildArgs({ ALL_PROXY: value });
    expect(args.length === 1).toBe(passed);
    expect(skipped.length === 1).toBe(!passed);
    expect(skipped.join('')).not.toContain('hunter2');
  });
  test('empty values are left out silently', () => {
    expect(proxyBuildArgs({ HTTP_PROXY: '', no_proxy: '' })).toEqual({ args: [], skipped: [] });
  });
});

describe('shellQuote survives a real shell', () => {
  test.each(['plain', 'a b', "it's", '$HOME', '`id`', 'a"b', '*', 'x\\y', ''])('%j', (word) => {
    const out = spawnSync('sh', ['-c', `printf '%s' ${shellQuote(word)}`], { encoding: 'utf8' });
    expect(out.stdout).toBe(word);
  });
});
