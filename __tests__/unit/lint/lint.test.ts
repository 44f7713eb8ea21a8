import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { lintDockerfile, LintError, type LintFinding } from '../../../src/lint/lint.js';
import { renderLintSarif, renderLintText } from '../../../src/lint/lint-report.js';
import { findRule, RULES } from '../../../src/lint/rules.js';

/** `RULE:line:stage` for every finding, `!` marking the ones that fail the lint (release image, not ignored). */
const summary = (content: string, target?: string): string[] =>
  lintDockerfile(content, target ? { target } : {}).findings.map(
    (f: LintFinding) => `${f.severity === 'error' && !f.ignored ? '!' : ''}${f.rule}:${f.line}:${f.stage}`,
  );

describe('org-ca lint: what each stage holds', () => {
  test.each([
    // COPY/ADD of CA files
    [
      'COPY of a CA file into a trust path',
      'FROM alpine\nCOPY org-ca.pem /usr/local/share/ca-certificates/org.crt',
      ['!OCA101:2:0'],
    ],
    [
      'ADD of a CA-named file anywhere',
      'FROM alpine AS release\nADD certs/root-ca.crt /etc/root.crt',
      ['!OCA101:2:release'],
    ],
    ['a server certificate for nginx is not a CA', 'FROM nginx\nCOPY tls/cert.pem tls/key.pem /etc/nginx/tls/', []],
    [
      'COPY into a directory that exists without a trailing slash',
      'FROM eclipse-temurin\nCOPY corp.cer $JAVA_HOME/lib/security\nRUN cd $JAVA_HOME/lib/security && keytool -importcert -noprompt -keystore cacerts -file corp.cer',
      ['!OCA101:2:0', '!OCA104:3:0'],
    ],
    [
      'ADD of a URL into an anchor directory',
      'FROM fedora\nADD https://pki.example/corp.crt /etc/pki/ca-trust/source/anchors/\nRUN update-ca-trust',
      ['!OCA101:2:0', '!OCA103:3:0'],
    ],
    [
      'COPY <<EOF of certificate text',
      'FROM alpine\nCOPY <<EOF /usr/local/share/ca-certificates/x.crt\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\nEOF',
      ['!OCA101:2:0', '!OCA108:2:0'],
    ],
    // RUN downloads and writes
    [
      'wget -O into an anchor directory, no update',
      'FROM fedora\nRUN wget -O /etc/pki/ca-trust/source/anchors/corp.crt https://pki.example/root',
      ['!OCA102:2:0'],
    ],
    [
      'curl -o into any anchor directory',
      'FROM debian\nRUN curl -fsSL -o /usr/local/share/ca-certificates/corp.crt https://pki.example/root && update-ca-certificates',
      ['!OCA102:2:0', '!OCA103:2:0'],
    ],
    [
      'wget -P into the anchor directory',
      'FROM python\nRUN wget -q -P /usr/local/share/ca-certificates/ http://pki.example/ROOT.crt\nRUN update-ca-certificates',
      ['!OCA102:2:0', '!OCA103:3:0'],
    ],
    [
      'downloaded then removed in the same RUN leaves nothing',
      'FROM debian\nRUN curl -o /tmp/corp.crt https://pki.example/c && curl --cacert /tmp/corp.crt https://x/ && rm /tmp/corp.crt',
      [],
    ],
    [
      'Mozilla bundle from curl.se is public',
      'FROM debian\nRUN curl -o /etc/ssl/certs/cacert.pem https://curl.se/ca/cacert.pem',
      [],
    ],
    [
      'echo of a CA ARG into a trust path',
      'FROM golang\nARG ZSCALER_CERT\nRUN echo "$ZSCALER_CERT" > /usr/local/share/ca-certificates/zscaler.crt && update-ca-certificates',
      ['!OCA102:3:0', '!OCA103:3:0', '!OCA107:2:0'],
    ],
    [
      'appending a CA to the system bundle',
      'FROM node\nCOPY zscaler.pem /tmp/z.pem\nRUN cat /tmp/z.pem >> /etc/ssl/certs/ca-certificates.crt && rm /tmp/z.pem',
      ['!OCA101:2:0', '!OCA102:3:0'],
    ],
    [
      'RUN <<EOF heredoc script',
      'FROM alpine\nRUN <<EOF\nset -e\nwget -O /usr/local/share/ca-certificates/c.crt http://pki.example/c\nupdate-ca-certificates\nEOF',
      ['!OCA102:2:0', '!OCA103:2:0'],
    ],
    [
      'a hook script written into update.d is not an anchor',
      'FROM debian\nRUN { echo "#!/bin/sh"; echo "trust extract --format=java-cacerts"; } > /etc/ca-certificates/update.d/java && chmod +x /etc/ca-certificates/update.d/java',
      [],
    ],
    [
      'unknown output into a certificate name in an anchor directory',
      'FROM debian\nRUN cat <<EOF > /usr/local/share/ca-certificates/corp.crt\nsomething\nEOF',
      ['!OCA102:2:0'],
    ],
    // trust-store updates
    [
      'a bare update-ca-certificates is clean',
      'FROM alpine\nRUN apk add --no-cache ca-certificates && update-ca-certificates',
      [],
    ],
    [
      '--fresh after trimming a distrusted root is clean',
      'FROM debian\nRUN sed -i "/CNNIC/d" /etc/ca-certificates.conf && update-ca-certificates --fresh',
      [],
    ],
    [
      'an update in a child stage counts what the FROM chain added',
      'FROM debian AS base\nCOPY corp.crt /usr/local/share/ca-certificates/\nFROM base\nRUN update-ca-certificates',
      ['!OCA101:2:base', '!OCA103:4:1'],
    ],
    [
      'keytool importing the distribution roots is clean',
      'FROM openjdk:8-jdk-alpine\nRUN find /usr/share/ca-certificates/mozilla/ -name "*.crt" -exec keytool -import -trustcacerts -cacerts -storepass changeit -noprompt -file {} -alias {} \\;',
      [],
    ],
    // secret mounts
    [
      'a secret read in place is clean',
      'FROM node\nRUN --mount=type=secret,id=org_ca NODE_EXTRA_CA_CERTS=/run/secrets/org_ca npm ci',
      [],
    ],
    [
      'a netrc secret used by pip is clean',
      'FROM python\nRUN --mount=type=secret,id=netrc,dst=/root/.netrc pip install -r requirements.txt',
      [],
    ],
    [
      'a CA secret copied to disk',
      'FROM alpine\nRUN --mount=type=secret,id=org_ca cp /run/secrets/org_ca /usr/local/share/ca-certificates/org.crt',
      ['!OCA105:2:0'],
    ],
    [
      'a CA secret copied, used and removed in the same RUN',
      'FROM python\nRUN --mount=type=secret,id=org_ca cp /run/secrets/org_ca /tmp/ca.pem && pip install --cert /tmp/ca.pem -r r.txt && rm -f /tmp/ca.pem',
      [],
    ],
    [
      'removed, but the bundle regenerated in between keeps it',
      'FROM debian\nRUN --mount=type=secret,id=ca cp /run/secrets/ca /usr/local/share/ca-certificates/ca.crt && update-ca-certificates && rm /usr/local/share/ca-certificates/ca.crt',
      ['!OCA103:2:0'],
    ],
    [
      'removed and regenerated again: clean',
      'FROM debian\nRUN --mount=type=secret,id=ca cp /run/secrets/ca /usr/local/share/ca-certificates/ca.crt && update-ca-certificates && rm /usr/local/share/ca-certificates/ca.crt && update-ca-certificates --fresh',
      [],
    ],
    [
      'a secret mounted into the anchor directory, then an update',
      'FROM rust\nRUN --mount=type=secret,id=zscaler,dst=/usr/local/share/ca-certificates/zscaler.crt update-ca-certificates && cargo build',
      ['!OCA103:2:0'],
    ],
    [
      'a secret mounted over the bundle for apt is clean',
      'FROM ubuntu\nRUN --mount=type=secret,id=certs,target=/etc/ssl/certs/ca-certificates.crt apt-get update',
      [],
    ],
    // stages
    [
      'a builder-only CA is information',
      'FROM golang AS build\nCOPY zscaler.crt /usr/local/share/ca-certificates/\nRUN update-ca-certificates && go build -o /out/app\nFROM scratch\nCOPY --from=build /out/app /app',
      ['OCA101:2:build', 'OCA103:3:build'],
    ],
    [
      'the public bundle from a stage that only installed the package',
      'FROM alpine AS certs\nRUN apk add -U ca-certificates\nFROM scratch\nCOPY --from=certs /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/',
      [],
    ],
    [
      'the bundle from a stage that added a CA',
      'FROM debian AS b\nCOPY corp.crt /usr/local/share/ca-certificates/\nRUN update-ca-certificates\nFROM scratch\nCOPY --from=b /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/',
      ['OCA101:2:b', 'OCA103:3:b', '!OCA106:5:1'],
    ],
    [
      'a glob that matches the CA file',
      'FROM alpine AS b\nCOPY corp.crt /certs/corp.crt\nFROM scratch\nCOPY --from=b /certs/*.crt /etc/',
      ['OCA101:2:b', '!OCA106:4:1'],
    ],
    [
      'a directory that contains the CA file',
      'FROM alpine AS b\nCOPY corp-root.pem /opt/app/conf/\nFROM scratch\nCOPY --link --chmod=644 --from=b /opt/app /opt/app',
      ['OCA101:2:b', '!OCA106:4:1'],
    ],
    [
      'a sibling directory does not',
      'FROM alpine AS b\nCOPY corp-root.pem /opt/conf/\nRUN mkdir -p /opt/app\nFROM scratch\nCOPY --from=b /opt/app /opt/app',
      ['OCA101:2:b'],
    ],
    [
      'an external image is not a stage',
      'FROM scratch\nCOPY --from=alpine:3.20 /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/',
      [],
    ],
    [
      'a bind mount from a stage copied into the layer',
      'FROM debian AS b\nCOPY corp.crt /c/corp.crt\nFROM debian\nRUN --mount=type=bind,from=b,source=/c,target=/m cp /m/corp.crt /usr/local/share/ca-certificates/ && update-ca-certificates',
      ['OCA101:2:b', '!OCA102:4:1', '!OCA103:4:1'],
    ],
    [
      'FROM a stage inherits, --target picks the chain',
      'FROM alpine AS base\nCOPY corp.crt /usr/local/share/ca-certificates/\nFROM base AS app\nRUN echo\nFROM alpine AS other\nRUN echo',
      ['OCA101:2:base'],
    ],
    // ARG/ENV substitution
    [
      'ARG and ENV substitute into paths',
      'ARG ANCHORS=/usr/local/share/ca-certificates\nFROM debian\nARG ANCHORS\nENV CERT_FILE=${ANCHORS}/corp.pem\nADD corp.pem ${CERT_FILE}',
      ['!OCA101:5:0'],
    ],
    [
      'a CA name in an ENV-built path',
      'FROM node\nENV CERT_HOME=/usr/local/share/ca-certificates\nCOPY gitandatt.crt ${CERT_HOME}/x.crt\nRUN npm config set cafile ${CERT_HOME}/x.crt',
      ['!OCA101:3:0', '!OCA109:4:0'],
    ],
    [
      'a flag-like ARG is not certificate text',
      'FROM gradle\nARG NO_CERT\nARG IMPORT_ZSCALER_CERT=false\nRUN echo $NO_CERT',
      [],
    ],
    // pointers, same verdict as the leak check
    [
      "ENV at the image's own bundle is clean",
      'FROM python\nENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt\nENV REQUESTS_CA_BUNDLE /etc/ssl/certs/ca-certificates.crt',
      [],
    ],
    [
      'ENV at a secret mount path',
      'FROM node\nENV NODE_EXTRA_CA_CERTS=/run/secrets/org_ca\nRUN --mount=type=secret,id=org_ca npm ci',
      ['!OCA109:2:0'],
    ],
    [
      'ENV at a CA copied in',
      'FROM node\nCOPY corp-root.crt /usr/local/share/ca-certificates/\nENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/corp-root.crt',
      ['!OCA101:2:0', '!OCA109:3:0'],
    ],
    [
      'ENV in a builder stage does not reach the release image',
      'FROM node AS deps\nENV NODE_EXTRA_CA_CERTS=/run/secrets/org_ca\nRUN npm ci\nFROM node\nCOPY --from=deps /app /app',
      [],
    ],
    ['a later ENV clears the pointer', 'FROM node\nENV NODE_EXTRA_CA_CERTS=/certs/x.pem\nENV NODE_EXTRA_CA_CERTS=', []],
    // the build context used by a tool flag
    [
      'COPY . then pip --cert names a context file',
      'FROM python\nWORKDIR /app\nCOPY . .\nRUN pip install --cert corp.pem -r requirements.txt',
      ['!OCA101:3:0'],
    ],
    [
      'COPY . then git config http.sslCAInfo',
      'FROM alpine/git\nADD . /src\nRUN git config --global http.sslCAInfo /src/certs/proxy.pem',
      ['!OCA101:2:0', '!OCA109:3:0'],
    ],
    [
      'COPY . then curl --cacert, in a builder',
      'FROM debian AS fetch\nCOPY . /w\nRUN curl --cacert /w/ca.pem -o /w/dep.tgz https://example/dep.tgz\nFROM scratch\nCOPY --from=fetch /w/dep.tgz /dep.tgz',
      ['OCA101:2:fetch'],
    ],
    [
      'a tool flag at a file of the base image',
      'FROM corp/base\nRUN curl --cacert /opt/corp/root.pem https://example/',
      ['!OCA110:2:0'],
    ],
    [
      'a tool flag at a bind mount is clean',
      'FROM python\nRUN --mount=type=bind,source=corp.pem,target=/tmp/corp.pem pip install --cert /tmp/corp.pem x',
      [],
    ],
    // source text
    [
      'inline certificate text',
      'FROM alpine\nRUN echo "-----BEGIN CERTIFICATE-----" > /x',
      ['!OCA102:2:0', '!OCA108:2:0'],
    ],
    [
      'commented-out lines are not instructions',
      'FROM alpine\n# COPY corp.crt /usr/local/share/ca-certificates/\n# RUN update-ca-certificates\nRUN echo ok',
      [],
    ],
  ])('%s', (_name, content, expected) => {
    expect(summary(content).sort()).toEqual([...expected].sort());
  });

  test('--target picks the release stage; other stages are information', () => {
    const file =
      'FROM alpine AS base\nCOPY corp.crt /usr/local/share/ca-certificates/\nFROM base AS app\nRUN echo\nFROM alpine AS other\nCOPY ca.pem /ca.pem';
    expect(summary(file, 'app')).toEqual(['!OCA101:2:base', 'OCA101:6:other']);
    expect(summary(file)).toEqual(['OCA101:2:base', '!OCA101:6:other']);
    const result = lintDockerfile(file, { target: 'app' });
    expect(result.stages).toEqual([
      { name: 'base', inRelease: true },
      { name: 'app', inRelease: true },
      { name: 'other', inRelease: false },
    ]);
    expect(result.failed).toBe(true);
    expect(lintDockerfile(file, { target: '1' }).target).toBe('app');
  });

  test('FROM scratch starts empty; an unknown --target is a one-line error naming the stages', () => {
    expect(
      summary(
        'FROM alpine AS a\nCOPY corp.crt /usr/local/share/ca-certificates/\nFROM scratch AS b\nRUN update-ca-certificates',
        'b',
      ),
    ).toEqual(['OCA101:2:a']);
    expect(() => lintDockerfile('FROM alpine AS a\nFROM alpine AS b', { target: 'c' })).toThrow(
      new LintError("--target 'c' is not a stage of this Dockerfile: expected one of a, b."),
    );
    expect(() => lintDockerfile('# nothing\n')).toThrow(/no FROM instruction/);
  });

  test('information findings exit 0 and the report says once why they matter', () => {
    const result = lintDockerfile(
      'FROM golang AS build\nCOPY zscaler.crt /usr/local/share/ca-certificates/\nRUN update-ca-certificates\nFROM scratch\nCOPY --from=build /out/app /app',
    );
    expect(result.failed).toBe(false);
    expect(result.findings.map((f) => f.severity)).toEqual(['info', 'info']);
    const text = renderLintText('Dockerfile', result);
    expect(text.match(/build cache/g)).toHaveLength(1);
    expect(text).toMatch(/^OK: 0 error\(s\), 2 info/m);
  });

  test('every finding says what leaks and how to fix it, without a doubled "Fix:"', () => {
    const result = lintDockerfile(
      'FROM alpine\nCOPY org.pem /usr/local/share/ca-certificates/\nRUN update-ca-certificates',
    );
    expect(result.findings).toHaveLength(2);
    for (const f of result.findings) {
      expect(f.message.length).toBeGreaterThan(30);
      expect(f.fix).toMatch(/secret/);
      expect(f.fix).not.toMatch(/^Fix:/i);
    }
    expect(renderLintText('Dockerfile', result)).not.toMatch(/fix: Fix:/i);
  });

  test('rules have stable, unique ids and names', () => {
    expect(RULES.map((r) => r.id)).toEqual([
      'OCA101',
      'OCA102',
      'OCA103',
      'OCA104',
      'OCA105',
      'OCA106',
      'OCA107',
      'OCA108',
      'OCA109',
      'OCA110',
    ]);
    expect(new Set(RULES.map((r) => r.name)).size).toBe(RULES.length);
    expect(findRule('oca103')?.name).toBe('trust-store-update');
    expect(findRule('copy-ca-file')?.id).toBe('OCA101');
  });

  const example = fileURLToPath(new URL('../../../Dockerfile.example', import.meta.url));
  (existsSync(example) ? test : test.skip)(
    'Dockerfile.example (secret mount + with-org-ca in builder stages) is clean',
    () => {
      const result = lintDockerfile(readFileSync(example, 'utf8'));
      expect(result.findings).toEqual([]);
      expect(result.failed).toBe(false);
      expect(result.stages.map((s) => s.name)).toEqual(['node-deps', 'assets', 'release']);
    },
  );
});

