import { colonFingerprint } from '../../ca/certificate.js';
import { CaInputError } from '../../ca/parse.js';
import { redactCertificateText } from '../../output/redact.js';
import type { Finding, MatchKind, Report, SweepReport, Verdict } from '../types.js';
import { escapeMarkdown, markdownCode } from '../../output/markdown.js';
import { logLine } from '../../output/log-line.js';

/** Renderings of a Report: terminal text, job-summary Markdown, annotations (data), SARIF 2.1.0. Pure. */

/** Leaks and unreadable parts always fail; files that could not be looked inside fail only in strict mode. */
export function failed(report: Report, strict = false): boolean {
  return (
    report.error !== undefined ||
    report.findings.length > 0 ||
    report.unscanned.length > 0 ||
    (strict && notLookedInside(report).length > 0)
  );
}

/** One word for a report: a finding is a leak; else anything that fails the check is unreadable; else clean. */
export function verdictOf(report: Report, strict = false): Verdict {
  return report.findings.length ? 'leak' : failed(report, strict) ? 'unreadable' : 'clean';
}

/** Older reports (and hand-made ones) may lack the field. */
function notLookedInside(report: Report): Report['notLookedInside'] {
  return report.notLookedInside ?? [];
}

function nlWhere(n: Report['notLookedInside'][number]): string {
  return `${n.image ? `[${n.image}] ` : ''}${n.layer !== undefined ? `layer ${n.layer} ` : ''}${n.path}`;
}

/**
 * An error as one line for the report files and the summary. The CA input's messages quote the bad value (a
 * fingerprint token, say), which may be certificate text pasted into the wrong input: those are redacted.
 */
export function safeMessage(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ');
  return error instanceof CaInputError ? redactCertificateText(message) : message;
}

/** The report of a check that could not run: the same files and outputs as any other, saying why. */
export function failureReport(input: string, error: string): Report {
  return { ...emptyReport(input), error };
}

export function emptyReport(input: string): Report {
  return {
    input,
    findings: [],
    unscanned: [],
    notLookedInside: [],
    stats: { images: 0, layers: 0, files: 0, nestedFiles: 0, bytes: 0, ms: 0 },
  };
}

function where(f: Finding): string {
  return f.layer
    ? `layer ${f.layer.index} ${f.layer.digest.slice(0, 19)}`
    : f.visibility === 'config'
      ? 'image config'
      : 'archive';
}

export function renderText(report: Report, strict = false): string {
  const lines: string[] = [];
  if (report.error !== undefined) return logLine(`FAILED: ${report.input ? `${report.input}: ` : ''}${report.error}`);
  const s = report.stats;
  const inside = s.nestedFiles ? ` (+${s.nestedFiles} inside archives and compressed files)` : '';
  lines.push(
    `org-ca leak-check: ${report.input}: ${s.images} image(s), ${s.layers} layer(s), ${s.files} file(s)${inside}, ${(s.bytes / 1e6).toFixed(1)} MB in ${(s.ms / 1000).toFixed(1)} s`,
  );
  for (const f of report.findings) {
    lines.push(
      `LEAK ${f.kind.padEnd(15)} ${where(f).padEnd(28)} ${f.visibility.padEnd(11)} ${f.image ? `[${f.image}] ` : ''}${f.path}`,
    );
    lines.push(`     ${f.message}`);
  }
  for (const u of report.unscanned) lines.push(`NOT SCANNED ${u.what}: ${u.reason}`);
  const unopened = notLookedInside(report);
  for (const n of unopened)
    lines.push(`${strict ? 'NOT LOOKED INSIDE' : 'WARNING: not looked inside'} ${nlWhere(n)}: ${n.reason}`);
  const warn = unopened.length
    ? ` ${unopened.length} file(s) not looked inside${strict ? '' : ' (a warning; --strict makes it fail)'}.`
    : '';
  if (!failed(report, strict)) lines.push(`OK: the CA was not found anywhere in the image.${warn}`);
  else
    lines.push(
      `FAILED: ${report.findings.length} leak(s), ${report.unscanned.length} part(s) not scanned (a part that cannot be read is never counted clean).${warn}`,
    );
  // File names and messages come from the image: one printable line each, for the terminal and the job log.
  return lines.map(logLine).join('\n');
}

