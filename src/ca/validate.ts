import { colonFingerprint, isIssuedBy, type Certificate } from './certificate.js';
import { CaInputError } from './parse.js';

const DAY_MS = 24 * 60 * 60 * 1000;
export const EXPIRY_WARNING_DAYS = 30;

export interface ValidatedCa {
  /** The certificates to trust, in input order, de-duplicated. */
  readonly certs: readonly Certificate[];
  /** The certificate the summary and outputs describe: the pinned one, else the first root, else the first. */
  readonly primary: Certificate;
  readonly warnings: readonly string[];
}

/** Normalises a SHA-256 pin (`AA:BB:…` or `aabb…`); throws on anything else. The pin is no secret, so it is quoted. */
export function parseFingerprint(value: string, inputName = 'ca-fingerprint'): string {
  const hex = value
    .trim()
    .replace(/^sha256[:/]/i, '')
    .replace(/[:\s]/g, '')
    .toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new CaInputError(
      `${inputName} '${value.trim()}' is not a SHA-256 fingerprint: expected 64 hex digits, with or without colons.`,
    );
  }
  return hex;
}

function describe(cert: Certificate): string {
  return `'${cert.subject}' (SHA-256 ${colonFingerprint(cert.fingerprint)})`;
}

/**
 * A pin limits trust (PIN_LIMITS): of the input, only the pinned certificate and the issuers it chains to (checked by
 * signature) are kept; every other certificate is dropped with a warning naming it, so a bundle of the org CA and
 * something else, pinned to the org CA, never trusts the something else.
 */
function pinnedChain(
  input: readonly Certificate[],
  pinValue: string,
  pinName: string,
): { keep: Certificate[]; dropped: string[] } {
  const pin = parseFingerprint(pinValue, pinName);
  const pinned = input.find((cert) => cert.fingerprint === pin);
  if (!pinned) {
    const got = input.map((cert) => colonFingerprint(cert.fingerprint)).join(', ');
    throw new CaInputError(
      `The CA's SHA-256 fingerprint does not match ${pinName} ${colonFingerprint(pin)}: the input has ${got}.`,
    );
  }
  const keep = [pinned];
  for (let current = pinned; !current.selfIssued;) {
    const issuer = input.find((other) => !keep.includes(other) && isIssuedBy(current, other));
    if (!issuer) break;
    keep.push(issuer);
    current = issuer;
  }
  const dropped = input
    .filter((cert) => !keep.some((kept) => kept.fingerprint === cert.fingerprint))
    .map(
      (cert) =>
        `${describe(cert)} was dropped: it is neither the certificate ${pinName} names nor an issuer of it, so it is not trusted.`,
    );
  return { keep, dropped };
}

/**
 * Checks that the input is something a TLS client may anchor on: CA certificates, valid now, matching the pin.
 * Problems that make trust impossible throw; things worth knowing come back as warnings. `pinName` is the option as
 * the caller spells it in messages: `ca-fingerprint` (action) or `--fingerprint` (CLI).
 */
export function validateCa(
  input: readonly Certificate[],
  options: { now: Date; pin?: string; pinName?: string },
): ValidatedCa {
  const { now } = options;
  if (input.length === 0) throw new CaInputError('The CA input holds no certificate.');
  const pinned =
    options.pin === undefined ? undefined : pinnedChain(input, options.pin, options.pinName ?? 'ca-fingerprint');
  const certs = pinned?.keep ?? input;

  for (const cert of certs) {
    if (!cert.isCa) {
      throw new CaInputError(
        `Certificate ${describe(cert)} is not a CA (basicConstraints CA:FALSE or absent): ` +
          "expected the organisation's root or issuing CA, not a server certificate.",
      );
    }
    if (cert.notAfter.getTime() < now.getTime()) {
      throw new CaInputError(
        `CA ${describe(cert)} expired on ${cert.notAfter.toISOString()}: expected a CA valid now; ask for the current one.`,
      );
    }
    if (cert.notBefore.getTime() > now.getTime()) {
      throw new CaInputError(
        `CA ${describe(cert)} is not valid before ${cert.notBefore.toISOString()}: check the clock, or the certificate.`,
      );
    }
  }

  const primary = pinned?.keep[0] ?? certs.find((cert) => cert.selfIssued) ?? certs[0]!;
  const warnings: string[] = [...(pinned?.dropped ?? [])];
  for (const cert of certs) {
    const daysLeft = Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY_MS);
    if (daysLeft < EXPIRY_WARNING_DAYS) {
      warnings.push(`CA ${describe(cert)} expires in ${daysLeft} day(s), on ${cert.notAfter.toISOString()}.`);
    }
    if (!cert.selfIssued && !certs.some((other) => other !== cert && isIssuedBy(cert, other))) {
      warnings.push(
        `CA ${describe(cert)} is an intermediate whose issuer '${cert.issuer}' was not given: ` +
          'clients that need the full chain (apt, Java) may still fail; add the root too.',
      );
    }
  }
  return { certs, primary, warnings };
}
