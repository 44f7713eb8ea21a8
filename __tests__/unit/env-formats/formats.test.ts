/**
 * Every --format for another CI system, read back the way its consumer reads it: bash for Buildkite and CircleCI,
 * the JVM's Properties.load for Jenkins, GitLab's and the Azure agent's parsers transcribed from their source.
 */
import {
  CI_FORMAT_IDS,
  FormatError,
  renderCiFormat,
  type CiFormatId,
  type CiVariable,
} from '../../../src/env-formats/ci-systems.js';
import { azureEscape } from '../../../src/env-formats/azure.js';
import {
  azureAgent,
  buildkiteEnvironmentHook,
  circleciBashEnv,
  gitlabDotenvReport,
  jenkinsReadProperties,
  type Parsed,
} from '../../support/ci-consumers/index.js';

/** Values a path or JAVA_TOOL_OPTIONS can really hold, and the characters each format escapes. */
const HARD: readonly CiVariable[] = [
  { name: 'PLAIN', value: '/runner/_work/_temp/org-ca-x/ca-bundle.pem' },
  { name: 'SPACES', value: '/Users/Jane Doe/Library/Caches/org ca/ca-bundle.pem' },
  { name: 'QUOTES', value: `-Dx="a b" -Dy='c d' -Djavax.net.ssl.trustStore="/t/dir with space/truststore.jks"` },
  { name: 'DOLLAR', value: '/t/$HOME/${USER}/`id`/$$/ca.pem' },
  { name: 'MACRO', value: '/t/$(Agent.TempDirectory)/$(id)/ca.pem' },
  { name: 'BACKSLASH', value: 'C:\\Users\\runner\\AppData\\Local\\Temp\\org-ca\\ca.pem\\' },
  { name: 'PERCENT', value: '/t/100%/%3B/%0A/%AZP25/%USERPROFILE%/ca.pem' },
  { name: 'SEMICOLON', value: '/t/a;b]c[d/ca.pem;' },
  { name: 'NEWLINE', value: '/t/line one\nline two\r\nthree/ca.pem' },
  { name: 'HASH_EQ', value: '#!/t/a=b:c!d#e/ca.pem' },
  { name: 'LEADING', value: '  two spaces and a tab\t' },
  { name: 'UNICODE', value: '/home/zoë/証明書/ca.pem' },
  { name: 'EMPTY', value: '' },
];
const names = HARD.map((v) => v.name);
const expected = Object.fromEntries(HARD.map((v) => [v.name, v.value]));
const render = (id: CiFormatId, vars: readonly CiVariable[] = HARD): string => renderCiFormat(id, vars).text;

describe('round trips through the consumer', () => {
  test('circleci: bash sources $BASH_ENV and every value arrives byte for byte', () => {
    expect(circleciBashEnv(render('circleci'), names)).toEqual(expected);
  });

  test('buildkite: the environment hook, sourced by bash -e with pipefail, exports every value byte for byte', () => {
    expect(buildkiteEnvironmentHook(render('buildkite'), names)).toEqual(expected);
  });

  test('jenkins: java.util.Properties.load (readProperties) reads every value byte for byte, and the file is ASCII', () => {
    const text = render('jenkins');
    expect(text).toMatch(/^[\x20-\x7e\n]*$/);
    expect(jenkinsReadProperties(text)).toEqual(expected);
  });

  test('azure: one logging command per variable, unescaped by the agent to the exact value', () => {
    const carriable = HARD.filter((v) => v.name !== 'MACRO');
    const text = render('azure', carriable);
    expect(text.trimEnd().split('\n')).toHaveLength(carriable.length);
    expect(azureAgent(text)).toEqual(Object.fromEntries(carriable.map((v) => [v.name, v.value])));
  });

  test('gitlab: every value GitLab can store round-trips through its dotenv parser', () => {
    const carriable = HARD.filter((v) =>
      ['PLAIN', 'SPACES', 'QUOTES', 'BACKSLASH', 'PERCENT', 'SEMICOLON', 'HASH_EQ', 'UNICODE', 'EMPTY'].includes(
        v.name,
      ),
    );
    const parsed: Parsed = gitlabDotenvReport(render('gitlab', carriable));
    expect(parsed).toEqual(Object.fromEntries(carriable.map((v) => [v.name, v.value])));
  });
});

describe('what a format cannot carry is refused with one line naming the variable', () => {
  test.each<[CiFormatId, string, RegExp]>([
    [
      'gitlab',
      'NEWLINE',
      /^NEWLINE='\/t\/line one\\nline two\\r\\nthree\/ca\.pem' cannot go into a GitLab dotenv report: it holds a line break\./,
    ],
    [
      'gitlab',
      'LEADING',
      /^LEADING=' {2}two spaces and a tab\\t' cannot go into a GitLab dotenv report: it holds white space at its start or end/,
    ],
    [
      'gitlab',
      'DOLLAR',
      /^DOLLAR='.*' cannot go into a GitLab dotenv report: it holds '\$' \(GitLab expands variables/,
    ],
    [
      'azure',
      'MACRO',
      /^MACRO='.*' cannot be set through ##vso\[task\.setvariable\]: Azure Pipelines expands '\$\(…\)' macros/,
    ],
  ])('%s refuses %s', (id, name, message) => {
    const variable = HARD.find((v) => v.name === name)!;
    let error: unknown;
    try {
      render(id, [HARD[0]!, variable]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FormatError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('\n');
  });

  test('the refused values really would be corrupted by the consumer (the refusal is not over-cautious)', () => {
    // GitLab strips the value and cuts it at the line break; Azure would expand $(id) later (not parseable here).
    const raw = (v: CiVariable): string => `${v.name}=${v.value}\n`;
    const leading = HARD.find((v) => v.name === 'LEADING')!;
    expect(gitlabDotenvReport(raw(leading)).LEADING).not.toBe(leading.value);
    const newline = HARD.find((v) => v.name === 'NEWLINE')!;
    expect(() => gitlabDotenvReport(raw(newline))).toThrow(/Invalid Format/);
  });
});

describe('format details', () => {
  test('every format is registered with sources', () => {
    expect(CI_FORMAT_IDS).toEqual(['gitlab', 'azure', 'buildkite', 'circleci', 'jenkins']);
  });

  test("azure escapes '%' before the agent's own mappings, so a literal %3B stays %3B", () => {
    expect(azureEscape('%3B;')).toBe('%AZP253B%3B');
    expect(azureAgent(`##vso[task.setvariable variable=X]${azureEscape('%3B;')}\n`).X).toBe('%3B;');
  });

  test("gitlab warns past GitLab's default limit of 20 variables", () => {
    const many = Array.from({ length: 21 }, (_, i) => ({ name: `V${i}`, value: '/t/x' }));
    expect(renderCiFormat('gitlab', many).warnings).toEqual([
      expect.stringMatching(/^21 variables: GitLab rejects a dotenv report with more than 20/),
    ]);
    expect(renderCiFormat('gitlab', many.slice(0, 20)).warnings).toEqual([]);
  });
});
