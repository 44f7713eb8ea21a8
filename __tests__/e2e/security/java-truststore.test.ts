/**
 * Attack: the Java truststore org-ca builds trusting more than the user's own store did. A private key entry's chain
 * (a client-auth CA) is not a trust anchor for Java; it must not become one. Guard: JAVA_MIRROR (src/ca/jks.ts
 * trustAnchors, src/ca/pkcs12.ts). A real JVM is asked for the anchors of the user's store and of org-ca's store.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliEntry, runCli } from '../../support/cli.js';
import { mintLeaf, mintRoot } from '../../support/pki.js';

const ANCHORS = fileURLToPath(new URL('./java/Anchors.java', import.meta.url));
const hasJava = spawnSync('java', ['-version']).status === 0 && spawnSync('keytool', ['-help']).status === 0;

/** The SHA-256 of every anchor a real JVM's TrustManagerFactory takes from the store. */
function jvmAnchors(store: string, type: string, password: string): string[] {
  return execFileSync('java', [ANCHORS, store, type, password], { encoding: 'utf8', timeout: 60_000 })
    .trim()
    .split('\n')
    .filter(Boolean)
    .sort();
}

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'org-ca-java-mirror-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

(hasJava ? describe : describe.skip)('the Java truststore mirrors what Java trusted, plus the org CA', () => {
  test.each(['JKS', 'PKCS12'])(
    'a %s store with a trusted root and a client key whose chain holds another CA',
    async (type) => {
      const trustedRoot = mintRoot({ cn: 'Trusted Root A', org: 'User' });
      const clientCa = mintRoot({ cn: 'Client Auth CA B', org: 'Third Party' });
      const client = mintLeaf(clientCa, { cn: 'client.example' });
      const org = mintRoot({ cn: 'Mirror Org Root', org: 'Mirror Org' });
      const dir = mkdtempSync(join(work, `${type}-`));
      const file = (name: string, text: string): string => (writeFileSync(join(dir, name), text), join(dir, name));
      const p12 = join(dir, 'client.p12');
      // The client key with its chain (leaf, CA B), as openssl exports it: a PrivateKeyEntry for Java.
      execFileSync('openssl', [
        'pkcs12',
        '-export',
        '-inkey',
        file('client.key', client.keyPem),
        '-in',
        file('client.pem', client.certPem),
        '-certfile',
        file('b.pem', clientCa.certPem),
        '-out',
        p12,
        '-passout',
        'pass:userpass',
        '-name',
        'client',
      ]);
      const store = join(dir, `user.${type.toLowerCase()}`);
      execFileSync(
        'keytool',
        [
          '-importkeystore',
          '-srckeystore',
          p12,
          '-srcstoretype',
          'PKCS12',
          '-srcstorepass',
          'userpass',
          '-destkeystore',
          store,
          '-deststoretype',
          type,
          '-deststorepass',
          'userpass',
          '-noprompt',
        ],
        { stdio: 'pipe' },
      );
      execFileSync(
        'keytool',
        [
          '-importcert',
          '-noprompt',
          '-alias',
          'root-a',
          '-file',
          file('a.pem', trustedRoot.certPem),
          '-keystore',
          store,
          '-storepass',
          'userpass',
          '-storetype',
          type,
        ],
        { stdio: 'pipe' },
      );
      const before = jvmAnchors(store, type, 'userpass');
      const orgFile = file('org.pem', org.certPem);

      const out = join(dir, 'out');
      const r = await runCli(
        await cliEntry(),
        ['env', '--ca', orgFile, '--tools', 'java', '--format', 'dotenv', '--dir', out],
        {
          env: {
            PATH: process.env.PATH,
            HOME: dir,
            JAVA_TOOL_OPTIONS: `-Djavax.net.ssl.trustStore=${store} -Djavax.net.ssl.trustStoreType=${type} -Djavax.net.ssl.trustStorePassword=userpass`,
          },
        },
      );
      expect(r.status).toBe(0);
      const after = jvmAnchors(join(out, 'truststore.jks'), 'JKS', 'changeit');
      const orgFp = execFileSync('openssl', ['x509', '-in', orgFile, '-outform', 'der']).subarray(0);
      const orgSha = createHash('sha256').update(orgFp).digest('hex');
      // Java anchored on root A and the client's own certificate, never on CA B above it in the key entry's chain: so
      // org-ca's store is those two and the org CA, exactly.
      const sha = (der: Buffer): string => createHash('sha256').update(der).digest('hex');
      expect(before).toEqual([sha(trustedRoot.der), sha(client.der)].sort());
      expect(after).toEqual([...before, orgSha].sort());
      expect(after).not.toContain(sha(clientCa.der));
    },
    120_000,
  );
});
