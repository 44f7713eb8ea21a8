/**
 * The RUN interpreter's command handlers, each alone: a recording scope stands for the RUN (its file system is not
 * needed to say what a command writes, reads or proves), and a call is the parsed command line.
 */
import type { NewFile } from '../../../src/lint/filesystem.js';
import { COMMANDS, NOTHING, type CommandCall, type Content, type RunScope } from '../../../src/lint/run-commands.js';

interface Recorded {
  writes: [string, Content, string][];
  records: NewFile[];
  proven: [string, string][];
  updates: [string, readonly string[]][];
  cwd: string;
}

function scope(reads: Record<string, Content> = {}): { s: RunScope; rec: Recorded } {
  const rec: Recorded = { writes: [], records: [], proven: [], updates: [], cwd: '/app' };
  const s = {
    fs: { remove: () => undefined, caUnder: () => [] },
    env: { caArgs: new Set<string>() },
    local: new Map<string, string>(),
    script: '',
    cwd: () => rec.cwd,
    setCwd: (p: string) => void (rec.cwd = p),
    abs: (p: string) => (p.startsWith('/') ? p : `${rec.cwd}/${p}`),
    mountOf: () => undefined,
    read: (p: string) => reads[p] ?? NOTHING,
    write: (p: string, c: Content, how: string) => void rec.writes.push([p, c, how]),
    newRecord: (file: NewFile) => (rec.records.push(file), {}),
    provenCa: (v: string, e: string) => void rec.proven.push([v, e]),
    trustUpdate: (tool: string, sources: readonly string[]) => void rec.updates.push([tool, sources]),
    copyFiles: () => undefined,
  } as unknown as RunScope;
  return { s, rec };
}

function call(line: string, options: Record<string, string> = {}, ops?: string[]): CommandCall {
  const words = line.split(' ');
  return {
    cmd: words[0]!,
    words,
    args: words.slice(1),
    ops: ops ?? words.slice(1).filter((w) => !w.startsWith('-')),
    options: new Map(Object.entries(options)),
    opt: (...names) => names.map((n) => options[n]).find((v) => v !== undefined),
    command: {
      words: words.map((text) => ({ text, literal: true })),
      assigns: [],
      redirects: [],
    },
    stdin: NOTHING,
  };
}

test('cd moves the working directory the later commands resolve against', () => {
  const { s, rec } = scope();
  COMMANDS.cd!(s, call('cd /srv', {}, ['/srv']));
  expect(rec.cwd).toBe('/srv');
});

test('curl -o into a trust path writes a CA-like download; --cacert proves its value is a CA', () => {
  const { s, rec } = scope();
  const out = COMMANDS.curl!(
    s,
    call(
      'curl --cacert /tmp/ca.pem -o /usr/local/share/ca-certificates/corp.crt https://pki.example/corp-root.crt',
      { '--cacert': '/tmp/ca.pem', '-o': '/usr/local/share/ca-certificates/corp.crt' },
      ['https://pki.example/corp-root.crt'],
    ),
  );
  expect(out).toBe(NOTHING);
  expect(rec.proven).toEqual([['/tmp/ca.pem', 'passes /tmp/ca.pem to curl as its CA file']]);
  expect(rec.writes.map(([p, c, how]) => [p, c.ca, c.download, how])).toEqual([
    ['/usr/local/share/ca-certificates/corp.crt', true, true, 'downloads'],
  ]);
});

test('curl without -o hands the download to the pipe; a public bundle URL is not CA material', () => {
  const { s } = scope();
  const out = COMMANDS.curl!(s, call('curl https://curl.se/ca/cacert.pem', {}, ['https://curl.se/ca/cacert.pem']));
  expect({ ca: out.ca, public: out.public }).toEqual({ ca: false, public: true });
});

test('keytool -importcert records the keystore as holding the CA (OCA104)', () => {
  const { s, rec } = scope({ '/app/corp.crt': { ca: true, what: 'corp.crt' } });
  COMMANDS.keytool!(s, call('keytool -importcert -file corp.crt -cacerts', { '-file': 'corp.crt' }));
  expect(rec.records).toEqual([
    {
      path: '/$JAVA_HOME/lib/security/cacerts',
      dir: false,
      ca: true,
      rule: 'OCA104',
      what: 'RUN keytool imports corp.crt into the keystore cacerts (-cacerts)',
      origin: 'write',
    },
  ]);
});

test('update-ca-certificates regenerates from the Debian anchor directories', () => {
  const { s, rec } = scope();
  COMMANDS['update-ca-certificates']!(s, call('update-ca-certificates'));
  expect(rec.updates).toEqual([
    ['update-ca-certificates', ['/usr/local/share/ca-certificates', '/usr/share/ca-certificates']],
  ]);
});

test('echo of certificate text is CA content for the pipe; anything else is nothing', () => {
  const { s } = scope();
  expect(COMMANDS.echo!(s, call('echo -----BEGIN CERTIFICATE-----')).ca).toBe(true);
  expect(COMMANDS.echo!(s, call('echo hello'))).toBe(NOTHING);
});

test('a command with no handler is not in the table (the interpreter checks it for tool settings only)', () => {
  expect(Object.hasOwn(COMMANDS, 'npm')).toBe(false);
  expect(Object.keys(COMMANDS).sort()).toEqual(
    [
      'c_rehash',
      'cat',
      'cd',
      'certutil',
      'cp',
      'curl',
      'echo',
      'export',
      'install',
      'keytool',
      'mv',
      'openssl',
      'printf',
      'rm',
      'rsync',
      'tar',
      'tee',
      'trust',
      'unlink',
      'unzip',
      'update-ca-certificates',
      'update-ca-trust',
      'wget',
    ].sort(),
  );
});
