/**
 * The pointer registry: every form in which a setting can point a tool at a CA, from image Env and from the files
 * where settings persist, judged against a final file system.
 */
import { readFileSync } from 'node:fs';
import { FinalFs, LayerIndexBuilder } from '../../../src/leak/scanning/final-fs.js';
import {
  assignmentPointers,
  envPointers,
  filePointers,
  isCapturedPath,
  judgePointer,
  POINTER_VARIABLES,
  type Pointer,
} from '../../../src/ca-pointers/pointers.js';
import { TOOL_REGISTRY } from '../../../src/tools/registry.js';
import { isSystemBundlePath, SYSTEM_BUNDLE_FILES } from '../../../src/tools/system-bundles.js';

const MISSING = '/run/secrets/org_ca';

/** [file path in the image (no leading '/'), content, expected settings] — each names MISSING. */
const FILES: [string, string, string[]][] = [
  ['etc/environment', `PATH="/usr/bin"\nNODE_EXTRA_CA_CERTS="${MISSING}"\n`, ['NODE_EXTRA_CA_CERTS']],
  [
    'etc/environment',
    `JAVA_TOOL_OPTIONS="-Xmx1g -Djavax.net.ssl.trustStore=${MISSING} -Djavax.net.ssl.trustStorePassword=changeit"\n`,
    ['JAVA_TOOL_OPTIONS -Djavax.net.ssl.trustStore'],
  ],
  [
    'etc/profile.d/org-ca.sh',
    `# set by the build\nexport SSL_CERT_FILE=${MISSING}\nexport GIT_SSL_CAPATH='${MISSING}'\n`,
    ['SSL_CERT_FILE', 'GIT_SSL_CAPATH'],
  ],
  [
    'etc/profile.d/java.sh',
    `export JAVA_TOOL_OPTIONS="$JAVA_TOOL_OPTIONS -Djavax.net.ssl.trustStore=${MISSING}"\n`,
    ['JAVA_TOOL_OPTIONS -Djavax.net.ssl.trustStore'],
  ],
  ['etc/bash.bashrc', `export npm_config_cafile=${MISSING}\n`, ['npm_config_cafile']],
  ['root/.bashrc', `export NPM_CONFIG_CAFILE=${MISSING}\n`, ['NPM_CONFIG_CAFILE']],
  ['home/app/.profile', `REQUESTS_CA_BUNDLE=${MISSING}; export REQUESTS_CA_BUNDLE\n`, ['REQUESTS_CA_BUNDLE']],
  [
    'home/app/.zshrc',
    `export MAVEN_OPTS='-Djavax.net.ssl.trustStore=${MISSING}'\n`,
    ['MAVEN_OPTS -Djavax.net.ssl.trustStore'],
  ],
  ['root/.config/fish/config.fish', `set -gx CURL_CA_BUNDLE ${MISSING}\n`, ['CURL_CA_BUNDLE']],
  ['etc/csh.cshrc', `setenv AWS_CA_BUNDLE ${MISSING}\n`, ['AWS_CA_BUNDLE']],
  [
    'etc/systemd/system/app.service',
    `[Service]\nEnvironment="GRADLE_OPTS=-Djavax.net.ssl.trustStore=${MISSING}" "X=1"\n`,
    ['GRADLE_OPTS -Djavax.net.ssl.trustStore'],
  ],
  ['app/.env', `PIP_CERT=${MISSING}\n`, ['PIP_CERT']],
  ['root/.npmrc', `registry=https://registry.npmjs.org/\ncafile=${MISSING}\n`, ['cafile']],
  ['usr/etc/npmrc', `//npm.example.com:8443/:cafile=${MISSING}\n`, ['cafile']],
  ['app/.yarnrc', `cafile "${MISSING}"\n`, ['cafile']],
  ['app/.yarnrc.yml', `networkSettings:\n  "npm.example.com":\n    httpsCaFilePath: ${MISSING}\n`, ['httpsCaFilePath']],
  ['etc/pip.conf', `[global]\ncert = ${MISSING}\n`, ['cert']],
  ['root/AppData/pip/pip.ini', `[global]\ncert=${MISSING}\n`, ['cert']],
  ['root/.condarc', `channels: [defaults]\nssl_verify: ${MISSING}\n`, ['ssl_verify']],
  ['etc/gitconfig', `[http "https://git.example.com"]\n\tsslCAInfo = ${MISSING}\n`, ['sslCAInfo']],
  ['root/.config/git/config', `[http]\n\tsslcapath = ${MISSING}\n`, ['sslcapath']],
  ['root/.curlrc', `--cacert ${MISSING}\n`, ['--cacert']],
  ['etc/wgetrc', `ca_certificate = ${MISSING}\n`, ['ca_certificate']],
  ['root/.wget2rc', `ca-certificate = ${MISSING}\n`, ['ca-certificate']],
  ['etc/apt/apt.conf.d/99org-ca', `Acquire::https::CAInfo "${MISSING}";\n`, ['Acquire::https::CAInfo']],
  [
    'etc/apt/apt.conf.d/50proxy',
    `Acquire::https::repo.example.com::CAInfo "${MISSING}";\n`,
    ['Acquire::https::repo.example.com::CAInfo'],
  ],
  ['etc/apt/apt.conf', `Acquire {\n  https {\n    CAInfo "${MISSING}";\n  };\n};\n`, ['CAInfo']],
  [
    'root/.gradle/gradle.properties',
    `org.gradle.daemon=false\nsystemProp.javax.net.ssl.trustStore=${MISSING}\n`,
    ['javax.net.ssl.trustStore'],
  ],
  [
    'app/gradle.properties',
    `org.gradle.jvmargs=-Xmx2g -Djavax.net.ssl.trustStore=${MISSING}\n`,
    ['javax.net.ssl.trustStore'],
  ],
  ['app/.mvn/jvm.config', `-Djavax.net.ssl.trustStore=${MISSING}\n`, ['javax.net.ssl.trustStore']],
  ['app/.jvmopts', `-J-Djavax.net.ssl.trustStore=${MISSING}\n`, ['javax.net.ssl.trustStore']],
  ['root/.cargo/config.toml', `[http]\ncainfo = "${MISSING}"\n`, ['cainfo']],
  ['usr/local/cargo/config', `http.cainfo = "${MISSING}"\n`, ['http.cainfo']],
  ['root/.bundle/config', `---\nBUNDLE_SSL_CA_CERT: "${MISSING}"\n`, ['BUNDLE_SSL_CA_CERT']],
  ['root/.composer/config.json', `{\n  "config": {\n    "cafile": "${MISSING}",\n    "x": 1\n  }\n}\n`, ['cafile']],
  ['app/composer.json', `{"config": {\n"capath": "${MISSING}"}}\n`, ['capath']],
  ['app/bunfig.toml', `[install]\ncafile = "${MISSING}"\n`, ['cafile']],
];

