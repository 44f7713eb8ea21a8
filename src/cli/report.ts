import { writeFileSync } from 'node:fs';
import { mergeShards, readShardReport } from '../leak/fanout/shard-report.js';
import { renderSweepSarif, renderSweepText } from '../leak/reporting/report.js';
import { didYouMean } from '../options/suggest.js';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command-kit.js';

const HELP = `Usage: org-ca report merge SHARD-REPORT... [--json] [--report FILE] [--sarif FILE]

Joins the reports of the shards of one leak-check run (leak-check --shard I/N --report FILE, one per CI job) into
the run's report: a verdict per image and per layer, the same as one leak-check over all the images gives.

Refused, in one line, when a shard is missing or given twice, or a report is of another run (other images, a tag
that moved between the shards' listings, another CA, other limits, another org-ca version), damaged, or holds
layers outside its share: a run is never judged clean for want of a shard.

Options:
  --json          print the merged report as JSON on standard output
  --report FILE   write the merged JSON report to FILE
  --sarif FILE    write SARIF 2.1.0 (for github/codeql-action/upload-sarif)
  -h, --help      this help

Exit status: 0 every image is clean; 1 an image leaks or could not be read; 2 usage error, or the shard reports do
not make one whole run.`;

export const reportCommand: Command = {
  name: 'report',
  summary: 'merge the shard reports of a leak-check run fanned out over CI jobs',
  help: HELP,
  run(argv) {
    const [sub, ...rest] = argv;
    if (sub !== 'merge')
      throw new UsageError(
        `report: unknown subcommand '${sub ?? ''}'.${sub ? didYouMean(sub, ['merge']) : ''} Expected: org-ca report merge SHARD-REPORT... (see 'org-ca report --help')`,
      );
    const { values, positionals } = parseCommandArgs(
      'report merge',
      rest,
      { json: { type: 'boolean' }, report: { type: 'string' }, sarif: { type: 'string' } },
      true,
    );
    if (positionals.length === 0)
      throw new UsageError(
        "expected the shard reports: org-ca report merge SHARD-REPORT... (see 'org-ca report --help')",
      );
    const { sweep: merged, strict } = mergeShards(positionals.map((file) => ({ file, report: readShardReport(file) })));
    if (values.sarif) writeFileSync(values.sarif, JSON.stringify(renderSweepSarif(merged, strict), null, 2) + '\n');
    if (values.report) writeFileSync(values.report, JSON.stringify(merged, null, 2) + '\n');
    process.stdout.write(values.json ? JSON.stringify(merged, null, 2) + '\n' : renderSweepText(merged, strict) + '\n');
    return Promise.resolve(merged.images.every((i) => i.verdict === 'clean') ? EXIT.ok : EXIT.failed);
  },
};
