import { bypassesProxy } from '../../../src/detect/no-proxy.js';
import { parseProxy, parseTarget, routeFor, TargetError } from '../../../src/detect/route.js';

// [NO_PROXY list, host, port, curl bypasses?, Go bypasses?]. curl rows follow lib/noproxy.c and CURLOPT_NOPROXY's
// documented examples; Go rows follow golang.org/x/net/http/httpproxy's Config.NoProxy documentation.
const TABLE: ReadonlyArray<readonly [string, string, number, boolean, boolean]> = [
  // empty and wildcard
  ['', 'example.com', 443, false, false],
  ['*', 'example.com', 443, true, true],
  [' * ', 'anything.test', 8443, true, true],
  // curl: '*' only as the whole list; Go: '*' as any entry
  ['foo.com,*', 'example.com', 443, false, true],
  // documented curl example: "ample.com" matches ample.com and www.ample.com, not www.example.com or ample.com.org
  ['ample.com', 'ample.com', 443, true, true],
  ['ample.com', 'www.ample.com', 443, true, true],
  ['ample.com', 'www.example.com', 443, false, false],
  ['ample.com', 'ample.com.org', 443, false, false],
  // case and trailing dots
  ['Example.COM', 'www.example.com', 443, true, true],
  ['example.com', 'www.example.com.', 443, true, true],
  // leading dot: curl ignores it, Go matches subdomains only
  ['.example.com', 'example.com', 443, true, false],
  ['.example.com', 'www.example.com', 443, true, true],
  // Go's *.domain form = subdomains only; curl has no such wildcard
  ['*.example.com', 'www.example.com', 443, false, true],
  ['*.example.com', 'example.com', 443, false, false],
  // ports: Go honours them, curl never matches a token with a port
  ['example.com:8443', 'example.com', 8443, false, true],
  ['example.com:8443', 'example.com', 443, false, false],
  ['10.1.2.3:443', '10.1.2.3', 443, false, true],
  // IP literals and CIDR
  ['10.1.2.3', '10.1.2.3', 443, true, true],
  ['10.1.2.3', '10.1.2.4', 443, false, false],
  ['10.0.0.0/8', '10.200.3.4', 443, true, true],
  ['10.0.0.0/8', '11.0.0.1', 443, false, false],
  ['192.168.0.0/16', '192.168.77.1', 443, true, true],
  ['192.168.0.0/16', 'myhost.192.168.0.0', 443, false, false],
  // IPv6: curl wants entries without brackets, Go accepts both and [v6]:port
  ['::1', '[::1]', 443, true, true],
  ['fd00::/8', 'fd12:3456::1', 443, true, true],
  ['fd00::/8', 'fe80::1', 443, false, false],
  ['[fd00::5]:443', 'fd00::5', 443, false, true],
  ['2001:db8::1', '2001:0db8:0:0::1', 443, true, true],
  ['::ffff:10.0.0.0/104', '::ffff:10.9.9.9', 443, true, true],
  // families never mix
  ['10.0.0.0/8', 'fd00::1', 443, false, false],
  // Go never proxies localhost or loopback; curl does unless listed
  ['', 'localhost', 443, false, true],
  ['', '127.0.0.1', 443, false, true],
  ['', '127.9.9.9', 443, false, true],
  ['', '::1', 443, false, true],
  ['localhost', 'localhost', 443, true, true],
  ['127.0.0.0/8', '127.0.0.1', 8443, true, true],
  // spaces and empty entries
  [' a.test , ,b.test ', 'x.b.test', 443, true, true],
  [',,,', 'a.test', 443, false, false],
];

describe('NO_PROXY matching', () => {
  test.each(TABLE)('NO_PROXY=%j host %s:%d → curl %s, go %s', (list, host, port, curl, go) => {
    expect(bypassesProxy('curl', host, port, list)).toBe(curl);
    expect(bypassesProxy('go', host, port, list)).toBe(go);
  });
});

describe('routeFor', () => {
  const target = parseTarget('https://registry.npmjs.org');

  test.each([
    [{}, 'direct'],
    [{ HTTPS_PROXY: 'http://proxy.corp:3128' }, 'proxy'],
    [{ https_proxy: 'proxy.corp:3128' }, 'proxy'],
    [{ ALL_PROXY: 'http://proxy.corp:3128' }, 'proxy'],
    [{ HTTPS_PROXY: 'http://proxy.corp:3128', NO_PROXY: 'npmjs.org' }, 'direct'],
    [{ HTTPS_PROXY: 'http://proxy.corp:3128', no_proxy: '*' }, 'direct'],
    [{ HTTPS_PROXY: 'http://proxy.corp:3128', NO_PROXY: 'github.com' }, 'proxy'],
    // HTTP_PROXY is for http:// URLs only
    [{ HTTP_PROXY: 'http://proxy.corp:3128' }, 'direct'],
  ] as const)('%j → %s', (env, kind) => {
    expect(routeFor(target, env).kind).toBe(kind);
  });

  test('lower-case wins, and a disagreement with what Go reads is noted', () => {
    const route = routeFor(target, { https_proxy: 'http://a.corp:1', HTTPS_PROXY: 'http://b.corp:2' });
    expect(route).toMatchObject({ kind: 'proxy', host: 'a.corp', port: 1, variable: 'https_proxy' });
    expect(route.notes.join('\n')).toMatch(/https_proxy and HTTPS_PROXY differ/);
  });

  test('a NO_PROXY rule where curl and Go differ is noted', () => {
    const route = routeFor(parseTarget('https://npmjs.org'), { HTTPS_PROXY: 'http://p:1', NO_PROXY: '.npmjs.org' });
    expect(route.kind).toBe('direct');
    expect(route.notes.join('\n')).toMatch(/Go tools \(docker, BuildKit\) through the proxy/);
  });

  test('credentials become a Basic header and never appear in the display form', () => {
    const route = parseProxy('HTTPS_PROXY', 'http://al%40ice:s3cr%3At@proxy.corp:3128');
    expect(route.display).toBe('http://proxy.corp:3128');
    expect(route.authorization).toBe(`Basic ${Buffer.from('al@ice:s3cr:t').toString('base64')}`);
  });

  test.each([
    [
      'socks5://proxy.corp:1080',
      /HTTPS_PROXY 'socks5:\/\/proxy.corp:1080' uses socks5:\/\/, which the probe cannot tunnel through/,
    ],
    ['http://user:pw@[bad', /HTTPS_PROXY is not a URL/],
  ])('rejects proxy %s without printing credentials', (value, message) => {
    expect(() => parseProxy('HTTPS_PROXY', value)).toThrow(message);
    try {
      parseProxy('HTTPS_PROXY', value);
    } catch (error) {
      expect((error as Error).message).not.toContain('pw');
    }
  });
});

describe('parseTarget', () => {
  test.each([
    ['https://github.com', 'github.com', 443],
    ['github.com', 'github.com', 443],
    ['https://127.0.0.1:8443/x', '127.0.0.1', 8443],
    ['https://[::1]:9443', '::1', 9443],
  ])('%s → %s:%d', (raw, host, port) => {
    expect(parseTarget(raw)).toMatchObject({ host, port });
  });

  test.each([
    ['http://github.com', /expected https:\/\//],
    ['https://', /Invalid probe URL 'https:\/\/'/],
  ])('rejects %s', (raw, message) => {
    expect(() => parseTarget(raw)).toThrow(TargetError);
    expect(() => parseTarget(raw)).toThrow(message);
  });
});
