import { parseLeakInputs } from '../../../../src/action/leak-check.js';
import { annotations, failed, renderMarkdown, renderSarif, renderText } from '../../../../src/leak/reporting/report.js';
import type { Report } from '../../../../src/leak/types.js';

const report: Report = {
  input: 'oci:/tmp/app',
  findings: [],
  unscanned: [],
  notLookedInside: [
    { path: '/app/secret.zip!/inner/org.pem', reason: 'encrypted zip entry', image: 'linux/amd64', layer: 3 },
    {
      path: '/app/cut.jar',
      reason: 'zip archive could not be opened: End of central directory record signature not found.',
      image: 'linux/amd64',
      layer: 3,
    },
  ],
  stats: { images: 1, layers: 4, files: 120, nestedFiles: 3400, bytes: 5_000_000, ms: 900 },
};

describe('files not looked inside: a warning by default, a failure with strict, in every form', () => {
  test('failed()', () => {
    expect(failed(report)).toBe(false);
    expect(failed(report, true)).toBe(true);
    expect(failed({ ...report, notLookedInside: [] }, true)).toBe(false);
  });

  test('text', () => {
    const warn = renderText(report);
    expect(warn).toContain(
      'WARNING: not looked inside [linux/amd64] layer 3 /app/secret.zip!/inner/org.pem: encrypted zip entry',
    );
    expect(warn).toMatch(/^OK: .* 2 file\(s\) not looked inside \(a warning; --strict makes it fail\)\.$/m);
    expect(warn).toContain('(+3400 inside archives and compressed files)');
    const strict = renderText(report, true);
    expect(strict).toContain('NOT LOOKED INSIDE [linux/amd64] layer 3 /app/cut.jar: zip archive could not be opened');
    expect(strict).toMatch(/^FAILED: .* 2 file\(s\) not looked inside\.$/m);
  });

  test('job summary (Markdown, escaped)', () => {
    const md = renderMarkdown(report);
    expect(md).toContain('**Clean**');
    expect(md).toContain('**Warning**: not looked inside');
    expect(md).toContain('| linux/amd64 | 3 | /app/secret.zip&#33;/inner/org.pem | encrypted zip entry |');
    expect(renderMarkdown(report, true)).toContain('**Failed**');
  });

  test('annotations', () => {
    expect(annotations(report).map((a) => [a.level, a.title])).toEqual([
      ['warning', 'Not looked inside: /app/secret.zip!/inner/org.pem'],
      ['warning', 'Not looked inside: /app/cut.jar'],
    ]);
    expect(annotations(report, true).every((a) => a.level === 'error')).toBe(true);
  });

  test('SARIF', () => {
    const run = (
      renderSarif(report) as {
        runs: {
          results: {
            ruleId: string;
            level: string;
            locations: { physicalLocation: { artifactLocation: { uri: string } } }[];
          }[];
        }[];
      }
    ).runs[0]!;
    expect(run.results.map((r) => [r.ruleId, r.level, r.locations[0]!.physicalLocation.artifactLocation.uri])).toEqual([
      ['not-looked-inside', 'warning', 'app/secret.zip!/inner/org.pem'],
      ['not-looked-inside', 'warning', 'app/cut.jar'],
    ]);
    const strict = (renderSarif(report, undefined, true) as { runs: { results: { level: string }[] }[] }).runs[0]!;
    expect(strict.results.map((r) => r.level)).toEqual(['error', 'error']);
  });
});

describe('sub-action inputs for the nested scan', () => {
  const inputs = (over: Record<string, string>) =>
    parseLeakInputs((name) => ({ image: 'img.tar', ...over })[name] ?? '');
  test('defaults: not strict, no limits given', () => {
    expect(inputs({})).toMatchObject({ strict: false, limits: {} });
  });
  test('strict and bounds', () => {
    expect(inputs({ strict: 'true', 'max-depth': '3', 'max-nested-image-bytes': '2G' })).toMatchObject({
      strict: true,
      limits: { maxDepth: 3, maxNestedImageBytes: 2 * 1024 ** 3 },
    });
  });
  test('bad values name the input and quote the value', () => {
    expect(() => inputs({ strict: 'maybe' })).toThrow("strict 'maybe' is not a boolean: expected true or false");
    expect(() => inputs({ 'max-layer-bytes': 'big' })).toThrow("max-layer-bytes 'big' is not a size");
  });
});
