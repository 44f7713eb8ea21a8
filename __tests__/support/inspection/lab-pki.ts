/**
 * The lab's PKI, written to disk: a "public" root that signs the upstream, the org CAs the inspection proxies re-sign
 * with (single-tier for mitmproxy, root + issuing intermediate for squid), and a foreign CA nobody provides.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mintIntermediate, mintLeaf, mintRoot, type Issued } from '../pki.js';

export interface LabPki {
  readonly dir: string;
  readonly publicRoot: Issued;
  readonly upstream: Issued;
  /** Single-tier org CA: mitmproxy signs leaves with it directly. */
  readonly orgCa: Issued;
  /** Two-tier org PKI: squid signs with the intermediate and sends intermediate + root. */
  readonly orgRoot: Issued;
  readonly orgIntermediate: Issued;
  /** Signs for the "unknown" proxy; never given to the action. */
  readonly foreignCa: Issued;
  /** A server certificate for 127.0.0.1 signed by the single-tier org CA (for clients that cannot use the proxies). */
  readonly orgSignedServer: Issued;
  /** A second, "internal" CA a job may already trust (NODE_EXTRA_CA_CERTS, its own Java trustStore), and its server. */
  readonly internalCa: Issued;
  readonly internalServer: Issued;
  readonly paths: {
    readonly publicRoot: string;
    readonly upstreamCert: string;
    readonly upstreamKey: string;
    readonly orgCa: string;
    readonly orgRoot: string;
    readonly orgIntermediate: string;
    /** intermediate + root, PEM, in that order. */
    readonly orgChain: string;
    readonly foreignCa: string;
    /** key + cert, as mitmproxy's confdir wants them (mitmproxy-ca.pem). */
    readonly mitmConfdir: string;
    readonly foreignConfdir: string;
    /** squid's tls-cert (signing intermediate first, then the root it sends along) and tls-key. */
    readonly squidCert: string;
    readonly squidKey: string;
    readonly orgSignedCert: string;
    readonly orgSignedKey: string;
    readonly internalCa: string;
    readonly internalServerCert: string;
    readonly internalServerKey: string;
  };
}

function write(path: string, text: string): string {
  writeFileSync(path, text);
  // squid reads these after dropping to its effective user; test keys only, so world-readable is fine
  chmodSync(path, 0o644);
  return path;
}

export function writeLabPki(dir: string): LabPki {
  mkdirSync(dir, { recursive: true });
  const publicRoot = mintRoot({ cn: 'Lab Public Root CA', org: 'Lab Public Trust' });
  const upstream = mintLeaf(publicRoot, { cn: '127.0.0.1', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const orgCa = mintRoot({ cn: 'Example Org Inspection CA', org: 'Example Org' });
  const orgRoot = mintRoot({ cn: 'Example Org Root CA', org: 'Example Org' });
  const orgIntermediate = mintIntermediate(orgRoot, { cn: 'Example Org Issuing CA 1', org: 'Example Org' });
  const foreignCa = mintRoot({ cn: 'Foreign Appliance CA', org: 'Nobody We Know' });
  const orgSignedServer = mintLeaf(orgCa, { cn: '127.0.0.1', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });
  const internalCa = mintRoot({ cn: 'Example Org Internal Services CA', org: 'Example Org Internal' });
  const internalServer = mintLeaf(internalCa, { cn: '127.0.0.1', dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] });

  const mitmConfdir = join(dir, 'mitm-org');
  const foreignConfdir = join(dir, 'mitm-foreign');
  for (const d of [mitmConfdir, foreignConfdir]) {
    mkdirSync(d, { recursive: true });
  }
  write(join(mitmConfdir, 'mitmproxy-ca.pem'), orgCa.keyPem + orgCa.certPem);
  write(join(foreignConfdir, 'mitmproxy-ca.pem'), foreignCa.keyPem + foreignCa.certPem);
  const paths = {
    publicRoot: write(join(dir, 'public-root.pem'), publicRoot.certPem),
    upstreamCert: write(join(dir, 'upstream.pem'), upstream.certPem),
    upstreamKey: write(join(dir, 'upstream-key.pem'), upstream.keyPem),
    orgCa: write(join(dir, 'org-ca.pem'), orgCa.certPem),
    orgRoot: write(join(dir, 'org-root.pem'), orgRoot.certPem),
    orgIntermediate: write(join(dir, 'org-intermediate.pem'), orgIntermediate.certPem),
    orgChain: write(join(dir, 'org-chain.pem'), orgIntermediate.certPem + orgRoot.certPem),
    foreignCa: write(join(dir, 'foreign-ca.pem'), foreignCa.certPem),
    mitmConfdir,
    foreignConfdir,
    squidCert: write(join(dir, 'squid-signing.pem'), orgIntermediate.certPem + orgRoot.certPem),
    squidKey: write(join(dir, 'squid-signing-key.pem'), orgIntermediate.keyPem),
    orgSignedCert: write(join(dir, 'org-signed-server.pem'), orgSignedServer.certPem),
    orgSignedKey: write(join(dir, 'org-signed-server-key.pem'), orgSignedServer.keyPem),
    internalCa: write(join(dir, 'internal-ca.pem'), internalCa.certPem),
    internalServerCert: write(join(dir, 'internal-server.pem'), internalServer.certPem),
    internalServerKey: write(join(dir, 'internal-server-key.pem'), internalServer.keyPem),
  };
  return {
    dir,
    publicRoot,
    upstream,
    orgCa,
    orgRoot,
    orgIntermediate,
    foreignCa,
    orgSignedServer,
    internalCa,
    internalServer,
    paths,
  };
}
