/**
 * The one table of "which tool reads which variable, and does it replace or append to its default trust".
 * Every fact is from ../shared/research/ca-env-matrix.md (lab-checked where marked there) with the upstream source
 * cited per entry. A tool whose variable REPLACES its default roots gets the combined bundle (what the runner already
 * trusts + the org CA); one that APPENDS gets the org CA alone.
 */
export type Semantics = 'append' | 'replace';

/** Which generated file a variable points at; `setting` = a value that names no file (GODEBUG). */
export type FileKind = 'ca' | 'bundle' | 'truststore' | 'wgetrc' | 'wget2rc' | 'setting';

export type Platform = 'linux' | 'darwin' | 'win32';

export interface ToolEntry {
  /** The id used by the `tools` input. */
  readonly id: string;
  /** Who reads the variable, for the summary. */
  readonly readers: string;
  readonly variable: string;
  readonly semantics: Semantics;
  readonly file: FileKind;
  /** Where the entry applies; absent = everywhere. */
  readonly platforms?: readonly Platform[];
  readonly source: string;
}

export const TOOL_REGISTRY: readonly ToolEntry[] = [
  {
    id: 'node',
    readers: 'Node.js, npm, yarn, pnpm, Bun, Deno ≥2.8',
    variable: 'NODE_EXTRA_CA_CERTS',
    semantics: 'append',
    file: 'ca',
    // "the well known root CAs … will be extended with the extra certificates in file"; read once at process start.
    source: 'https://nodejs.org/api/cli.html#node_extra_ca_certsfile',
  },
  {
    id: 'openssl',
    readers: 'OpenSSL-based tools: Python ssl/urllib, httpx, uv, Ruby, Go on Linux, .NET on Linux, cargo',
    variable: 'SSL_CERT_FILE',
    semantics: 'replace',
    file: 'bundle',
    // Replaces OpenSSL's default CA file; on Debian the hashed CApath hides an org-CA-only value, elsewhere it breaks.
    source: 'https://docs.openssl.org/3.0/man3/SSL_CTX_load_verify_locations/',
  },
  {
    id: 'requests',
    readers: 'Python requests, pip, Poetry, Azure CLI, conda, botocore fallback',
    variable: 'REQUESTS_CA_BUNDLE',
    semantics: 'replace',
    file: 'bundle',
    source: 'https://requests.readthedocs.io/en/latest/user/advanced/#ssl-cert-verification',
  },
  {
    id: 'pip',
    readers: 'pip',
    variable: 'PIP_CERT',
    semantics: 'replace',
    file: 'bundle',
    // pip <24.2 (or legacy-certs) replaces certifi with this file; newer pip adds it to the OS store.
    source: 'https://pip.pypa.io/en/stable/topics/https-certificates/',
  },
  {
    id: 'curl',
    readers: 'curl (the command-line tool)',
    variable: 'CURL_CA_BUNDLE',
    semantics: 'replace',
    file: 'bundle',
    source: 'https://curl.se/docs/manpage.html#--cacert',
  },
  {
    id: 'git',
    readers: 'git over HTTPS (Debian/Ubuntu git uses GnuTLS and ignores SSL_CERT_FILE)',
    variable: 'GIT_SSL_CAINFO',
    semantics: 'replace',
    file: 'bundle',
    source: 'https://git-scm.com/docs/git-config#Documentation/git-config.txt-httpsslCAInfo',
  },
  {
    id: 'aws',
    readers: 'AWS CLI and SDKs',
    variable: 'AWS_CA_BUNDLE',
    semantics: 'replace',
    file: 'bundle',
    source: 'https://docs.aws.amazon.com/sdkref/latest/guide/feature-gen-config.html',
  },
  {
    id: 'cargo',
    readers: 'cargo',
    variable: 'CARGO_HTTP_CAINFO',
    semantics: 'replace',
    file: 'bundle',
    source: 'https://doc.rust-lang.org/cargo/reference/config.html#httpcainfo',
  },
  {
    id: 'deno',
    readers: 'Deno',
    variable: 'DENO_CERT',
    semantics: 'append',
    file: 'ca',
    // Appends to the store DENO_TLS_CA_STORE selects; a missing file is a hard error, so the post step runs last.
    source: 'https://docs.deno.com/runtime/reference/env_variables/',
  },
  {
    id: 'gcloud',
    readers: 'Google Cloud CLI',
    variable: 'CLOUDSDK_CORE_CUSTOM_CA_CERTS_FILE',
    semantics: 'replace',
    file: 'bundle',
    source: 'https://cloud.google.com/sdk/gcloud/reference/topic/configurations',
  },
  {
    id: 'bundler',
    readers: 'Ruby Bundler',
    variable: 'BUNDLE_SSL_CA_CERT',
    semantics: 'replace',
    file: 'bundle',
    source: 'https://bundler.io/v2.5/man/bundle-config.1.html',
  },
  {
    id: 'composer',
    readers: 'PHP Composer',
    variable: 'COMPOSER_CAFILE',
    semantics: 'replace',
    file: 'bundle',
    source: 'https://getcomposer.org/doc/03-cli.md#composer-cafile',
  },
  {
    id: 'hex',
    readers: 'Elixir Hex / Mix',
    variable: 'HEX_CACERTS_PATH',
    semantics: 'replace',
    file: 'bundle',
    source: 'https://hexdocs.pm/hex/Mix.Tasks.Hex.Config.html',
  },
  {
    id: 'grpc',
    readers: 'gRPC core (Python, Ruby, PHP, C++)',
    variable: 'GRPC_DEFAULT_SSL_ROOTS_FILE_PATH',
    semantics: 'replace',
    file: 'bundle',
    source: 'https://github.com/grpc/grpc/blob/master/doc/environment_variables.md',
  },
  {
    id: 'wget',
    readers: 'wget (GnuTLS builds read no CA variable, only wgetrc)',
    variable: 'WGETRC',
    semantics: 'replace',
    file: 'wgetrc',
    source: 'https://www.gnu.org/software/wget/manual/html_node/Wgetrc-Commands.html',
  },
  {
    id: 'perl',
    readers: 'Perl LWP (LWP::Protocol::https; Debian builds ignore SSL_CERT_FILE)',
    variable: 'PERL_LWP_SSL_CA_FILE',
    semantics: 'replace',
    file: 'bundle',
    // LWP::UserAgent reads PERL_LWP_SSL_CA_FILE, then HTTPS_CA_FILE; the latter also sets verify_hostname to 0
    // (Crypt::SSLeay compatibility), so it is never exported.
    source: 'https://metacpan.org/pod/LWP::UserAgent#ssl_opts',
  },
  {
    id: 'wget2',
    readers: 'wget2 (reads neither WGETRC nor SSL_CERT_FILE)',
    variable: 'WGET2RC',
    semantics: 'replace',
    file: 'wget2rc',
    // "$SYSTEM_WGET2RC and ($WGET2RC or ~/.wget2rc) are read … If set, $WGET2RC replaces ~/.wget2rc" (--config).
    source: 'https://gitlab.com/gnuwget/wget2/-/blob/master/docs/wget2.md#--configfile',
  },
  {
    id: 'java',
    readers: 'Java (Maven, Gradle, sbt, every JVM)',
    variable: 'JAVA_TOOL_OPTIONS',
    semantics: 'replace',
    file: 'truststore',
    // javax.net.ssl.trustStore replaces cacerts, so the store is the JDK's cacerts plus the org CA.
    source: 'https://docs.oracle.com/en/java/javase/21/security/java-secure-socket-extension-jsse-reference-guide.html',
  },
  {
    id: 'go',
    readers: 'Go ≥1.27 on macOS/Windows (keeps the platform verifier while SSL_CERT_FILE is set)',
    variable: 'GODEBUG',
    semantics: 'append',
    file: 'setting',
    platforms: ['darwin', 'win32'],
    source: 'https://pkg.go.dev/crypto/x509#SystemCertPool',
  },
];

export const TOOL_IDS: readonly string[] = [...new Set(TOOL_REGISTRY.map((entry) => entry.id))];
