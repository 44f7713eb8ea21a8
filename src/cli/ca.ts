import { writeFileSync } from 'node:fs';
import { certificatesPem } from '../ca/bundle.js';
import { colonFingerprint, type Certificate } from '../ca/certificate.js';
import { DEFAULT_PROBE_TIMEOUT_MS, DEFAULT_PROBE_URLS } from '../detect/detect.js';
import { byFingerprint, findOrgCaInOsStore, systemRoots } from '../detect/os-store-ca.js';
import { parseTarget } from '../detect/route.js';
import { oneOf, parseDuration } from '../options/parse.js';
import { logLine } from '../output/log-line.js';
import { didYouMean } from '../options/suggest.js';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command-kit.js';
import { present } from '../lang/present.js';

const FORMATS = ['pem', 'der'] as const;

const HELP = `Usage: org-ca ca export [URL...] [--fingerprint SHA256] [--format pem|der] [--out FILE]

Writes the org CA that your OS store already holds, for tools and CI systems that need it as a file
(org-ca env --ca FILE, Java keystores, a CI secret). It is the CA 'org-ca detect' reports as os-trusted:
  org-ca ca export --out org-root.pem          probe the URLs through HTTPS_PROXY, as detect does, and write the
                                               root that re-signs them, taken from the OS store
  org-ca ca export --fingerprint AB:CD:…       no network: the OS store's certificate with this SHA-256
Only a certificate from the OS store is ever written, never one a server sent.

Options:
  --fingerprint SHA256   pick the CA from the OS store by fingerprint instead of probing
  --format pem|der       pem (default; several CAs are concatenated) or der (one CA only; needs --out)
  --out FILE             write here (replaced if it exists) instead of standard output
  --timeout DURATION     one deadline for all probes (default ${DEFAULT_PROBE_TIMEOUT_MS / 1000}s)
  --public-roots FILE    more roots that mean "not inspected" (PEM)
  -h, --help             this help

URLs default to ${DEFAULT_PROBE_URLS.join(' ')}.

Exit status: 0 written; 1 no org CA in the OS store (not inspected, inspected by a CA the OS store does not hold,
or unreachable: each probe's verdict is printed); 2 usage or input error.`;

function describe(cert: Certificate): string {
  return `${cert.subject} (SHA-256 ${colonFingerprint(cert.fingerprint)})`;
}

export const caCommand: Command = {
  name: 'ca',
  summary: 'export the org CA your OS store already holds (the one detect reports), as PEM or DER',
  help: HELP,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub !== 'export')
      throw new UsageError(
        `ca: unknown subcommand '${sub ?? ''}'.${sub ? didYouMean(sub, ['export']) : ''} Expected: org-ca ca export (see 'org-ca ca --help')`,
      );
    const { values, positionals } = parseCommandArgs(
      'ca export',
      rest,
      {
        fingerprint: { type: 'string' },
        format: { type: 'string' },
        out: { type: 'string' },
        timeout: { type: 'string' },
        'public-roots': { type: 'string' },
      },
      true,
    );
    const format = oneOf('--format', values.format ?? '', FORMATS, 'pem');
    if (values.fingerprint && positionals.length)
      throw new UsageError('ca export: give URLs to probe or --fingerprint, not both');
    const timeoutMs = parseDuration('--timeout', values.timeout ?? '', DEFAULT_PROBE_TIMEOUT_MS);
    for (const url of positionals) parseTarget(url);
    if (format === 'der' && !values.out) throw new UsageError('ca export: --format der is binary: give --out FILE');

    let certs: readonly Certificate[];
    if (values.fingerprint) {
      certs = [byFingerprint(systemRoots(), values.fingerprint)];
    } else {
      const found = await findOrgCaInOsStore({
        urls: positionals.length ? positionals : [...DEFAULT_PROBE_URLS],
        env: process.env,
        timeoutMs,
        ...present({ publicRootsFile: values['public-roots'] }),
        now: new Date(),
      });
      for (const line of found.seen) process.stderr.write(`org-ca ca export: ${logLine(line)}\n`);
      certs = found.certs;
    }
    if (format === 'der' && certs.length > 1) {
      throw new UsageError(
        `ca export: --format der holds one certificate, and ${certs.length} were found (${certs.map(describe).join('; ')}); use --format pem or pick one with --fingerprint`,
      );
    }
    const bytes = format === 'der' ? certs[0]!.der : Buffer.from(certificatesPem(certs));
    if (values.out) writeFileSync(values.out, bytes, { mode: 0o644 });
    else process.stdout.write(bytes);
    for (const cert of certs)
      process.stderr.write(
        `org-ca ca export: ${values.out ? `wrote to ${logLine(values.out)}` : 'wrote'}: ${logLine(describe(cert))}\n`,
      );
    return EXIT.ok;
  },
};
