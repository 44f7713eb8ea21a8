/**
 * Issue 11, point 1 (pure half): what the job already trusts is kept. An appending variable the job had set is merged
 * into the file org-ca exports; a user's own Java trustStore (from JAVA_TOOL_OPTIONS or JDK_JAVA_OPTIONS, with its
 * type and password) becomes the base of org-ca's store; Perl LWP and wget2 get their own variables.
 */
import {
  jvmTrustOptions,
  planInjection,
  splitJvmOptions,
  wget2rcContent,
  type PlanInput,
} from '../../../src/tools/injection-plan.js';
import { TOOL_REGISTRY } from '../../../src/tools/registry.js';

const base: PlanInput = { platform: 'linux', env: {}, dir: '/t/org-ca-x', caOverrides: [] };
const vars = (input: Partial<PlanInput>): Record<string, string> =>
  Object.fromEntries(planInjection({ ...base, ...input }).variables.map((v) => [v.name, v.value]));

describe('appending variables the job already set', () => {
  test('NODE_EXTRA_CA_CERTS: the exported file is a merged copy, and the plan says what it keeps', () => {
    const plan = planInjection({ ...base, env: { NODE_EXTRA_CA_CERTS: '/etc/internal/ca.pem' } });
    expect(plan.variables.find((v) => v.name === 'NODE_EXTRA_CA_CERTS')?.value).toBe(
      '/t/org-ca-x/node_extra_ca_certs.pem',
    );
    expect(plan.kept).toEqual([
      { variable: 'NODE_EXTRA_CA_CERTS', from: '/etc/internal/ca.pem', path: '/t/org-ca-x/node_extra_ca_certs.pem' },
    ]);
    expect(plan.notes.join('\n')).toContain(
      "NODE_EXTRA_CA_CERTS already named '/etc/internal/ca.pem': its certificates are kept",
    );
    // the CA alone (build secret, ca-path output) is still the CA alone
    expect(plan.files.ca).toBe('/t/org-ca-x/org-ca.pem');
  });

  test('DENO_CERT, every appending variable, is kept the same way', () => {
    const appending = TOOL_REGISTRY.filter((e) => e.file === 'ca').map((e) => e.variable);
    expect(appending).toEqual(expect.arrayContaining(['NODE_EXTRA_CA_CERTS', 'DENO_CERT']));
    const env = Object.fromEntries(appending.map((name) => [name, `/old/${name}.pem`]));
    const plan = planInjection({ ...base, env });
    expect(plan.kept.map((k) => k.variable).sort()).toEqual([...appending].sort());
    for (const kept of plan.kept) expect(vars({ env })[kept.variable]).toBe(kept.path);
  });

  test('unset or empty: the org CA file itself, nothing to keep', () => {
    const plan = planInjection({ ...base, env: { NODE_EXTRA_CA_CERTS: '  ' } });
    expect(plan.kept).toEqual([]);
    expect(vars({}).NODE_EXTRA_CA_CERTS).toBe('/t/org-ca-x/org-ca.pem');
  });
});

