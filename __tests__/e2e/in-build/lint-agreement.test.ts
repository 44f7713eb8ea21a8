/**
 * The lint agrees with the leak check on real images: each Dockerfile below is built with buildah (chroot isolation,
 * vfs, no daemon, no registry) from the debootstrap base image, with the org CA as a BuildKit-style secret and the
 * with-org-ca helper as a named context, exactly as the action's outputs set them up. The leak check then scans the
 * image for the lab's org CAs, and the lint reads the Dockerfile and its build context; both must give the verdict
 * written beside the case, so that neither can agree with the other by being wrong the same way.
 * Dockerfile.example and the fetch Dockerfile are judged the same way in image-build.test.ts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOutputs } from '../../../src/in-build/outputs.js';
import { prepareBuildContext } from '../../../src/in-build/context.js';
import { useInspectionLab } from '../../support/inspection/index.js';
import { explain, judgeBoth } from './agreement.js';
import { buildah, ensureBaseImage } from './buildah.js';

const lab = useInspectionLab({}, 120000);
const RUN_ID = `${process.pid}-${Date.now().toString(36)}`;
const images: string[] = [];
let base: string;
let work: string;
let helperDir: string;
let orgCaFile: string;

beforeAll(async () => {
  base = await ensureBaseImage();
  const l = lab();
  work = l.scratch('lint-agreement');
  helperDir = await prepareBuildContext(l.scratch('runner-temp'));
  orgCaFile = join(work, 'org-cas.pem');
  writeFileSync(orgCaFile, l.pki.orgCa.certPem + l.pki.orgRoot.certPem + l.pki.orgIntermediate.certPem);
}, 30 * 60000);

afterAll(async () => {
  for (const image of images) await buildah(['rmi', '-f', image]);
}, 5 * 60000);

/** File path → contents: 'org-ca' and 'public-root' stand for those certificates, anything else is the text. */
type Files = Record<string, string>;

interface Case {
  readonly name: string;
  readonly dockerfile: string;
  readonly files: Files;
  /** The verdict both checks must give. */
  readonly passes: boolean;
}

const CASES: Case[] = [
  {
    name: 'CA copied into the anchor directory and trusted',
    dockerfile:
      'ARG BASE\nFROM ${BASE}\nCOPY corp.pem /usr/local/share/ca-certificates/corp.crt\nRUN update-ca-certificates\n',
    files: { 'corp.pem': 'org-ca' },
    passes: false,
  },
  {
    name: 'CA only in a builder stage; the release copies one file',
    dockerfile:
      'ARG BASE\nFROM ${BASE} AS build\nCOPY corp.pem /usr/local/share/ca-certificates/corp.crt\nRUN update-ca-certificates && mkdir /out && echo built > /out/app.txt\nFROM ${BASE}\nCOPY --from=build /out/app.txt /app.txt\n',
    files: { 'corp.pem': 'org-ca' },
    passes: true,
  },
  {
    name: 'the bundle copied from a stage that added the CA',
    dockerfile:
      'ARG BASE\nFROM ${BASE} AS build\nCOPY corp.pem /usr/local/share/ca-certificates/corp.crt\nRUN update-ca-certificates\nFROM ${BASE}\nCOPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt\n',
    files: { 'corp.pem': 'org-ca' },
    passes: false,
  },
  {
    name: "ENV pointing at the image's own bundle",
    dockerfile:
      'ARG BASE\nFROM ${BASE}\nENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt\nRUN test -s "$SSL_CERT_FILE"\n',
    files: {},
    passes: true,
  },
  {
    name: 'ENV pointing at the secret mount, left in the release config',
    dockerfile:
      'ARG BASE\nFROM ${BASE}\nENV NODE_EXTRA_CA_CERTS=/run/secrets/org_ca\nRUN --mount=type=secret,id=org_ca test -s /run/secrets/org_ca\n',
    files: {},
    passes: false,
  },
  {
    name: 'secret copied, used by curl and removed in the same RUN',
    dockerfile:
      'ARG BASE\nFROM ${BASE}\nRUN --mount=type=secret,id=org_ca cp /run/secrets/org_ca /tmp/ca.pem && curl --cacert /tmp/ca.pem --version >/dev/null && rm /tmp/ca.pem\n',
    files: {},
    passes: true,
  },
  {
    name: 'COPY . brings a CA that curl --cacert then uses',
    dockerfile: 'ARG BASE\nFROM ${BASE}\nWORKDIR /app\nCOPY . .\nRUN curl --cacert corp.pem --version >/dev/null\n',
    files: { 'corp.pem': 'org-ca', 'app.txt': 'hello\n' },
    passes: false,
  },
  {
    name: 'a public root (not the org CA) added to the trust store',
    dockerfile:
      'ARG BASE\nFROM ${BASE}\nCOPY vendor-root.pem /usr/local/share/ca-certificates/vendor.crt\nRUN update-ca-certificates\n',
    files: { 'vendor-root.pem': 'public-root' },
    passes: true,
  },
  {
    name: '.dockerignore keeps the CA out of COPY .',
    dockerfile: 'ARG BASE\nFROM ${BASE}\nCOPY . /app/\n',
    files: { 'corp.pem': 'org-ca', 'app.txt': 'hello\n', '.dockerignore': '*.pem\n' },
    passes: true,
  },
];

describe('lint and leak check agree on images built from the same Dockerfile', () => {
  test.each(CASES.map((c) => [c.name, c] as const))(
    '%s',
    async (_name, c) => {
      const l = lab();
      const context = l.scratch('case');
      const dockerfile = join(context, 'Dockerfile');
      writeFileSync(dockerfile, c.dockerfile);
      for (const [name, content] of Object.entries(c.files)) {
        mkdirSync(join(context, name, '..'), { recursive: true });
        writeFileSync(
          join(context, name),
          content === 'org-ca' ? l.pki.orgCa.certPem : content === 'public-root' ? l.pki.publicRoot.certPem : content,
        );
      }
      const outputs = buildOutputs({ helperDir, caPath: l.pki.paths.orgCa, bundlePath: l.pki.paths.orgCa, env: {} });
      const flags: string[] = [];
      for (const line of outputs.secretFiles.split('\n').filter(Boolean))
        flags.push('--secret', `id=${line.slice(0, line.indexOf('='))},src=${line.slice(line.indexOf('=') + 1)}`);
      flags.push('--build-context', outputs.buildContexts);
      const tag = `localhost/lint-agree-${images.length}:${RUN_ID}`;
      images.push(tag);
      const build = await buildah([
        'bud',
        '--isolation',
        'chroot',
        '--network',
        'host',
        '--pull=never',
        '--layers=false',
        ...flags,
        '--build-arg',
        `BASE=${base}`,
        '-f',
        dockerfile,
        '-t',
        tag,
        context,
      ]);
      if (build.code !== 0) process.stderr.write(build.output.slice(-3000));
      expect(build.code).toBe(0);
      const v = await judgeBoth({ dockerfile, context, tag, orgCaFile, work });
      expect({ lint: v.lintPasses, leakCheck: v.leakCheckPasses, why: explain(v) }).toEqual({
        lint: c.passes,
        leakCheck: c.passes,
        why: expect.any(String),
      });
    },
    20 * 60000,
  );
});
