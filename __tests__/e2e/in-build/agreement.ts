/**
 * The lint and the leak check must agree: the lint passes a Dockerfile exactly where the leak check passes the image
 * it builds. This judges one built image both ways: `org-ca lint` over the Dockerfile and its build context (only the
 * org CA's family counting, as the leak check looks only for the org CA), and the leak check over the image pushed to
 * an OCI archive.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCertificates } from '../../../src/ca/parse.js';
import { failed } from '../../../src/leak/reporting/report.js';
import { checkImage } from '../../../src/leak/check.js';
import { loadTargets } from '../../../src/leak/scanning/targets.js';
import type { Report } from '../../../src/leak/types.js';
import { readBuildContext } from '../../../src/lint/context.js';
import { lintDockerfile, type LintResult } from '../../../src/lint/lint.js';
import { mustBuildah } from './buildah.js';

export interface Verdicts {
  readonly lint: LintResult;
  readonly leak: Report;
  /** Whether each check passes. */
  readonly lintPasses: boolean;
  readonly leakCheckPasses: boolean;
}

export async function judgeBoth(options: {
  dockerfile: string;
  context: string;
  tag: string;
  orgCaFile: string;
  work: string;
  target?: string;
}): Promise<Verdicts> {
  const archive = join(options.work, `${options.tag.replace(/[^A-Za-z0-9]+/g, '-')}.oci.tar`);
  await mustBuildah(['push', options.tag, `oci-archive:${archive}`]);
  const leak = await checkImage({ image: archive, spec: loadTargets({ caFile: options.orgCaFile }) });
  const org = { certs: parseCertificates(readFileSync(options.orgCaFile), 'org CA'), fingerprints: [] };
  const lint = lintDockerfile(readFileSync(options.dockerfile, 'utf8'), {
    context: readBuildContext(options.context, { dockerfile: options.dockerfile, org }),
    ...(options.target ? { target: options.target } : {}),
  });
  return { lint, leak, lintPasses: !lint.failed, leakCheckPasses: !failed(leak) };
}

/** One line per finding of either check, for a failure message that shows why they disagree. */
export function explain(v: Verdicts): string {
  return [
    `lint ${v.lintPasses ? 'passes' : 'fails'}: ${v.lint.findings.map((f) => `${f.severity} ${f.rule} line ${f.line}: ${f.message}`).join(' | ') || 'no findings'}`,
    `leak check ${v.leakCheckPasses ? 'passes' : 'fails'}: ${v.leak.findings.map((f) => `${f.kind} ${f.path}`).join(' | ') || 'no findings'}${v.leak.unscanned.length ? `; unscanned ${v.leak.unscanned.map((u) => u.what).join(', ')}` : ''}`,
  ].join('\n');
}
