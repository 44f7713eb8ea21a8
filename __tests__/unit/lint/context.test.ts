/**
 * --context: the build context read as docker build sends it (.dockerignore with `!` exceptions and `**`, the
 * Dockerfile-specific ignore file), and the certificates COPY/ADD bring parsed with the project's CA parser.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { certificateFromDer } from '../../../src/ca/certificate.js';
import { ContextError, readBuildContext, type OrgCa } from '../../../src/lint/context.js';
import { lintDockerfile } from '../../../src/lint/lint.js';
import { mintIntermediate, mintLeaf, mintRoot, type Issued } from '../../support/pki.js';

let dir: string;
let orgRoot: Issued;
let orgIssuing: Issued;
let publicRoot: Issued;
let server: Issued;

function put(path: string, text: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'org-ca-lint-context-'));
  orgRoot = mintRoot({ cn: 'Lint Org Root', org: 'Lint Org' });
  orgIssuing = mintIntermediate(orgRoot, { cn: 'Lint Org Inspection CA', org: 'Lint Org' });
  publicRoot = mintRoot({ cn: 'Some Public Root', org: 'Public' });
  server = mintLeaf(publicRoot, { cn: 'app.example', org: 'Public', dnsNames: ['app.example'] });
  put('app/main.py', 'print("hi")\n');
  put('app/corp.pem', orgRoot.certPem); // a CA with a name that says nothing
  put('app/tls/server.crt', server.certPem); // a server certificate: not a CA
  put('vendor/public-root.crt', publicRoot.certPem);
  put('secrets/zscaler-root.pem', orgIssuing.certPem);
  put('secrets/keep/issuing.pem', orgIssuing.certPem);
  put('deep/a/b/proxy-ca.pem', orgRoot.certPem);
  put(
    '.dockerignore',
    [
      '# docker rules: anchored, ** and ! exceptions, last match wins',
      'secrets',
      '!secrets/keep',
      '**/b/*.pem',
      '',
    ].join('\n'),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const failing = (content: string, org?: OrgCa, dockerfile?: string): string[] => {
  const context = readBuildContext(dir, { ...(org ? { org } : {}), ...(dockerfile ? { dockerfile } : {}) });
  return lintDockerfile(content, { context })
    .findings.filter((f) => f.severity === 'error')
    .map((f) => `${f.rule}:${f.line}:${/ '([^']+)' from the build context/.exec(f.message)?.[1] ?? ''}`);
};

describe('lint --context', () => {
  test('COPY . brings every CA certificate the context sends, and only those', () => {
    expect(failing('FROM python\nCOPY . /src').sort()).toEqual([
      'OCA101:2:app/corp.pem',
      'OCA101:2:secrets/keep/issuing.pem',
      'OCA101:2:vendor/public-root.crt',
    ]);
  });

  test('with the org CA, only its family counts (the root, an issuing CA under it), never a public root', () => {
    const org: OrgCa = { certs: [certificateFromDer(orgRoot.der)], fingerprints: [] };
    expect(failing('FROM python\nCOPY . /src', org).sort()).toEqual([
      'OCA101:2:app/corp.pem',
      'OCA101:2:secrets/keep/issuing.pem',
    ]);
    const byFingerprint: OrgCa = { certs: [], fingerprints: [certificateFromDer(orgIssuing.der).fingerprint] };
    expect(failing('FROM python\nCOPY . /src', byFingerprint)).toEqual(['OCA101:2:secrets/keep/issuing.pem']);
  });

  test('a server certificate is not a CA, even in the anchor directory; a CA with a plain name is one', () => {
    expect(
      failing('FROM debian\nCOPY app/tls/server.crt /usr/local/share/ca-certificates/\nRUN update-ca-certificates'),
    ).toEqual([]);
    expect(failing('FROM debian\nCOPY app/corp.pem /etc/app/settings.pem')).toEqual(['OCA101:2:app/corp.pem']);
  });

  test('a context CA in a builder stage that the release does not copy is information only', () => {
    const result = lintDockerfile(
      'FROM python AS build\nCOPY . /src\nRUN mkdir /out && cp /src/app/main.py /out/\nFROM python\nCOPY --from=build /out /app',
      { context: readBuildContext(dir) },
    );
    expect(result.failed).toBe(false);
    expect(result.findings.map((f) => f.severity)).toEqual(['info', 'info', 'info']);
    const leaky = lintDockerfile('FROM python AS build\nCOPY . /src\nFROM python\nCOPY --from=build /src/app /app', {
      context: readBuildContext(dir),
    });
    expect(leaky.findings.filter((f) => f.severity === 'error').map((f) => `${f.rule}:${f.line}`)).toEqual([
      'OCA106:4',
    ]);
  });

  test('a Dockerfile-specific ignore file wins over .dockerignore', () => {
    const dockerfile = join(dir, 'build', 'Dockerfile');
    put('build/Dockerfile.dockerignore', 'vendor\nsecrets\n');
    expect(failing('FROM python\nCOPY . /src', undefined, dockerfile)).toEqual([
      'OCA101:2:app/corp.pem',
      'OCA101:2:deep/a/b/proxy-ca.pem',
    ]);
  });

  test('a missing context is a one-line error naming it', () => {
    expect(() => readBuildContext(join(dir, 'nope'))).toThrow(
      new ContextError(`the build context '${join(dir, 'nope')}' could not be read (ENOENT): expected a directory.`),
    );
  });
});
