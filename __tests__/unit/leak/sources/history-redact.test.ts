import { tidyInstruction } from '../../../../src/leak/sources/image.js';
import { redactCertificateText as redact } from '../../../../src/output/redact.js';
import { mintRoot } from '../../../support/pki.js';

const SHA = 'f'.repeat(8) + '0123456789abcdef'.repeat(3) + '01234567';

describe('history redaction', () => {
  test.each([
    [`/bin/sh -c #(nop) COPY file:${SHA} in /app/ `, `COPY file:${SHA} in /app/`],
    [`/bin/sh -c #(nop) ADD dir:${SHA} in /srv `, `ADD dir:${SHA} in /srv`],
    [`COPY --from=sha256:${SHA} /out /out`, `COPY --from=sha256:${SHA} /out /out`],
  ])('a content digest stays readable: %s', (createdBy, shown) => {
    expect(SHA).toHaveLength(64);
    expect(tidyInstruction(createdBy)).toBe(shown);
  });

  test('certificate text and long base64 are still redacted, also a hex run that is no digest', () => {
    const root = mintRoot({ cn: 'Redact Root' });
    const b64 = root.der.toString('base64');
    expect(redact(`RUN echo ${root.certPem.trim()} > /ca.pem`)).toBe(
      'RUN echo -----BEGIN CERTIFICATE----- [redacted] -----END CERTIFICATE----- > /ca.pem',
    );
    expect(redact(`ARG ORG_CA=${b64}`)).toBe('ARG ORG_CA=[redacted base64]');
    // base64 that happens to follow `file:` is not a digest: only 64 or 128 lower-case hex digits are
    expect(redact(`COPY file:${b64}`)).toBe('COPY file:[redacted base64]');
    expect(redact(`RUN echo ${SHA}${SHA.slice(0, 10)}`)).toBe('RUN echo [redacted base64]');
  });
});
