/**
 * The TLS-trust errors each runtime prints behind an inspection proxy, what they mean, and the one setting that fixes
 * them for that tool. Pure. Messages and sources: ../shared/research/peers.md §5; the setting is the tool's entry in
 * TOOL_REGISTRY, never repeated here.
 */
import { TOOL_REGISTRY, type ToolEntry } from '../tools/registry.js';

export type Runtime = 'node' | 'python' | 'openssl' | 'curl' | 'git' | 'java' | 'go';

export interface KnownError {
  readonly id: string;
  readonly runtime: Runtime;
  /** Matches the runtime's own error text. */
  readonly pattern: RegExp;
  readonly meaning: string;
  /** A real error text as the runtime prints it behind an inspection proxy (docs/troubleshooting.md quotes it). */
  readonly example: string;
  /** TOOL_REGISTRY id whose variable fixes it. */
  readonly tool: string;
  readonly source: string;
}

const MISSING = 'the TLS-inspection CA is not in the trust store this client uses';

export const ERROR_CATALOGUE: readonly KnownError[] = [
  {
    id: 'SELF_SIGNED_CERT_IN_CHAIN',
    runtime: 'node',
    pattern: /SELF_SIGNED_CERT_IN_CHAIN|self[- ]signed certificate in certificate chain/i,
    meaning: `the server sent a chain ending in a root this client does not trust: a proxy sending its own root along (squid ssl-bump does); ${MISSING}`,
    example: 'npm error code SELF_SIGNED_CERT_IN_CHAIN / Error: self-signed certificate in certificate chain',
    tool: 'node',
    source: 'https://github.com/npm/npm/issues/7519',
  },
  {
    id: 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
    runtime: 'node',
    pattern: /UNABLE_TO_GET_ISSUER_CERT_LOCALLY/,
    meaning: `the issuer of the chain's top certificate is not trusted here; ${MISSING}`,
    example: 'npm error code UNABLE_TO_GET_ISSUER_CERT_LOCALLY / unable to get local issuer certificate',
    tool: 'node',
    source: 'https://github.com/oliverschwendener/ueli/issues/619',
  },
  {
    id: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    runtime: 'node',
    pattern: /UNABLE_TO_VERIFY_LEAF_SIGNATURE|unable to verify the first certificate/i,
    meaning: `only the server certificate was sent and nothing trusted here signed it (the proxy sends no chain); ${MISSING}`,
    example: "Error: unable to verify the first certificate (code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')",
    tool: 'node',
    source: 'https://github.com/release-drafter/release-drafter/issues/875',
  },
  {
    id: 'PYTHON_CERTIFICATE_VERIFY_FAILED',
    runtime: 'python',
    pattern: /CERTIFICATE_VERIFY_FAILED/,
    meaning: `Python's ssl module could not build a chain to a trusted root ("unable to get local issuer certificate" or "self-signed certificate in certificate chain"); ${MISSING}. Python requests and pip read REQUESTS_CA_BUNDLE / PIP_CERT instead`,
    example:
      'ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)',
    tool: 'openssl',
    source: 'https://github.com/pypa/pipenv/issues/5282',
  },
  {
    id: 'OPENSSL_CERTIFICATE_VERIFY_FAILED',
    runtime: 'openssl',
    pattern: /tls_post_process_server_certificate:certificate verify failed/,
    meaning: `OpenSSL (Ruby, PHP, C tools) rejected the server chain; ${MISSING}`,
    example:
      'SSL_connect returned=1 errno=0 state=error: SSL routines:tls_post_process_server_certificate:certificate verify failed',
    tool: 'openssl',
    source: 'https://docs.openssl.org/3.0/man3/SSL_CTX_load_verify_locations/',
  },
  {
    id: 'CURL_60',
    runtime: 'curl',
    pattern: /curl: \(60\)|SSL certificate problem/,
    meaning: `curl exit 60: the peer certificate cannot be authenticated with the known CA certificates; ${MISSING}`,
    example: 'curl: (60) SSL certificate problem: unable to get local issuer certificate',
    tool: 'curl',
    source: 'https://curl.se/libcurl/c/libcurl-errors.html#CURLEPEERFAILEDVERIFICATION',
  },
  {
    id: 'GIT_SERVER_CERTIFICATE_VERIFICATION_FAILED',
    runtime: 'git',
    pattern: /server certificate verification failed|SSL certificate problem/,
    meaning: `git (GnuTLS on Debian/Ubuntu, which ignores SSL_CERT_FILE) rejected the server chain; ${MISSING}`,
    example:
      "fatal: unable to access 'https://github.com/org/repo.git/': server certificate verification failed. CAfile: none CRLfile: none",
    tool: 'git',
    source: 'https://github.com/Altinn/altinn-studio/issues/100',
  },
  {
    id: 'JAVA_PKIX_PATH_BUILDING_FAILED',
    runtime: 'java',
    pattern: /PKIX path building failed|unable to find valid certification path/,
    meaning: `the JVM found no path to a root in its truststore (cacerts); ${MISSING}. Maven, Gradle and every JVM tool print this`,
    example:
      'javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target',
    tool: 'java',
    source: 'https://github.com/gradle/gradle/issues/14019',
  },
  {
    id: 'GO_UNKNOWN_AUTHORITY',
    runtime: 'go',
    pattern: /x509: certificate signed by unknown authority|tls: failed to verify certificate/,
    meaning: `Go (docker, BuildKit, gh, Terraform) found no trusted root for the chain; ${MISSING}`,
    example: 'tls: failed to verify certificate: x509: certificate signed by unknown authority',
    tool: 'openssl',
    source: 'https://github.com/golang/go/issues/18519',
  },
];

export interface Explanation {
  readonly error: KnownError;
  readonly entry: ToolEntry;
  /** The one setting, in words: `NODE_EXTRA_CA_CERTS=<the org CA alone, PEM>`. */
  readonly fix: string;
}

export function fixFor(entry: ToolEntry): string {
  switch (entry.file) {
    case 'ca':
      return `${entry.variable}=<the org CA alone, PEM> (appends to ${entry.readers}'s own roots)`;
    case 'bundle':
      return `${entry.variable}=<a bundle: the default roots + the org CA, PEM> (replaces ${entry.readers}'s roots)`;
    case 'truststore':
      return `${entry.variable}="-Djavax.net.ssl.trustStore=<JDK cacerts + the org CA> -Djavax.net.ssl.trustStoreType=… -Djavax.net.ssl.trustStorePassword=…"`;
    case 'wgetrc':
      return `${entry.variable}=<a wgetrc with ca_certificate = the bundle>`;
    case 'wget2rc':
      return `${entry.variable}=<a wget2rc with ca-certificate = the bundle>`;
    case 'setting':
      return `${entry.variable} (see ${entry.source})`;
  }
}

/** Explains one client's error text; the client's own runtime is matched first, since patterns overlap. */
export function explain(text: string, runtime?: Runtime): Explanation | undefined {
  const ordered = runtime
    ? [...ERROR_CATALOGUE.filter((e) => e.runtime === runtime), ...ERROR_CATALOGUE.filter((e) => e.runtime !== runtime)]
    : ERROR_CATALOGUE;
  const error = ordered.find((e) => e.pattern.test(text));
  if (!error) return undefined;
  const entry = TOOL_REGISTRY.find((t) => t.id === error.tool);
  if (!entry)
    throw new Error(`catalogue entry ${error.id} names tool '${error.tool}', which TOOL_REGISTRY does not have`);
  return { error, entry, fix: fixFor(entry) };
}
