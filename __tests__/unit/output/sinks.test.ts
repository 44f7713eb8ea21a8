/* eslint-disable no-control-regex -- hostile control characters are what these tests are about */
/**
 * Every sink fed the strings a hostile proxy, certificate, registry or image would send: workflow commands, Azure
 * logging commands, line breaks, NUL, ANSI escapes, Markdown links and images, HTML, backticks and `$()`.
 */
import { marked } from 'marked';
import { fileCommandEntry, FileCommandError } from '../../../src/output/file-commands.js';
import { logLine, logLines } from '../../../src/output/log-line.js';
import { escapeMarkdown, markdownCode } from '../../../src/output/markdown.js';
import { redactJvmOptions, redactUrlUserinfo, redactValue, secretsIn } from '../../../src/output/redact.js';
import { parseFileCommands } from '../../support/inspection/action-runner.js';

const HOSTILE: readonly string[] = [
  '::set-output name=injected::yes',
  'OK\n::add-mask::everything',
  'OK\r\n::save-state name=files-dir::/etc',
  'x\n##vso[task.setvariable variable=NODE_OPTIONS]--require=/tmp/x.js',
  '##[error]fake',
  '   ::warning::indented',
  'a\u0000b',
  'red \u001b[31mtext\u001b[0m and \u001b]8;;http://e\u0007link',
  'line\u2028separator\u0085next',
  '[click](http://evil.test)',
  '![img](http://evil.test/x.png)',
  '<img src=x onerror=alert(1)>',
  '`code` $(rm -rf /) ${HOME}',
  '| a | b |',
  '<details><summary>x</summary>',
];

describe('logLine: one printable line that never starts a command', () => {
  test.each(HOSTILE)('%j', (text) => {
    const line = logLine(text);
    expect(line).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
    expect(line.split('\n')).toHaveLength(1);
    expect(line.trimStart()).not.toMatch(/^(::|##vso\[|##\[)/);
  });

  test('what is escaped stays readable', () => {
    expect(logLine('HTTP/1.1 403 Forbidden\n::set-output name=x::y')).toBe(
      'HTTP/1.1 403 Forbidden\\n::set-output name=x::y',
    );
    expect(logLine('::error::x')).toBe('\u00b7 ::error::x');
    expect(logLine('\u001b[31m')).toBe('\\e[31m');
    expect(logLine('a\u0000b')).toBe('a\\u0000b');
    expect(logLine('plain text: CN=Org Root, O=Org')).toBe('plain text: CN=Org Root, O=Org');
  });

  test('logLines keeps org-ca’s own line breaks and defuses each line', () => {
    expect(logLines('a\n::set-output name=x::y\nb')).toBe('a\n\u00b7 ::set-output name=x::y\nb');
  });
});

describe('escapeMarkdown: nothing renders, a table cell stays one cell', () => {
  test.each(HOSTILE)('%j', (text) => {
    const html = marked.parse(`| a | b |\n|---|---|\n| ${escapeMarkdown(text)} | ${markdownCode(text)} |\n`, {
      gfm: true,
      async: false,
    });
    expect(html).not.toMatch(/<a |<img |<details|<summary|<code>code<\/code>/);
    // one row of exactly two cells
    expect(html.match(/<td>/g)).toHaveLength(2);
  });

  test('the text shows as it was written once rendered', () => {
    const html = marked.parse(escapeMarkdown('[click](http://e) <b>x</b>'), { gfm: true, async: false });
    expect(html.trim()).toBe('<p>[click](http://e) &lt;b&gt;x&lt;/b&gt;</p>');
  });
});

describe('fileCommandEntry: a value cannot add variables of its own', () => {
  test.each(HOSTILE)('%j round-trips as one variable', (value) => {
    const text = fileCommandEntry('SAFE', value);
    expect(parseFileCommands(text)).toEqual({ SAFE: value });
  });

  test('a value naming the delimiter is refused; each call draws a new delimiter', () => {
    expect(() => fileCommandEntry('X', 'a\nDELIM\nNODE_OPTIONS=--require=/x', 'DELIM')).toThrow(FileCommandError);
    const a = fileCommandEntry('X', 'v');
    const b = fileCommandEntry('X', 'v');
    expect(a).not.toBe(b);
    expect(a).toMatch(/^X<<ghadelimiter_[0-9a-f-]{36}\nv\nghadelimiter_[0-9a-f-]{36}\n$/);
  });

  test.each(['BAD NAME', 'X\nY', '1X', 'A=B', ''])('the name %j is refused', (name) => {
    expect(() => fileCommandEntry(name, 'v')).toThrow(/is not a variable name/);
  });
});

describe('redaction', () => {
  test.each([
    ['-Dhttps.proxyPassword=s3cret -Dhttps.proxyUser=bob', '-Dhttps.proxyPassword=*** -Dhttps.proxyUser=bob'],
    [
      '-Djavax.net.ssl.trustStorePassword=changeit -Djavax.net.ssl.trustStore=/t/x.jks',
      '-Djavax.net.ssl.trustStorePassword=*** -Djavax.net.ssl.trustStore=/t/x.jks',
    ],
    ['"-Dmy.api.token=abc def" -Xmx1g', '"-Dmy.api.token=*** -Xmx1g'.replace('*** -Xmx1g', '***" -Xmx1g')],
    ['-Dsonar.login.secret=x -Dplain=1', '-Dsonar.login.secret=*** -Dplain=1'],
  ])('JVM options %j', (options, expected) => {
    expect(redactJvmOptions(options)).toBe(expected);
  });

  test.each([
    ['https://user:s3cret@proxy.test:3128', 'https://user:***@proxy.test:3128'],
    ['http://tok3n@proxy.test', 'http://***@proxy.test'],
    ['proxy https://u:p@a and http://b', 'proxy https://u:***@a and http://b'],
    ['no url here', 'no url here'],
  ])('URL userinfo %j', (text, expected) => {
    expect(redactUrlUserinfo(text)).toBe(expected);
  });

  test('a variable’s value: JVM options and URLs; the secrets are listed for masking', () => {
    expect(redactValue('JAVA_TOOL_OPTIONS', '-Dhttps.proxyPassword=s3cret -Djavax.net.ssl.trustStore=/t/ts.jks')).toBe(
      '-Dhttps.proxyPassword=*** -Djavax.net.ssl.trustStore=/t/ts.jks',
    );
    expect(redactValue('SSL_CERT_FILE', '/t/-Dx.password=1')).toBe('/t/-Dx.password=1');
    expect(secretsIn('MAVEN_OPTS', '-Dhttps.proxyPassword=s3cret -Dx=1')).toEqual(['s3cret']);
    expect(secretsIn('HTTPS_PROXY', 'https://u:p4ss@proxy')).toEqual(['p4ss']);
  });
});
