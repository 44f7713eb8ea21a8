import { ERROR_CATALOGUE, explain } from '../../../src/detect/catalogue.js';
import { TOOL_REGISTRY } from '../../../src/tools/registry.js';

// Real error texts (../shared/research/peers.md §5 and the lab's measured outputs) → catalogue id and fixing variable.
const TEXTS: ReadonlyArray<readonly [string, Parameters<typeof explain>[1], string, string]> = [
  [
    'SELF_SIGNED_CERT_IN_CHAIN: self-signed certificate in certificate chain',
    'node',
    'SELF_SIGNED_CERT_IN_CHAIN',
    'NODE_EXTRA_CA_CERTS',
  ],
  [
    'npm error code UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'node',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    'NODE_EXTRA_CA_CERTS',
  ],
  [
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate',
    'node',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'NODE_EXTRA_CA_CERTS',
  ],
  [
    "URLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)'))",
    'python',
    'PYTHON_CERTIFICATE_VERIFY_FAILED',
    'SSL_CERT_FILE',
  ],
  [
    'SSL_connect returned=1 errno=0 state=error: SSL routines:tls_post_process_server_certificate:certificate verify failed',
    'openssl',
    'OPENSSL_CERTIFICATE_VERIFY_FAILED',
    'SSL_CERT_FILE',
  ],
  ['curl: (60) SSL certificate problem: unable to get local issuer certificate', 'curl', 'CURL_60', 'CURL_CA_BUNDLE'],
  [
    "fatal: unable to access 'https://x/': server certificate verification failed. CAfile: /etc/ssl/certs/ca-certificates.crt CRLfile: none",
    'git',
    'GIT_SERVER_CERTIFICATE_VERIFICATION_FAILED',
    'GIT_SSL_CAINFO',
  ],
  [
    "fatal: unable to access 'https://x/': SSL certificate problem: self-signed certificate in certificate chain",
    'git',
    'GIT_SERVER_CERTIFICATE_VERIFICATION_FAILED',
    'GIT_SSL_CAINFO',
  ],
  [
    'javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target',
    'java',
    'JAVA_PKIX_PATH_BUILDING_FAILED',
    'JAVA_TOOL_OPTIONS',
  ],
  [
    'Get "https://registry-1.docker.io/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority',
    'go',
    'GO_UNKNOWN_AUTHORITY',
    'SSL_CERT_FILE',
  ],
  // without the runtime, the first matching entry still explains it
  ['x509: certificate signed by unknown authority', undefined, 'GO_UNKNOWN_AUTHORITY', 'SSL_CERT_FILE'],
];

describe('error catalogue', () => {
  test.each(TEXTS)('%s', (text, runtime, id, variable) => {
    const e = explain(text, runtime);
    expect(e?.error.id).toBe(id);
    expect(e?.entry.variable).toBe(variable);
    expect(e?.fix.startsWith(`${variable}=`)).toBe(true);
  });

  test('the runtime decides between overlapping patterns: curl and git share "SSL certificate problem"', () => {
    const text = 'SSL certificate problem: unable to get local issuer certificate';
    expect(explain(text, 'curl')?.entry.variable).toBe('CURL_CA_BUNDLE');
    expect(explain(text, 'git')?.entry.variable).toBe('GIT_SSL_CAINFO');
  });

  test('errors that are not about trust are not explained as such', () => {
    expect(explain('curl: (7) Failed to connect to 127.0.0.1 port 9: Connection refused', 'curl')).toBeUndefined();
    expect(explain("fatal: repository 'https://x/' not found", 'git')).toBeUndefined();
  });

  test('every entry names a tool of the registry', () => {
    const ids = new Set(TOOL_REGISTRY.map((t) => t.id));
    expect(ERROR_CATALOGUE.filter((e) => !ids.has(e.tool)).map((e) => e.id)).toEqual([]);
  });
});

test("every entry's example (quoted in the README's Troubleshooting) is explained by that very entry", () => {
  for (const entry of ERROR_CATALOGUE) {
    expect({ id: entry.id, explainedAs: explain(entry.example, entry.runtime)?.error.id }).toEqual({
      id: entry.id,
      explainedAs: entry.id,
    });
  }
});