export function renderMarkdown(report: Report, strict = false, heading = '## org-ca leak check'): string {
  const lines = [heading, ''];
  if (report.error !== undefined) {
    lines.push(
      `**Could not check**${report.input ? ` ${markdownCode(report.input)}` : ''}: ${escapeMarkdown(report.error)}`,
      '',
      'Nothing was scanned, so nothing is counted clean: fix the input and run the check again.',
      '',
    );
    return lines.join('\n');
  }
  lines.push(
    failed(report, strict)
      ? `**Failed**: ${report.findings.length} leak(s), ${report.unscanned.length} part(s) not scanned in ${markdownCode(report.input)}.`
      : `**Clean**: the CA is nowhere in ${markdownCode(report.input)} (${report.stats.layers} layers, ${report.stats.files} files).`,
    '',
  );
  if (report.findings.length) {
    lines.push(
      '| Kind | Image | Layer | Instruction | Path | Visible | Certificate |',
      '|---|---|---|---|---|---|---|',
    );
    for (const f of report.findings) {
      lines.push(
        `| ${f.kind} | ${escapeMarkdown(f.image ?? '')} | ${f.layer ? `${f.layer.index} \`${f.layer.digest.slice(7, 19)}\`` : ''} | ${escapeMarkdown((f.layer?.instruction ?? '').slice(0, 80))} | ${escapeMarkdown(f.path)} | ${f.visibility} | ${f.fingerprint ? `${escapeMarkdown(f.subject ?? '')} \`${colonFingerprint(f.fingerprint).slice(0, 23)}…\`` : ''} |`,
      );
    }
    lines.push('');
  }
  if (report.unscanned.length) {
    lines.push('| Not scanned | Why |', '|---|---|');
    for (const u of report.unscanned) lines.push(`| ${escapeMarkdown(u.what)} | ${escapeMarkdown(u.reason)} |`);
    lines.push('');
  }
  const unopened = notLookedInside(report);
  if (unopened.length) {
    lines.push(
      `${strict ? '**Not looked inside** (fails with strict):' : '**Warning**: not looked inside (set `strict` to fail on these):'}`,
      '',
    );
    lines.push('| Image | Layer | File | Why |', '|---|---|---|---|');
    for (const n of unopened)
      lines.push(
        `| ${escapeMarkdown(n.image ?? '')} | ${n.layer ?? ''} | ${escapeMarkdown(n.path)} | ${escapeMarkdown(n.reason)} |`,
      );
    lines.push('');
  }
  return lines.join('\n');
}

/** The last lines of a failed check's summary: what to do about it. Pure. */
export function fixMarkdown(failure: { readonly leaks: number; readonly unscanned: number }): string {
  const lines: string[] = [];
  if (failure.leaks > 0) {
    lines.push(
      '**Fix**: use the CA only in a builder stage, through a BuildKit secret mount ' +
        '(`RUN --mount=type=secret,id=org_ca --mount=type=bind,from=org-ca,target=/org-ca /org-ca/with-org-ca npm ci`), ' +
        'copy only build outputs into the release stage, and rebuild; `org-ca lint Dockerfile --target <release stage>` names the instruction.',
    );
  }
  if (failure.unscanned > 0) {
    lines.push(
      '**Fix** for the parts not scanned: a part that cannot be read is never counted clean; export the image again ' +
        '(`docker save`, `skopeo copy … oci-archive:`), check the archive is complete, and run the check on it.',
    );
  }
  return lines.join('\n\n');
}

export interface Annotation {
  readonly level: 'error' | 'warning';
  readonly title: string;
  readonly message: string;
}

export function annotations(report: Report, strict = false): Annotation[] {
  return [
    ...report.findings.map((f) => ({
      level: 'error' as const,
      title: `CA leak (${f.kind}) at ${f.path}`,
      message: f.message,
    })),
    ...report.unscanned.map((u) => ({
      level: 'error' as const,
      title: `Not scanned: ${u.what}`,
      message: `${u.what}: ${u.reason}. A part that cannot be read fails the check.`,
    })),
    ...notLookedInside(report).map((n) => ({
      level: strict ? ('error' as const) : ('warning' as const),
      title: `Not looked inside: ${n.path}`,
      message: `${nlWhere(n)}: ${n.reason}. ${strict ? 'strict: this fails the check.' : 'The CA could hide there unseen; set strict to fail on this.'}`,
    })),
  ];
}

const RULES: Record<MatchKind | 'not-scanned' | 'not-looked-inside', string> = {
  pem: 'The CA certificate as PEM',
  'pem-same-key': 'A certificate with the CA key (re-issued or cross-signed), PEM',
  der: 'The CA certificate as DER bytes',
  'der-same-key': 'A certificate with the CA key, DER',
  'public-key': 'The CA public key',
  'pem-body': 'The CA PEM body without its BEGIN line',
  'base64-der': 'base64 of the CA DER',
  'base64-der-same-key': 'base64 of a certificate with the CA key',
  'base64-public-key': 'base64 of the CA public key',
  'base64-pem': 'base64 of the CA PEM',
  'pem-intermediate': 'An intermediate CA the org CA signed (a trust anchor for Java, Go and Node), PEM',
  'der-intermediate': 'An intermediate CA the org CA signed, DER',
  'base64-der-intermediate': 'base64 of an intermediate CA the org CA signed',
  'base64-pem-intermediate': 'base64 of the PEM of an intermediate CA the org CA signed',
  jks: 'The CA in a Java keystore',
  pkcs12: 'The CA in a PKCS#12 store',
  'jks-intermediate': 'An intermediate CA the org CA signed, in a Java keystore',
  'pkcs12-intermediate': 'An intermediate CA the org CA signed, in a PKCS#12 store',
  'pointer-inline': 'A CA setting holding certificate text',
  'pointer-to-ca': 'A CA setting naming a file that holds the CA',
  'pointer-missing': 'A CA setting naming a file absent from the image',
  'not-scanned': 'A part of the image that could not be read',
  'not-looked-inside': 'An archive or compressed file inside the image that could not be opened',
};

/** Notification descriptors (toolExecutionNotifications refer to them by id). */
const NOTIFICATIONS: Record<string, string> = {
  'input-error': 'The image could not be checked at all (a bad input or an unreadable image): the check fails closed.',
  'not-scanned': 'A part of the image could not be read: it is not counted clean.',
};

/**
 * SARIF 2.1.0 for github/codeql-action/upload-sarif. Image paths are inside the image, so they carry their own base
 * id. `extra` adds another tool's rules and results to the same run (the action adds the Dockerfile lint's).
 */
export interface SarifExtra {
  /** More rules and results for the same run (the Dockerfile lint's, composed by the caller). */
  readonly rules: readonly object[];
  readonly results: readonly object[];
}

export function renderSarif(report: Report, extra?: SarifExtra, strict = false): object {
  const result = (
    ruleId: MatchKind | 'not-scanned' | 'not-looked-inside',
    text: string,
    uri: string,
    key: string,
    level: 'error' | 'warning' = 'error',
  ): object => ({
    ruleId,
    level,
    message: { text },
    locations: [
      { physicalLocation: { artifactLocation: { uri: uri.replace(/^\/+/, '') || 'image', uriBaseId: 'IMAGE' } } },
    ],
    partialFingerprints: { 'orgCaLeak/v1': key },
  });
  return {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'org-ca leak-check',
            rules: [
              ...Object.entries(RULES).map(([id, text]) => ({
                id,
                shortDescription: { text },
                defaultConfiguration: { level: id === 'not-looked-inside' && !strict ? 'warning' : 'error' },
              })),
              ...(extra?.rules ?? []),
            ],
            notifications: Object.entries(NOTIFICATIONS).map(([id, text]) => ({
              id,
              shortDescription: { text },
              defaultConfiguration: { level: 'error' },
            })),
          },
        },
        // An unreadable image or a bad input is a run that did not execute successfully, with the reason as a tool
        // notification (SARIF 2.1.0 §3.20.14, §3.20.21): upload-sarif still gets a valid file, and a reader sees why.
        // A part that could not be read is a result (an alert) and also a notification: the run did not fully succeed.
        invocations: [
          {
            executionSuccessful: report.error === undefined && report.unscanned.length === 0,
            toolExecutionNotifications: [
              ...(report.error === undefined
                ? []
                : [{ level: 'error', message: { text: report.error }, descriptor: { id: 'input-error' } }]),
              ...report.unscanned.map((u) => ({
                level: 'error',
                message: { text: `${u.what}: ${u.reason}` },
                descriptor: { id: 'not-scanned' },
              })),
            ],
          },
        ],
        originalUriBaseIds: { IMAGE: { description: { text: `Inside the image ${report.input}` } } },
        results: [
          ...report.findings.map((f) =>
            result(
              f.kind,
              f.message,
              f.path.startsWith('config') || f.path.startsWith('history') ? 'image-config' : f.path,
              `${f.kind}|${f.path}|${f.layer?.digest ?? ''}|${f.fingerprint}`,
            ),
          ),
          ...report.unscanned.map((u) =>
            result('not-scanned', `${u.what}: ${u.reason}`, 'image', `not-scanned|${u.what}`),
          ),
          ...(extra?.results ?? []),
          ...notLookedInside(report).map((n) =>
            result(
              'not-looked-inside',
              `Not looked inside ${nlWhere(n)}: ${n.reason}`,
              n.path.replace(/^[^/]*: /, ''),
              `not-looked-inside|${n.path}|${n.layer ?? ''}`,
              strict ? 'error' : 'warning',
            ),
          ),
        ],
      },
    ],
  };
}

/**
 * A run over several images as text: one line per image, the report of every image that is not clean, then each
 * leaking layer with the images that ship it. Image names and errors can come from a registry or an image: every
 * line goes through the log-line sink, as renderText's do.
 */
export function renderSweepText(sweep: SweepReport, strict = false): string {
  const word = { clean: 'CLEAN', leak: 'LEAK', unreadable: 'NOT SCANNED' } as const;
  const lines = sweep.images.map((i) => logLine(`${word[i.verdict].padEnd(11)} ${i.image}`));
  for (const i of sweep.images)
    if (i.verdict !== 'clean') lines.push('', logLine(`== ${i.image}`), renderText(i.report, strict));
  const leaking = sweep.layers.filter((l) => l.verdict === 'leak');
  if (leaking.length) lines.push('', 'Layers that hold the CA, and the images that ship them:');
  for (const l of leaking) lines.push(logLine(`  ${l.digest}: ${l.images.join(', ')}`));
  const bad = sweep.images.filter((i) => i.verdict !== 'clean').length;
  lines.push(
    '',
    `${sweep.stats.images} image(s), ${sweep.stats.layers} distinct layer(s), ${sweep.stats.layersRead} read, in ${(sweep.stats.ms / 1000).toFixed(1)} s: ${bad ? `FAILED: ${bad} image(s) leak or could not be read` : 'every image is clean'}.`,
  );
  return lines.join('\n');
}

/** The job summary of a run over several images: a verdict per image, the leaking layers, then each failing image. */
export function renderSweepMarkdown(sweep: SweepReport, strict = false): string {
  const word = { clean: 'clean', leak: '**LEAK**', unreadable: '**not scanned**' } as const;
  const bad = sweep.images.filter((i) => i.verdict !== 'clean');
  const lines = [
    `## org-ca leak check: ${sweep.stats.images} image(s)`,
    '',
    bad.length
      ? `**Failed**: ${bad.length} of ${sweep.stats.images} image(s) leak or could not be read.`
      : `**Clean**: the CA is in none of the ${sweep.stats.images} image(s) (${sweep.stats.layers} distinct layers).`,
    '',
    '| Image | Verdict | Layers | Findings |',
    '|---|---|---|---|',
    ...sweep.images.map(
      (i) =>
        `| ${markdownCode(i.image)} | ${word[i.verdict]} | ${i.report.stats.layers} | ${i.report.findings.length} |`,
    ),
    '',
  ];
  const leaking = sweep.layers.filter((l) => l.verdict === 'leak');
  if (leaking.length) {
    lines.push('### Layers that hold the CA', '', '| Layer | Shipped by |', '|---|---|');
    for (const l of leaking)
      lines.push(`| \`${l.digest.slice(0, 19)}\` | ${l.images.map((i) => markdownCode(i)).join(', ')} |`);
    lines.push('');
  }
  for (const i of bad) lines.push(renderMarkdown(i.report, strict, `### ${markdownCode(i.image)}`));
  return lines.join('\n');
}

/** One SARIF log for a run over several images: one run per image. */
export function renderSweepSarif(sweep: SweepReport, strict = false, extra?: SarifExtra): unknown {
  const logs = sweep.images.map(
    (i, n) => renderSarif(i.report, n === 0 ? extra : undefined, strict) as { runs: unknown[] },
  );
  return { ...(logs[0] ?? {}), runs: logs.flatMap((l) => l.runs) };
}
