/**
 * Browsers read only their NSS databases: headless Chromium (Debian's) and Playwright driving it fail through mitmdump
 * with the org CA unknown, load the page once `org-ca store add --stores browsers` put the CA into the user's NSS
 * database, and fail again after `org-ca store remove`. A database that existed before keeps what IT put there.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { mintRoot } from '../../support/pki.js';
import { buildDist, runAction, useInspectionLab } from '../../support/inspection/index.js';

const lab = useInspectionLab({ mitmproxy: true });
const CHROMIUM = '/usr/bin/chromium';
// The flags this machine needs: root (no sandbox), no GPU, and no background traffic to hosts it cannot reach.
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function proxyFlags(): string[] {
  // Chromium never sends loopback through a proxy unless told to (<-loopback> removes the implicit bypass).
  return [`--proxy-server=${lab().mitmproxy!.url}`, '--proxy-bypass-list=<-loopback>'];
}

/** The page text through the proxy with `home` as HOME, or '' when Chromium refused the certificate. */
function dumpDom(home: string): string {
  const profile = join(home, `profile-${Date.now()}`);
  const r = spawnSync(
    CHROMIUM,
    [...FLAGS, `--user-data-dir=${profile}`, ...proxyFlags(), '--dump-dom', lab().upstream.url],
    {
      env: { PATH: process.env.PATH, HOME: home },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return r.stdout ?? '';
}

async function playwrightLoad(home: string): Promise<string> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...FLAGS.slice(1), ...proxyFlags()],
    env: { PATH: process.env.PATH ?? '', HOME: home },
    timeout: 60_000,
  });
  try {
    const page = await browser.newPage();
    try {
      await page.goto(lab().upstream.url, { timeout: 30_000 });
      return await page.innerText('body');
    } catch (error) {
      return String(error instanceof Error ? error.message : error).split('\n')[0]!;
    }
  } finally {
    await browser.close();
  }
}

