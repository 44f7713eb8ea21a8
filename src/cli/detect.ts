import { loadCaArgument } from './ca-options.js';
import type { ValidatedCa } from '../ca/validate.js';
import { parseDuration } from '../options/parse.js';
import { DEFAULT_PROBE_TIMEOUT_MS, DEFAULT_PROBE_URLS, detect } from '../detect/detect.js';
import { formatText, toJson } from '../detect/probe-report.js';
import { parseTarget } from '../detect/route.js';
import { publicRoots, systemRoots } from '../detect/trust.js';
import { EXIT, parseCommandArgs, type Command } from './command-kit.js';

const HELP = `Usage: org-ca detect [URL...] [--ca FILE] [--json] [--timeout DURATION] [--public-roots FILE]

Opens a TLS connection to each URL the way your tools do (through HTTPS_PROXY with NO_PROXY honoured,
or directly), reads the certificate chain without trusting it, and says who signed it:
  direct       anchors in a public root (Node's bundled Mozilla roots, plus --public-roots)
  org-ca       anchors in the CA given with --ca (or an intermediate of it): inspected by your organisation
  os-trusted   anchors in a root your OS store trusts that is not public: inspected, the CA is in the OS store
  unknown      anchors nowhere known: inspected by someone whose CA you were not given
  unreachable  no handshake (DNS, refused, timeout, proxy 407/403, TLS alert), with the reason
Each chain is printed as presented: subject, issuer, SHA-256, validity.

URLs default to ${DEFAULT_PROBE_URLS.join(' ')}.

Options:
  --ca FILE              the org CA: PEM, DER, base64 or .p7b; - reads standard input
  --json                 print a JSON array instead of text
  --timeout DURATION     one deadline for all probes, 100ms to 2m (default ${DEFAULT_PROBE_TIMEOUT_MS / 1000}s; e.g. 1500ms, 10s;
                         a bare number is seconds)
  --public-roots FILE    more roots that mean "not inspected" (PEM)
  -h, --help             this help

Exit status: 0 when every URL is direct, org-ca or os-trusted; 1 when any is unknown or unreachable; 2 usage or
input error.`;

export const detectCommand: Command = {
  name: 'detect',
  summary: 'probe URLs through the proxy and say whether (and by whom) TLS is inspected',
  help: HELP,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(
      'detect',
      argv,
      {
        ca: { type: 'string' },
        json: { type: 'boolean' },
        timeout: { type: 'string' },
        'public-roots': { type: 'string' },
      },
      true,
    );
    const urls = positionals.length ? positionals : [...DEFAULT_PROBE_URLS];
    const timeoutMs = parseDuration('--timeout', values.timeout ?? '', DEFAULT_PROBE_TIMEOUT_MS);
    for (const url of urls) parseTarget(url);
    const now = new Date();
    let ca: ValidatedCa | undefined;
    if (values.ca) {
      ca = loadCaArgument(values.ca, now);
      for (const warning of ca.warnings) process.stderr.write(`org-ca detect: ${warning}\n`);
    }
    const verdicts = await detect({
      urls,
      env: process.env,
      timeoutMs,
      trust: {
        org: ca?.certs ?? [],
        public: publicRoots(values['public-roots'], '--public-roots'),
        system: systemRoots,
      },
      now,
    });
    process.stdout.write(values.json ? `${JSON.stringify(toJson(verdicts), null, 2)}\n` : formatText(verdicts));
    return verdicts.every((v) => v.verdict === 'direct' || v.verdict === 'org-ca' || v.verdict === 'os-trusted')
      ? EXIT.ok
      : EXIT.failed;
  },
};