describe('org-ca lint: suppressions', () => {
  const leaky =
    'FROM node\n# org-ca ignore=OCA101 the dev image trusts the proxy on purpose\nCOPY corp-root.crt /usr/local/share/ca-certificates/\nENV NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/corp-root.crt';

  test('an inline comment ignores that rule on the next instruction only, and the finding still shows', () => {
    const result = lintDockerfile(leaky);
    expect(result.findings.map((f) => [f.rule, f.ignored?.by ?? null])).toEqual([
      ['OCA101', 'inline'],
      ['OCA109', null],
    ]);
    expect(result.findings[0]!.ignored!.reason).toBe('the dev image trusts the proxy on purpose');
    expect(result.failed).toBe(true);
  });

  test('--ignore by id or name; ignored findings show in text, JSON and SARIF', () => {
    const result = lintDockerfile(leaky, { ignore: ['ca-pointer'] });
    expect(result.failed).toBe(false);
    expect(result.findings.every((f) => f.ignored)).toBe(true);
    expect(renderLintText('Dockerfile', result)).toMatch(
      /Dockerfile:3: ignored \(the dev image trusts the proxy on purpose\) OCA101/,
    );
    expect(renderLintText('Dockerfile', result)).toMatch(/Dockerfile:4: ignored \(--ignore OCA109\) OCA109/);
    expect(JSON.parse(JSON.stringify(result)).findings[1].ignored).toEqual({ by: 'option', reason: '--ignore OCA109' });
    const sarif = renderLintSarif('Dockerfile', result) as {
      runs: {
        results: {
          ruleId: string;
          suppressions?: { kind: string; justification: string }[];
          locations: { physicalLocation: { region: { startLine: number } } }[];
        }[];
      }[];
    };
    const results = sarif.runs[0]!.results;
    expect(
      results.map((r) => [r.ruleId, r.locations[0]!.physicalLocation.region.startLine, r.suppressions?.[0]?.kind]),
    ).toEqual([
      ['OCA101', 3, 'inSource'],
      ['OCA109', 4, 'external'],
    ]);
  });

  test('an unknown rule is a one-line error for --ignore and a note for a comment', () => {
    expect(() => lintDockerfile(leaky, { ignore: ['DL3008'] })).toThrow(
      /--ignore 'DL3008' is not a rule: expected one of OCA101 \(copy-ca-file\)/,
    );
    const result = lintDockerfile('FROM alpine\n# org-ca ignore=nope because\nRUN echo');
    expect(result.notes[0]).toMatch(/line 2: 'nope' in an org-ca ignore comment is not a rule/);
  });
});
