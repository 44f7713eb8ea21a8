import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { lintDockerfile, LintError } from '../../../src/leak/lint.js';

const rules = (content: string, target?: string): string[] => lintDockerfile(content, target).findings.map((f) => `${f.rule}:${f.line}:${f.stage}`);

describe('org-ca lint', () => {
  test.each([
    ['COPY of a CA file into the release', 'FROM alpine\nCOPY org-ca.pem /usr/local/share/ca-certificates/org.crt', ['copy-ca-file:2:0']],
    ['ADD of a .crt', 'FROM alpine AS release\nADD certs/root.crt /etc/root.crt', ['copy-ca-file:2:release']],
    ['update-ca-certificates', 'FROM debian\nRUN apt-get install -y ca-certificates && update-ca-certificates', ['trust-store-update:2:0']],
    ['keytool -importcert', 'FROM eclipse-temurin\nRUN keytool -importcert -noprompt -cacerts -file /tmp/x -alias org', ['trust-store-update:2:0']],
    ['update-ca-trust', 'FROM fedora\nRUN update-ca-trust extract', ['trust-store-update:2:0']],
    ['ENV of a registry variable', 'FROM node\nENV NODE_EXTRA_CA_CERTS=/etc/org.pem', ['env-ca-pointer:2:0']],
    ['ARG carrying a CA into RUN', 'FROM alpine\nARG ORG_CA\nRUN echo "$ORG_CA" > /tmp/x', ['arg-ca:2:0']],
    [
      'secret mount copied to disk',
      'FROM alpine\nRUN --mount=type=secret,id=org_ca cp /run/secrets/org_ca /usr/local/share/ca-certificates/org.crt',
      ['secret-to-disk:2:0'],
    ],
    ['secret mount read in place is fine', 'FROM node\nRUN --mount=type=secret,id=org_ca NODE_EXTRA_CA_CERTS=/run/secrets/org_ca npm ci', []],
    ['inline certificate', 'FROM alpine\nRUN echo "-----BEGIN CERTIFICATE-----" > /x', ['ca-in-source:2:0']],
    [
      'a builder stage the release copies from is checked too',
      'FROM alpine AS build\nCOPY org.pem /org.pem\nRUN make\nFROM scratch\nCOPY --from=build /out /out',
      ['copy-ca-file:2:build'],
    ],
    [
      'a stage that does not reach the target is not',
      'FROM alpine AS tools\nRUN update-ca-certificates\nFROM alpine AS release\nRUN echo hi',
      [],
    ],
    [
      'RUN --mount from= makes a stage reach the target',
      'FROM alpine AS certs\nRUN update-ca-certificates\nFROM alpine\nRUN --mount=type=bind,from=certs,target=/c ls /c',
      ['trust-store-update:2:certs'],
    ],
    [
      'ENV in a builder stage does not reach the release image',
      'FROM node AS deps\nENV NODE_EXTRA_CA_CERTS=/run/secrets/org_ca\nRUN npm ci\nFROM node\nCOPY --from=deps /app /app',
      [],
    ],
    [
      'copying a trust store from a stage that added the CA',
      'FROM debian AS b\nRUN update-ca-certificates\nFROM scratch\nCOPY --from=b /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/',
      ['trust-store-update:2:b', 'copy-ca-file:4:1'],
    ],
  ])('%s', (_name, content, expected) => {
    expect(rules(content).sort()).toEqual([...expected].sort());
  });

  test('--target picks the release stage and its FROM chain', () => {
    const file = 'FROM alpine AS base\nRUN update-ca-certificates\nFROM base AS app\nRUN echo\nFROM alpine AS other\nCOPY ca.pem /ca.pem';
    expect(rules(file, 'app')).toEqual(['trust-store-update:2:base']);
    expect(rules(file)).toEqual(['copy-ca-file:6:other']);
    expect(lintDockerfile(file, 'app').stages).toEqual([
      { name: 'base', inRelease: true },
      { name: 'app', inRelease: true },
    ]);
  });

  test('an unknown --target is a one-line error naming the stages', () => {
    expect(() => lintDockerfile('FROM alpine AS a\nFROM alpine AS b', 'c')).toThrow(new LintError("--target 'c' is not a stage of this Dockerfile: expected one of a, b."));
  });

  test('every finding says what leaks and how to fix it', () => {
    for (const f of lintDockerfile('FROM alpine\nCOPY org.pem /org.pem\nRUN update-ca-certificates').findings) {
      expect(f.message.length).toBeGreaterThan(20);
      expect(f.fix).toMatch(/secret|with-org-ca/);
    }
  });

  const example = fileURLToPath(new URL('../../../Dockerfile.example', import.meta.url));
  (existsSync(example) ? test : test.skip)('Dockerfile.example (secret mount + with-org-ca in builder stages) passes', () => {
    const result = lintDockerfile(readFileSync(example, 'utf8'));
    expect(result.findings).toEqual([]);
    expect(result.stages.map((s) => s.name)).toEqual(['node-deps', 'assets', 'release']);
  });
});
