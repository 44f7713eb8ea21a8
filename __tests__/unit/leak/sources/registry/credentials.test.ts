/** Docker config credentials: auths, credsStore and credHelpers through real helper scripts (the get protocol). */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { credentialsFor } from '../../../../../src/leak/sources/registry/credentials.js';

let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'org-ca-creds-'))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function helper(name: string, body: string): void {
  writeFileSync(
    join(dir, `docker-credential-${name}`),
    `#!/bin/sh\n[ "$1" = get ] || exit 3\nread url\nprintf '%s' "$url" >> '${dir}/asked-${name}'\n${body}\n`,
  );
  chmodSync(join(dir, `docker-credential-${name}`), 0o755);
}
const env = (): NodeJS.ProcessEnv => ({ PATH: `${dir}:${process.env.PATH}` });
function config(doc: object): string {
  writeFileSync(join(dir, 'config.json'), JSON.stringify(doc));
  return join(dir, 'config.json');
}

test('auths: base64 user:password, by host', () => {
  const path = config({ auths: { 'ghcr.io': { auth: Buffer.from('me:pa:ss').toString('base64') } } });
  expect(credentialsFor('ghcr.io', path, env())).toEqual({ username: 'me', password: 'pa:ss' });
  expect(credentialsFor('quay.io', path, env())).toBeUndefined();
});

test('Docker Hub is found under the CLI key https://index.docker.io/v1/', () => {
  const path = config({
    auths: { 'https://index.docker.io/v1/': { auth: Buffer.from('hub:tok').toString('base64') } },
  });
  expect(credentialsFor('docker.io', path, env())).toEqual({ username: 'hub', password: 'tok' });
});

test('credHelpers win and get the server URL on stdin', () => {
  helper('lab', `printf '{"ServerURL":"%s","Username":"from-helper","Secret":"h-secret"}' "$url"`);
  const path = config({
    credHelpers: { 'registry.example.com:5000': 'lab' },
    auths: { 'registry.example.com:5000': { auth: Buffer.from('x:y').toString('base64') } },
  });
  expect(credentialsFor('registry.example.com:5000', path, env())).toEqual({
    username: 'from-helper',
    password: 'h-secret',
  });
  expect(readFileSync(join(dir, 'asked-lab'), 'utf8')).toBe('registry.example.com:5000');
});

test('a credsStore that has nothing ("credentials not found") falls back to auths', () => {
  helper('store', `echo "credentials not found in native keychain"; exit 1`);
  const path = config({ credsStore: 'store', auths: { 'ghcr.io': { auth: Buffer.from('a:b').toString('base64') } } });
  expect(credentialsFor('ghcr.io', path, env())).toEqual({ username: 'a', password: 'b' });
});

test('a missing or broken helper is an error naming it, not a silent anonymous pull', () => {
  const path = config({ credHelpers: { 'ghcr.io': 'absent' } });
  expect(() => credentialsFor('ghcr.io', path, env())).toThrow(
    /docker-credential-absent not found on PATH, asked for ghcr.io/,
  );
  helper('broken', 'echo not-json');
  const path2 = config({ credHelpers: { 'ghcr.io': 'broken' } });
  expect(() => credentialsFor('ghcr.io', path2, env())).toThrow(/answered something other than JSON/);
});
