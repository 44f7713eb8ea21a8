/**
 * LOG_LINE for a run over several images: an image's error and its findings' paths come from a registry or an image,
 * so no line of the text report may start a workflow command or carry a terminal escape.
 */
import { failureReport, renderSweepText } from '../../../../src/leak/reporting/report.js';
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