const emptyFs = FinalFs.build([new LayerIndexBuilder().finish()]);

describe('every file where a CA setting persists', () => {
  test.each(FILES)('/%s', (path, text, settings) => {
    expect(isCapturedPath(path)).toBe(true);
    const pointers = filePointers(path, text);
    expect(pointers.map((p) => p.setting)).toEqual(settings);
    for (const p of pointers) {
      expect(p.where).toBe(`/${path}`);
      expect(p.value).toBe(MISSING);
      expect(judgePointer(p, emptyFs, new Set())).toEqual({ kind: 'pointer-missing', file: MISSING });
    }
  });

  test.each([
    ['etc/ssl/certs/ca-certificates.crt'],
    ['usr/share/doc/git/config.txt'],
    ['app/src/config.ts'],
    ['app/node_modules/x/.npmrc.sample'],
    ['etc/apt/sources.list'],
  ])('not captured: /%s', (path) => {
    expect(isCapturedPath(path)).toBe(false);
  });

  test('settings that name no file are not pointers', () => {
    expect(filePointers('root/.condarc', 'ssl_verify: true\n')).toEqual([]);
    expect(
      filePointers(
        'etc/profile.d/x.sh',
        'export SSL_CERT_FILE=$HOME/ca.pem\nexport JAVA_TOOL_OPTIONS=-Xmx1g\n# export NODE_EXTRA_CA_CERTS=/x\n',
      ),
    ).toEqual([]);
    expect(filePointers('etc/environment', 'JAVA_TOOL_OPTIONS=-Djavax.net.ssl.trustStoreType=PKCS12\n')).toEqual([]);
    expect(filePointers('root/.npmrc', 'ca=\n')).toEqual([]);
  });

  test('~/ in a dotfile is the home that holds it', () => {
    expect(filePointers('home/app/.npmrc', 'cafile=~/certs/org.pem\n')[0]!.value).toBe('/home/app/certs/org.pem');
  });

  test('an npmrc ca= holding certificate text is inline', () => {
    const [p] = filePointers('root/.npmrc', `ca="-----BEGIN CERTIFICATE-----\\nMIIB…\\n-----END CERTIFICATE-----"\n`);
    expect(judgePointer(p!, emptyFs, new Set())).toEqual({ kind: 'pointer-inline' });
  });
});