describe('JVM options', () => {
  test('split on white space, double quotes holding spaces (JDK-8061999)', () => {
    expect(splitJvmOptions(' -Xmx1g  "-Dp=/a b/c" -Dq=1 ')).toEqual(['-Xmx1g', '-Dp=/a b/c', '-Dq=1']);
    expect(splitJvmOptions(undefined)).toEqual([]);
  });

  test('the trust properties are found (the last of each wins, as in the JVM) and the rest kept in order', () => {
    expect(
      jvmTrustOptions(
        '-Xmx1g -Djavax.net.ssl.trustStore=/a.jks -Dx=1 -Djavax.net.ssl.trustStore=/b.p12 -Djavax.net.ssl.trustStoreType=PKCS12 -Djavax.net.ssl.trustStorePassword=s3cret',
      ),
    ).toEqual({ store: '/b.p12', type: 'PKCS12', password: 's3cret', rest: ['-Xmx1g', '-Dx=1'] });
  });

  test('a user trustStore in JAVA_TOOL_OPTIONS: kept options, ours appended, the user password not exported', () => {
    const env = {
      JAVA_TOOL_OPTIONS:
        '-Xmx1g -Djavax.net.ssl.trustStore=/home/u/store.p12 -Djavax.net.ssl.trustStoreType=pkcs12 -Djavax.net.ssl.trustStorePassword=s3cret -Dfile.encoding=UTF-8',
    };
    const plan = planInjection({ ...base, env });
    expect(plan.javaTrustStore).toEqual({
      path: '/home/u/store.p12',
      type: 'pkcs12',
      password: 's3cret',
      from: 'JAVA_TOOL_OPTIONS',
    });
    expect(vars({ env }).JAVA_TOOL_OPTIONS).toBe(
      '-Xmx1g -Dfile.encoding=UTF-8 -Djavax.net.ssl.trustStore=/t/org-ca-x/truststore.jks -Djavax.net.ssl.trustStoreType=JKS -Djavax.net.ssl.trustStorePassword=changeit',
    );
    expect(JSON.stringify(plan.variables)).not.toContain('s3cret');
    expect(JSON.stringify(plan.notes)).not.toContain('s3cret');
    expect(plan.notes.join('\n')).toContain(
      "the trustStore '/home/u/store.p12' named in JAVA_TOOL_OPTIONS is the base of the org-ca store",
    );
  });

  test('JDK_JAVA_OPTIONS beats JAVA_TOOL_OPTIONS (the launcher passes it as command-line options): its trust options move out', () => {
    const env = {
      JAVA_TOOL_OPTIONS: '-Djavax.net.ssl.trustStorePassword=toolpw -Xss1m',
      JDK_JAVA_OPTIONS: '--add-opens=java.base/java.lang=ALL-UNNAMED -Djavax.net.ssl.trustStore=/u/jdk.jks',
    };
    const plan = planInjection({ ...base, env });
    // per property, the command line wins; a property set only in JAVA_TOOL_OPTIONS still applies
    expect(plan.javaTrustStore).toEqual({ path: '/u/jdk.jks', password: 'toolpw', from: 'JDK_JAVA_OPTIONS' });
    const v = vars({ env });
    expect(v.JDK_JAVA_OPTIONS).toBe('--add-opens=java.base/java.lang=ALL-UNNAMED');
    expect(v.JAVA_TOOL_OPTIONS).toBe(
      '-Xss1m -Djavax.net.ssl.trustStore=/t/org-ca-x/truststore.jks -Djavax.net.ssl.trustStoreType=JKS -Djavax.net.ssl.trustStorePassword=changeit',
    );
  });

  test('no user trustStore: JDK_JAVA_OPTIONS is left alone, the base is the JDK cacerts', () => {
    const env = { JDK_JAVA_OPTIONS: '-Xmx2g' };
    const plan = planInjection({ ...base, env });
    expect(plan.javaTrustStore).toBeUndefined();
    expect(vars({ env })).not.toHaveProperty('JDK_JAVA_OPTIONS');
  });
});

describe('Perl LWP and wget2', () => {
  test('registry: PERL_LWP_SSL_CA_FILE and WGET2RC with their sources; never HTTPS_CA_FILE', () => {
    const perl = TOOL_REGISTRY.find((e) => e.id === 'perl');
    expect(perl).toMatchObject({
      variable: 'PERL_LWP_SSL_CA_FILE',
      semantics: 'replace',
      file: 'bundle',
      source: expect.stringMatching(/^https:\/\/metacpan\.org\//),
    });
    const wget2 = TOOL_REGISTRY.find((e) => e.id === 'wget2');
    expect(wget2).toMatchObject({
      variable: 'WGET2RC',
      semantics: 'replace',
      file: 'wget2rc',
      source: expect.stringMatching(/^https:\/\/gitlab\.com\/gnuwget\/wget2/),
    });
    expect(TOOL_REGISTRY.map((e) => e.variable)).not.toContain('HTTPS_CA_FILE');
    expect(vars({})).not.toHaveProperty('HTTPS_CA_FILE');
  });

  test('the plan points them at the bundle and at a wget2rc', () => {
    const v = vars({});
    expect(v.PERL_LWP_SSL_CA_FILE).toBe('/t/org-ca-x/ca-bundle.pem');
    expect(v.WGET2RC).toBe('/t/org-ca-x/wget2rc');
    expect(planInjection({ ...base, tools: ['perl'] }).files.wget2rc).toBeUndefined();
  });

  test('wget2rc keeps the user settings and replaces any ca-certificate', () => {
    expect(wget2rcContent('tries = 3\nca-certificate = /old.pem\nca_certificate=/old2.pem\n', '/t/b.pem')).toBe(
      'tries = 3\n# written by org-ca: wget2 reads no CA variable, only its wget2rc\nca-certificate = /t/b.pem\n',
    );
  });
});
