/** `org-ca exec --ca /run/secrets/org_ca --if-present`: the Node-image counterpart of with-org-ca's no-secret path. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execCommand } from '../../../src/cli/exec.js';
import { mintRoot } from '../../support/pki.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'org-ca-exec-if-present-'));
  writeFileSync(join(dir, 'org_ca'), mintRoot({ cn: 'Exec If Present Root' }).certPem);
  writeFileSync(join(dir, 'empty'), '');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The command exits 0 only when exec pointed NODE_EXTRA_CA_CERTS at its own file (the machine may set its own), else 3.
const probe = ['sh', '-c', 'case "${NODE_EXTRA_CA_CERTS:-}" in */org-ca-exec-*) exit 0 ;; esac; exit 3'];

test.each([
  ['absent secret', 'missing', 3],
  ['empty secret', 'empty', 3],
  ['present secret', 'org_ca', 0],
])('--if-present with an %s', async (_case, file, status) => {
  expect(await execCommand.run(['--ca', join(dir, file), '--if-present', '--', ...probe])).toBe(status);
});

test('without --if-present an absent secret is still an error', async () => {
  await expect(execCommand.run(['--ca', join(dir, 'missing'), '--', ...probe])).rejects.toThrow(/missing/);
});