describe('image Env', () => {
  test('every variable the action exports is a pointer (derived from the tool registry)', () => {
    for (const entry of TOOL_REGISTRY) {
      const [p] = envPointers([
        entry.file === 'truststore'
          ? `${entry.variable}=-Djavax.net.ssl.trustStore=${MISSING}`
          : `${entry.variable}=${MISSING}`,
      ]);
      if (entry.file === 'setting') expect(p).toBeUndefined();
      else
        expect([entry.variable, p && judgePointer(p, emptyFs, new Set())]).toEqual([
          entry.variable,
          { kind: 'pointer-missing', file: MISSING },
        ]);
    }
    // and the override variables it exports for a configured cafile (src/tools/config-scan.ts)
    for (const name of ['npm_config_cafile', 'YARN_HTTPS_CA_FILE_PATH', 'YARN_CA_FILE_PATH'])
      expect(POINTER_VARIABLES.map((v) => v.name)).toContain(name);
  });

  test.each([
    ['npm_config_cafile (lower case)', 'npm_config_cafile', MISSING, 'npm_config_cafile'],
    ['NPM_CONFIG_CAFILE', 'NPM_CONFIG_CAFILE', MISSING, 'NPM_CONFIG_CAFILE'],
    ['Npm_Config_Cafile (npm reads any case)', 'Npm_Config_Cafile', MISSING, 'Npm_Config_Cafile'],
    ['GIT_SSL_CAPATH', 'GIT_SSL_CAPATH', MISSING, 'GIT_SSL_CAPATH'],
    ['SSL_CERT_DIR list', 'SSL_CERT_DIR', `/etc/ssl/certs:${MISSING}`, 'SSL_CERT_DIR'],
    ...[
      'JAVA_TOOL_OPTIONS',
      'JDK_JAVA_OPTIONS',
      '_JAVA_OPTIONS',
      'MAVEN_OPTS',
      'GRADLE_OPTS',
      'SBT_OPTS',
      'JAVA_OPTS',
    ].map(
      (v) =>
        [
          `${v} -Djavax.net.ssl.trustStore`,
          v,
          `-Xmx512m -Djavax.net.ssl.trustStore=${MISSING} -Djavax.net.ssl.trustStoreType=JKS`,
          `${v} -Djavax.net.ssl.trustStore`,
        ] as [string, string, string, string],
    ),
    [
      'JAVA_TOOL_OPTIONS, quoted value',
      'JAVA_TOOL_OPTIONS',
      `"-Djavax.net.ssl.trustStore=${MISSING}"`,
      'JAVA_TOOL_OPTIONS -Djavax.net.ssl.trustStore',
    ],
  ])('%s', (_name, variable, value, setting) => {
    const pointers = envPointers(['PATH=/bin', `${variable}=${value}`]);
    expect(pointers.map((p) => [p.setting, p.where])).toEqual([[setting, 'config.Env[1]']]);
    const fs = FinalFs.build([fsLayer(['etc/ssl/certs/ca-certificates.crt'])]);
    expect(judgePointer(pointers[0]!, fs, new Set())).toEqual({ kind: 'pointer-missing', file: MISSING });
  });

  test('git config from the environment (GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n)', () => {
    const pointers = envPointers([
      'GIT_CONFIG_COUNT=1',
      'GIT_CONFIG_KEY_0=http.sslCAInfo',
      `GIT_CONFIG_VALUE_0=${MISSING}`,
    ]);
    expect(pointers).toEqual([{ where: 'config.Env[2]', setting: 'http.sslCAInfo', value: MISSING, form: 'file' }]);
  });

  test('JVM options without a trustStore, and GODEBUG, are not pointers', () => {
    expect(
      envPointers([
        'JAVA_TOOL_OPTIONS=-Xmx1g -Djavax.net.ssl.trustStoreType=PKCS12',
        'GODEBUG=x509sslcertoverrideplatform=0',
        'JAVA_OPTS=-Djavax.net.ssl.trustStore=NONE',
      ]),
    ).toEqual([]);
    expect(assignmentPointers('CONDA_SSL_VERIFY', 'false', 'x')).toEqual([]);
  });
});

