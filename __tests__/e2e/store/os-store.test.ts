/**
 * The OS trust store for real: Debian's own update-ca-certificates adds and removes the org CA, inside a private
 * mount namespace (unshare --mount, with copies bind-mounted over /etc/ssl/certs and /usr/local/share/ca-certificates)
 * so the machine's store is never touched (and an empty hooks directory, see SCRIPT). curl, git and wget, with no CA variables at all, verify through mitmdump
 * and squid ssl-bump while the CA is in the store; after `store remove`, after a crash killed `store add` half-way,
 * and after a job that never ran its post step, the store is byte-identical to before.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildDist, useInspectionLab, type Lab } from '../../support/inspection/index.js';

const lab = useInspectionLab({ mitmproxy: true, squid: true });

const SCRIPT = String.raw`
set -u
mount --make-rprivate /
mount --bind "$T/certs" /etc/ssl/certs
mount --bind "$T/local" /usr/local/share/ca-certificates
# Debian's hooks (the Java keystore) go through dpkg triggers and the machine's package database, which no mount
# namespace isolates: they are left out here, the store itself (bundle and hashed links) is what is checked.
mount --bind "$T/no-hooks" /etc/ca-certificates/update.d
snap() { (cd / && find etc/ssl/certs usr/local/share/ca-certificates -printf '%p %y %l\n' | sort; find etc/ssl/certs usr/local/share/ca-certificates -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16; }
clients() {
  for proxy in mitmproxy squid; do
    if [ "$proxy" = mitmproxy ]; then p="$MITM"; else p="$SQUID"; fi
    export HTTPS_PROXY="$p" https_proxy="$p"
    curl -sS -o /dev/null --max-time 10 "$URL/readme" && echo "$1 $proxy curl ok" || echo "$1 $proxy curl fail"
    wget -q -O /dev/null --timeout=10 --tries=1 "$URL/readme" && echo "$1 $proxy wget ok" || echo "$1 $proxy wget fail"
    rm -rf "$T/clone" && git clone -q "$GIT_URL" "$T/clone" 2>/dev/null && echo "$1 $proxy git ok" || echo "$1 $proxy git fail"
  done
}
cli() { echo "== store $1 $(date +%T)" >&2; "$NODE" "$CLI" store "$@" --journal "$T/journal.json"; }
# A store as its updater leaves it: a machine's store can hold hand-placed files that ANY run of Debian's updater
# rewrites (this machine has a regular file where update-ca-certificates puts a link), which no revert can undo.
update-ca-certificates --fresh >/dev/null 2>&1 </dev/null
echo "snap before $(snap)"
clients before
cli add --ca "$CA" || echo "add failed"
echo "journal-after-add $(test -f "$T/journal.json" && echo present || echo absent)"
clients added
cli remove || echo "remove failed"
echo "snap removed $(snap)"
echo "journal-after-remove $(test -f "$T/journal.json" && echo present || echo absent)"
clients removed
# A crash half-way: update-ca-certificates kills the org-ca process that called it (SIGKILL) after the anchor was
# written, as a cancelled job would. The next run (here the next add) must take it out first, then add afresh.
mkdir -p "$T/crash-bin"
printf '#!/bin/sh\nkill -9 $PPID\n' > "$T/crash-bin/update-ca-certificates"
chmod +x "$T/crash-bin/update-ca-certificates"
PATH="$T/crash-bin:$PATH" "$NODE" "$CLI" store add --ca "$CA" --journal "$T/journal.json"; echo "crash exit $?"
echo "anchors-after-crash $(ls /usr/local/share/ca-certificates | grep -c '^org-ca-')"
cli add --ca "$CA" 2>&1 | grep -c 'reverting it first' | sed 's/^/stale-journal-notices /'
echo "anchors-after-next-add $(ls /usr/local/share/ca-certificates | grep -c '^org-ca-')"
cli remove >/dev/null || echo "remove failed"
echo "snap recovered $(snap)"
`;

interface Outcome {
  readonly lines: string[];
  value(key: string): string | undefined;
}

async function runInNamespace(l: Lab, caPath: string): Promise<Outcome> {
  const dist = await buildDist(['cli']);
  const t = l.scratch('store');
  chmodSync(t, 0o755);
  cpSync('/etc/ssl/certs', join(t, 'certs'), { recursive: true, verbatimSymlinks: true });
  mkdirSync(join(t, 'local'));
  mkdirSync(join(t, 'no-hooks'));
  cpSync('/usr/local/share/ca-certificates', join(t, 'local'), { recursive: true, verbatimSymlinks: true });
  writeFileSync(join(t, 'run.sh'), SCRIPT);
  const env = l.jobEnv({
    T: t,
    CA: caPath,
    URL: l.upstream.url,
    GIT_URL: l.upstream.gitUrl,
    NODE: process.execPath,
    CLI: join(dist, 'cli', 'index.js'),
    MITM: l.mitmproxy!.url,
    SQUID: l.squid!.url,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
  });
  const r = spawnSync('unshare', ['--mount', '--', 'bash', join(t, 'run.sh')], {
    env,
    encoding: 'utf8',
    timeout: 840_000,
  });
  const lines = `${r.stdout}`.split('\n').filter(Boolean);
  if (r.status !== 0 || r.error)
    throw new Error(`the namespace script failed (${r.status ?? r.error?.message}): ${r.stderr.slice(-2000)}`);
  return { lines, value: (key) => lines.find((line) => line.startsWith(`${key} `))?.slice(key.length + 1) };
}

describe('the OS trust store (Debian update-ca-certificates in a private mount namespace)', () => {
  let outcome: Outcome;
  beforeAll(async () => {
    const l = lab();
    // The root alone: mitmdump signs with the root directly; squid sends its intermediate along with leaves.
    const ca = join(l.scratch('ca'), 'org.pem');
    writeFileSync(ca, `${readFileSync(l.pki.paths.orgCa, 'utf8')}${readFileSync(l.pki.paths.orgRoot, 'utf8')}`);
    outcome = await runInNamespace(l, ca);
  }, 900_000);

  test.each(['mitmproxy', 'squid'])(
    'behind %s: curl, wget and git fail before, verify with no variables while the CA is in the store, fail after',
    (proxy) => {
      for (const client of ['curl', 'wget', 'git']) {
        expect(`${client} ${outcome.value(`before ${proxy} ${client}`)}`).toBe(`${client} fail`);
        expect(`${client} ${outcome.value(`added ${proxy} ${client}`)}`).toBe(`${client} ok`);
        expect(`${client} ${outcome.value(`removed ${proxy} ${client}`)}`).toBe(`${client} fail`);
      }
    },
  );

  test('remove leaves the store byte-identical and the journal gone', () => {
    expect(outcome.value('snap removed')).toBe(outcome.value('snap before'));
    expect(outcome.value('journal-after-add')).toBe('present');
    expect(outcome.value('journal-after-remove')).toBe('absent');
  });

  test('after a crash half-way through add, the next run takes the anchor out first and the store ends byte-identical', () => {
    expect(outcome.value('crash exit')).toBe('137');
    expect(outcome.value('anchors-after-crash')).toBe('2');
    expect(outcome.value('stale-journal-notices')).toBe('1');
    expect(outcome.value('anchors-after-next-add')).toBe('2');
    expect(outcome.value('snap recovered')).toBe(outcome.value('snap before'));
    expect(outcome.lines).not.toContain('add failed');
    expect(outcome.lines).not.toContain('remove failed');
  });
});