async function storeCli(home: string, args: string[]): Promise<{ status: number | null; out: string }> {
  const dist = await buildDist(['cli']);
  const r = spawnSync(
    process.execPath,
    [join(dist, 'cli', 'index.js'), 'store', ...args, '--journal', join(home, 'journal.json')],
    {
      env: { PATH: process.env.PATH, HOME: home },
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('browser trust stores (NSS) with headless Chromium and Playwright', () => {
  test('Chromium and Playwright fail, load after store add, and fail again after store remove', async () => {
    const home = lab().scratch('browser-home');
    expect(dumpDom(home)).not.toContain('upstream-ok');
    expect(await playwrightLoad(home)).toMatch(/ERR_CERT_AUTHORITY_INVALID/);
    // Chromium ≥ 146 made its own database on first start, at ~/.local/share/pki/nssdb: the one to change.
    const db = join(home, '.local', 'share', 'pki', 'nssdb');
    expect(existsSync(join(db, 'cert9.db'))).toBe(true);

    const add = await storeCli(home, ['add', '--stores', 'browsers', '--ca', lab().pki.paths.orgCa]);
    expect(add.out).toContain(`to the NSS database ${db}`);
    expect(add.status).toBe(0);
    expect(existsSync(join(home, '.pki'))).toBe(false);
    expect(dumpDom(home)).toContain('upstream-ok');
    expect(await playwrightLoad(home)).toContain('upstream-ok');

    const remove = await storeCli(home, ['remove']);
    expect(remove.status).toBe(0);
    expect(spawnSync('certutil', ['-L', '-d', `sql:${db}`], { encoding: 'utf8' }).stdout).not.toContain('org-ca');
    expect(existsSync(join(db, 'cert9.db'))).toBe(true); // Chromium's own database stays
    expect(existsSync(join(home, 'journal.json'))).toBe(false);
    expect(dumpDom(home)).not.toContain('upstream-ok');
    expect(await playwrightLoad(home)).toMatch(/ERR_CERT_AUTHORITY_INVALID/);
  }, 300_000);

  test('an existing database keeps the certificates IT put there', async () => {
    const home = lab().scratch('browser-home-it');
    const db = join(home, '.pki', 'nssdb');
    mkdirSync(db, { recursive: true });
    expect(spawnSync('certutil', ['-N', '-d', `sql:${db}`, '--empty-password']).status).toBe(0);
    const it = mintRoot({ cn: 'IT Provisioned Root', org: 'IT' });
    writeFileSync(join(home, 'it.pem'), it.certPem);
    expect(
      spawnSync('certutil', ['-A', '-d', `sql:${db}`, '-t', 'C,,', '-n', 'it-root', '-i', join(home, 'it.pem')]).status,
    ).toBe(0);

    expect((await storeCli(home, ['add', '--stores', 'browsers', '--ca', lab().pki.paths.orgCa])).status).toBe(0);
    expect(dumpDom(home)).toContain('upstream-ok');
    expect((await storeCli(home, ['remove'])).status).toBe(0);

    const list = spawnSync('certutil', ['-L', '-d', `sql:${db}`], { encoding: 'utf8' }).stdout;
    expect(list).toContain('it-root');
    expect(list).not.toContain('org-ca');
    expect(dumpDom(home)).not.toContain('upstream-ok');
  }, 300_000);

  test('the action with system-store: browsers adds the CA in its main step and its post step takes it out', async () => {
    const home = lab().scratch('browser-home-action');
    const env = { PATH: process.env.PATH, HOME: home, ORG_CA_STORE_JOURNAL: join(home, 'journal.json') };
    const main = await runAction('main', {
      inputs: { 'ca-file': lab().pki.paths.orgCa, when: 'always', 'system-store': 'browsers' },
      env,
      workRoot: lab().scratch('files'),
      timeoutMs: 60_000,
    });
    expect(main.stderr).toBe('');
    expect(main.exitCode).toBe(0);
    expect(main.state['store-journal']).toBe(join(home, 'journal.json'));
    expect(existsSync(join(home, '.pki', 'nssdb', 'cert9.db'))).toBe(true);
    expect(dumpDom(home)).toContain('upstream-ok');
    const post = await runAction('post', {
      env,
      state: main.state,
      runnerTemp: main.runnerTemp,
      workRoot: lab().scratch('files'),
      timeoutMs: 60_000,
    });
    expect(post.exitCode).toBe(0);
    // org-ca created ~/.pki/nssdb for the CA (Chromium had never run in this home), so it removes it entirely.
    expect(existsSync(join(home, '.pki'))).toBe(false);
    expect(existsSync(join(home, 'journal.json'))).toBe(false);
    expect(dumpDom(home)).not.toContain('upstream-ok');
  }, 300_000);

  test("a job cancelled before its post step: the runner's job-completed hook reverts the store journal", async () => {
    const home = lab().scratch('browser-home-hook');
    const journal = join(home, 'journal.json');
    expect((await storeCli(home, ['add', '--stores', 'browsers', '--ca', lab().pki.paths.orgCa])).status).toBe(0);
    expect(existsSync(journal)).toBe(true);
    expect(dumpDom(home)).toContain('upstream-ok');
    // No post step ran; the hook runs as the runner does at job end (RUNNER_TEMP set, the same journal location).
    const dist = await buildDist(['cli']);
    const temp = lab().scratch('runner-temp');
    const hook = spawnSync(process.execPath, [join(dist, 'cli', 'index.js'), 'runner', 'job-completed'], {
      env: { PATH: process.env.PATH, HOME: home, RUNNER_TEMP: temp, ORG_CA_STORE_JOURNAL: journal },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(hook.status).toBe(0);
    expect(hook.stdout).toMatch(/org-ca: removed 'org-ca [0-9a-f]{16}' from the NSS database/);
    expect(existsSync(journal)).toBe(false);
    expect(existsSync(join(home, '.pki'))).toBe(false);
    expect(dumpDom(home)).not.toContain('upstream-ok');
  }, 300_000);
});