function fsLayer(files: string[], links: [string, string][] = []): ReturnType<LayerIndexBuilder['finish']> {
  const b = new LayerIndexBuilder();
  for (const f of files) b.add(f, 'file');
  for (const [path, target] of links) b.add(path, 'symlink', target);
  return b.finish();
}

describe('judging a pointer against the image', () => {
  const fs = FinalFs.build([
    fsLayer(
      [
        'etc/ssl/certs/ca-certificates.crt',
        'opt/app/truststore.jks',
        'usr/lib/jvm/java/lib/security/cacerts',
        'etc/org.pem',
      ],
      [['etc/ssl/cert.pem', 'certs/ca-certificates.crt']],
    ),
  ]);
  const pointer = (value: string, form: Pointer['form'] = 'file'): Pointer => ({
    where: 'config.Env[0]',
    setting: 'X',
    value,
    form,
  });
  test.each([
    ['the image’s own system bundle', pointer('/etc/ssl/certs/ca-certificates.crt'), new Set<string>(), undefined],
    ['the system bundle through a symlink', pointer('/etc/ssl/cert.pem'), new Set<string>(), undefined],
    [
      'the system bundle when it holds the CA',
      pointer('/etc/ssl/cert.pem'),
      new Set(['/etc/ssl/certs/ca-certificates.crt']),
      { kind: 'pointer-to-ca', file: '/etc/ssl/certs/ca-certificates.crt' },
    ],
    [
      'a system bundle path the image lacks (distroless)',
      pointer('/etc/pki/tls/certs/ca-bundle.crt'),
      new Set<string>(),
      undefined,
    ],
    ['the JDK cacerts', pointer('/usr/lib/jvm/java/lib/security/cacerts'), new Set<string>(), undefined],
    [
      'a truststore holding the CA',
      pointer('/opt/app/truststore.jks'),
      new Set(['/opt/app/truststore.jks']),
      { kind: 'pointer-to-ca', file: '/opt/app/truststore.jks' },
    ],
    [
      'a file the image lacks',
      pointer('/tmp/org-ca-1234/ca-bundle.pem'),
      new Set<string>(),
      { kind: 'pointer-missing', file: '/tmp/org-ca-1234/ca-bundle.pem' },
    ],
    [
      'certificate text',
      pointer('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'),
      new Set<string>(),
      { kind: 'pointer-inline' },
    ],
    [
      'a directory holding the CA',
      pointer('/etc', 'dir'),
      new Set(['/etc/org.pem']),
      { kind: 'pointer-to-ca', file: '/etc/org.pem' },
    ],
  ])('%s', (_name, p, caPaths, expected) => {
    expect(judgePointer(p, fs, caPaths)).toEqual(expected);
  });
});

describe('the distributions’ bundle list', () => {
  test('equals the default list of the in-build helper (with-org-ca.sh)', () => {
    const script = readFileSync(new URL('../../../src/in-build/with-org-ca.sh', import.meta.url), 'utf8');
    const defaults = /\$\{ORG_CA_SYSTEM_BUNDLES:-([^}]*)\}/.exec(script)![1]!.trim().split(/\s+/);
    expect(defaults).toEqual([...SYSTEM_BUNDLE_FILES]);
  });

  test.each([
    ['/etc/ssl/certs/ca-certificates.crt', true],
    ['/etc/ssl/certs/', true],
    ['/etc/ssl/certs/../certs/ca-certificates.crt', true],
    ['/etc/pki/tls/certs/ca-bundle.crt', true],
    ['/etc/ssl/certs/org-ca.pem', false],
    ['etc/ssl/cert.pem', false],
    ['/run/secrets/org_ca', false],
  ])('isSystemBundlePath(%s) = %s', (path, expected) => {
    expect(isSystemBundlePath(path)).toBe(expected);
  });
});
