/**
 * The bundles on a Node older than 24 (the machine's own node is 20 here, as on many runner hosts): the CLI refuses in
 * one line with exit 2 before doing anything, and the action's steps fail with one error annotation, instead of
 * `detect` answering UNKNOWN and `env` failing half-way with "getCACertificates is not a function".
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEntry } from '../../support/cli.js';
import { buildDist } from '../../support/inspection/action-runner.js';
import { mintRoot } from '../../support/pki.js';
import { olderNode } from '../../support/older-node.js';

const node = olderNode();
const describeWithOldNode = node ? describe : describe.skip;

describeWithOldNode('on a Node older than 24', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'org-ca-old-node-'));
    writeFileSync(join(dir, 'ca.pem'), mintRoot({ cn: 'Old Node Org Root', org: 'Old Node Org' }).certPem);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each([
    ['detect', ['detect']],
    ['env', ['env', '--ca', 'CA']],
    ['--version', ['--version']],
  ])('the CLI refuses `%s` with one line and exit 2, writing nothing', async (_name, args) => {
    const entry = await cliEntry();
    const r = spawnSync(node!, [entry, ...args.map((a) => (a === 'CA' ? join(dir, 'ca.pem') : a))], {
      encoding: 'utf8',
      cwd: dir,
      env: { PATH: process.env.PATH },
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^org-ca: org-ca needs Node 24 or later; this is v\d+\.\d+\.\d+: /);
  });

  test.each([['main'], ['post'], ['leak-check']] as const)(
    'the %s bundle fails the step with one error annotation',
    async (name) => {
      const built = await buildDist(name === 'leak-check' ? ['leak-check', 'leak-worker'] : ['main', 'post']);
      const r = spawnSync(node!, [join(built, name, 'index.js')], {
        encoding: 'utf8',
        cwd: dir,
        env: { PATH: process.env.PATH },
      });
      expect(r.status).toBe(1);
      expect(r.stdout.trim().split('\n')).toEqual([
        expect.stringMatching(/^::error::org-ca needs Node 24 or later; this is v\d+/),
      ]);
    },
  );
});
