/**
 * LOG_LINE for a run over several images: an image's error and its findings' paths come from a registry or an image,
 * so no line of the text report may start a workflow command or carry a terminal escape.
 */
import { failureReport, renderSweepMarkdown, renderSweepText } from '../../../../src/leak/reporting/report.js';
import type { Report, SweepReport } from '../../../../src/leak/types.js';

const leaking: Report = {
  input: 'registry:r.example/app:1',
  findings: [
    {
      kind: 'pem',
      fingerprint: 'f'.repeat(64),
      path: '/etc/ssl/x\n::add-mask::\u001b[31mred.pem',
      visibility: 'final',
      message: 'The CA is in /etc/ssl/x\n::set-env name=NODE_OPTIONS::--require=/tmp/x.js',
      layer: { index: 0, digest: `sha256:${'1'.repeat(64)}` },
    },
  ],
  unscanned: [],
  notLookedInside: [],
  stats: { images: 1, layers: 1, files: 1, nestedFiles: 0, bytes: 1, ms: 1 },
};
const sweep: SweepReport = {
  inputs: ['registry:r.example/app'],
  images: [
    { image: 'registry:r.example/app:1', verdict: 'leak', report: leaking },
    {
      image: 'registry:r.example/app:2\n::warning::forged',
      verdict: 'unreadable',
      report: failureReport(
        'registry:r.example/app:2',
        "holds no image 'x' (it holds: a\n::error::forged\n##vso[task.setvariable]b)",
      ),
    },
  ],
  layers: [{ digest: `sha256:${'1'.repeat(64)}`, verdict: 'leak', images: ['registry:r.example/app:1\r::notice::x'] }],
  stats: { images: 2, layers: 1, layersRead: 1, ms: 10 },
};

test('no line starts a workflow command, and no escape reaches the terminal', () => {
  const text = renderSweepText(sweep);
  const lines = text.split('\n');
  expect(lines.filter((l) => /^\s*(::|##vso\[|##\[)/.test(l))).toEqual([]);
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
  // What was hostile is still said, escaped: nothing is dropped.
  expect(text).toContain('forged');
  expect(lines[0]).toMatch(/^LEAK +registry:r\.example\/app:1$/);
  expect(lines[1]).toMatch(/^NOT SCANNED registry:r\.example\/app:2/);
});

test('the job summary of a run: a row per image, hostile names kept inside their cells', () => {
  const markdown = renderSweepMarkdown(sweep);
  const rows = markdown.split('\n').filter((l) => /^\| (<code>|`sha256)/.test(l));
  // One row per image and one per leaking layer; a name's line break or pipe cannot open another row or cell.
  expect(rows).toHaveLength(3);
  for (const row of rows) expect(row.split(/(?<!\\)\|/).length).toBe(row.includes('sha256') ? 4 : 6);
  expect(markdown).toMatch(/^\*\*Failed\*\*: 2 of 2 image\(s\) leak or could not be read\.$/m);
  expect(markdown).toContain('### <code>registry:r.example/app:1</code>');
  expect(markdown).not.toMatch(/^::/m);
});
