import { scanConfigs, type ConfigFile } from '../../../src/tools/config-scan.js';

const file = (kind: ConfigFile['kind'], text: string, path = `/x/${kind}`): ConfigFile => ({ kind, text, path });

describe('settings that make npm/yarn/bun ignore NODE_EXTRA_CA_CERTS', () => {
  test.each<[string, ConfigFile[], Record<string, string>, Array<{ setting: string; variable?: string }>]>([
    [
      'global npmrc cafile (as on our machines)',
      [file('npmrc', 'cafile=/etc/ssl/certs/ca-certificates.crt\n', '/usr/etc/npmrc')],
      {},
      [{ setting: 'cafile', variable: 'npm_config_cafile' }],
    ],
    [
      'npmrc inline ca',
      [file('npmrc', 'ca="-----BEGIN CERTIFICATE-----\\nMII..."')],
      {},
      [{ setting: 'ca', variable: 'npm_config_cafile' }],
    ],
    [
      'npmrc ca[] list',
      [file('npmrc', 'ca[]="x"\nca[]="y"')],
      {},
      [
        { setting: 'ca[]', variable: 'npm_config_cafile' },
        { setting: 'ca[]', variable: 'npm_config_cafile' },
      ],
    ],
    ['commented out cafile is ignored', [file('npmrc', '# cafile=/x\n; cafile=/y\n')], {}, []],
    ['registry settings only', [file('npmrc', 'registry=https://r.example/\n//r.example/:_authToken=${T}\n')], {}, []],
    [
      'yarn 1 .yarnrc',
      [file('yarnrc', 'cafile "/etc/x.pem"\n')],
      {},
      [{ setting: 'cafile', variable: 'npm_config_cafile' }],
    ],
    [
      'yarn 4 httpsCaFilePath',
      [file('yarnrc.yml', 'nodeLinker: node-modules\nhttpsCaFilePath: /etc/x.pem\n')],
      {},
      [{ setting: 'httpsCaFilePath', variable: 'YARN_HTTPS_CA_FILE_PATH' }],
    ],
    [
      'yarn 2/3 caFilePath',
      [file('yarnrc.yml', "caFilePath: '/etc/x.pem'\n")],
      {},
      [{ setting: 'caFilePath', variable: 'YARN_CA_FILE_PATH' }],
    ],
    [
      'bunfig cafile has no env form',
      [file('bunfig', '[install]\ncafile = "/etc/x.pem"\n')],
      {},
      [{ setting: 'cafile' }],
    ],
    [
      'npm_config_cafile in the environment',
      [],
      { npm_config_cafile: '/etc/x.pem' },
      [{ setting: 'npm_config_cafile', variable: 'npm_config_cafile' }],
    ],
    [
      'NPM_CONFIG_CAFILE upper-case',
      [],
      { NPM_CONFIG_CAFILE: '/etc/x.pem' },
      [{ setting: 'npm_config_cafile', variable: 'npm_config_cafile' }],
    ],
  ])('%s', (_name, files, env, expected) => {
    const scan = scanConfigs(files, env);
    expect(
      scan.caOverrides.map((o) => ({ setting: o.setting, ...(o.variable ? { variable: o.variable } : {}) })),
    ).toEqual(expected);
    expect(scan.insecure).toEqual([]);
  });
});

describe('settings that switch TLS verification off', () => {
  test.each<[string, ConfigFile[], Record<string, string>, string[]]>([
    ['NODE_TLS_REJECT_UNAUTHORIZED=0', [], { NODE_TLS_REJECT_UNAUTHORIZED: '0' }, ['NODE_TLS_REJECT_UNAUTHORIZED=0']],
    ['NODE_TLS_REJECT_UNAUTHORIZED=1 is fine', [], { NODE_TLS_REJECT_UNAUTHORIZED: '1' }, []],
    ['GIT_SSL_NO_VERIFY any value', [], { GIT_SSL_NO_VERIFY: 'true' }, ['GIT_SSL_NO_VERIFY=true']],
    ['PYTHONHTTPSVERIFY=0', [], { PYTHONHTTPSVERIFY: '0' }, ['PYTHONHTTPSVERIFY=0']],
    ['npm strict-ssl off in env', [], { NPM_CONFIG_STRICT_SSL: 'false' }, ['npm_config_strict_ssl=false']],
    ['yarn 4 strict ssl off', [], { YARN_ENABLE_STRICT_SSL: '0' }, ['YARN_ENABLE_STRICT_SSL=0']],
    [
      'runner TLS no verify',
      [],
      { GITHUB_ACTIONS_RUNNER_TLS_NO_VERIFY: '1' },
      ['GITHUB_ACTIONS_RUNNER_TLS_NO_VERIFY=1'],
    ],
    ['npmrc strict-ssl=false', [file('npmrc', 'strict-ssl=false\n')], {}, ['strict-ssl=false']],
    ['npmrc strict-ssl=true is fine', [file('npmrc', 'strict-ssl=true\n')], {}, []],
    [
      'yarnrc.yml enableStrictSsl: false',
      [file('yarnrc.yml', 'enableStrictSsl: false\n')],
      {},
      ['enableStrictSsl: false'],
    ],
    [
      'gitconfig http.sslVerify = false',
      [file('gitconfig', '[http]\n\tsslVerify = false\n')],
      {},
      ['http.sslVerify=false'],
    ],
    [
      'gitconfig per-URL sslVerify',
      [file('gitconfig', '[http "https://x.example/"]\n  sslverify = no\n')],
      {},
      ['http.sslVerify=no'],
    ],
    [
      'gitconfig other sections are fine',
      [file('gitconfig', '[user]\n name = a\n[core]\n sslverify = false\n')],
      {},
      [],
    ],
    ['curlrc insecure', [file('curlrc', '--insecure\n')], {}, ['--insecure']],
    ['curlrc -k', [file('curlrc', '-k\n')], {}, ['-k']],
    ['wgetrc check_certificate = off', [file('wgetrc', 'check_certificate = off\n')], {}, ['check_certificate = off']],
    ['pip trusted-host', [file('pip.conf', '[global]\ntrusted-host = pypi.org\n')], {}, ['trusted-host']],
  ])('%s', (_name, files, env, expected) => {
    expect(scanConfigs(files, env).insecure.map((i) => i.setting)).toEqual(expected);
  });

  test('says where each setting is', () => {
    const scan = scanConfigs([file('npmrc', 'strict-ssl=false', '/home/u/.npmrc')], {
      NODE_TLS_REJECT_UNAUTHORIZED: '0',
    });
    expect(scan.insecure).toEqual([
      { where: '/home/u/.npmrc', setting: 'strict-ssl=false' },
      { where: 'environment', setting: 'NODE_TLS_REJECT_UNAUTHORIZED=0' },
    ]);
  });
});
