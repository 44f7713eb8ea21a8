import { LEAK_FIX } from '../ca-pointers/fix.js';

/**
 * The lint's rules: stable ids (OCA1xx, never reused), a short name that may also be used to ignore a rule, what it
 * flags, why that puts the CA into an image, and the fix. One table, read by the finder, the reports and docs/lint.md.
 */
export type RuleId =
  'OCA101' | 'OCA102' | 'OCA103' | 'OCA104' | 'OCA105' | 'OCA106' | 'OCA107' | 'OCA108' | 'OCA109' | 'OCA110';

export interface Rule {
  readonly id: RuleId;
  readonly name: string;
  readonly what: string;
  readonly why: string;
  readonly fix: string;
}

// The image check says its fix inside a sentence ("… Fix: use …"); a finding's own `fix` field is the bare advice.
const USE_A_SECRET = LEAK_FIX.replace(/^Fix:\s*(.)/, (_m, first: string) => first.toUpperCase());

export const RULES: readonly Rule[] = [
  {
    id: 'OCA101',
    name: 'copy-ca-file',
    what: 'COPY/ADD brings a CA certificate into the image: into a trust path, under a CA-like name, a file a later step uses as a CA, or (with --context) a file that parses as a CA certificate.',
    why: 'A file copied in stays in that layer for good, even if a later step deletes it.',
    fix: USE_A_SECRET,
  },
  {
    id: 'OCA102',
    name: 'write-ca-file',
    what: 'RUN downloads or writes a CA certificate into the file system (wget -O/-P, curl -o, cp, tee, echo > … into a trust path, or a file later used as a CA) and leaves it there.',
    why: 'The file is part of the layer that RUN creates.',
    fix: USE_A_SECRET,
  },
  {
    id: 'OCA103',
    name: 'trust-store-update',
    what: 'update-ca-certificates, update-ca-trust, trust anchor or c_rehash run after a CA was added in this stage or its FROM chain.',
    why: 'The regenerated bundle (/etc/ssl/certs/ca-certificates.crt and friends) then holds the CA. A bare update, --fresh, or the distribution ca-certificates package alone add nothing and are not flagged.',
    fix: USE_A_SECRET,
  },
  {
    id: 'OCA104',
    name: 'keystore-import',
    what: 'keytool -importcert or certutil -A adds a certificate that is not one of the distribution roots to a Java or NSS store.',
    why: 'The keystore file (cacerts) in that layer holds the CA.',
    fix: USE_A_SECRET,
  },
  {
    id: 'OCA105',
    name: 'secret-to-disk',
    what: 'RUN copies a CA secret mount (or a secret mounted into a trust directory) to the file system and does not remove it in the same RUN.',
    why: 'A secret mount is never in a layer; a copy of it is.',
    fix: 'Read the secret in place (with-org-ca reads /run/secrets/org_ca itself), or remove every copy (and regenerate the bundle) within the same RUN.',
  },
  {
    id: 'OCA106',
    name: 'copy-from-stage',
    what: 'COPY --from=<stage> (or a RUN bind mount from a stage) brings a path of that stage that holds a CA: its SRC names the file, a directory containing it, or a glob matching it.',
    why: 'Only what COPY --from names reaches the release image; when that is a CA file or a bundle regenerated with one, the CA goes with it.',
    fix: 'Copy build outputs only, or copy the bundle from a stage that installed nothing but the distribution ca-certificates package.',
  },
  {
    id: 'OCA107',
    name: 'arg-ca',
    what: 'An ARG that carries certificate text is in scope of a later RUN.',
    why: 'BuildKit records the value of every ARG in scope in the history of each later RUN (RUN |N NAME=…), readable by anyone who pulls the image.',
    fix: 'Pass the CA as a secret (--secret id=org_ca,src=…) and read it with RUN --mount=type=secret, never as a build argument.',
  },
  {
    id: 'OCA108',
    name: 'ca-in-source',
    what: 'Certificate text (-----BEGIN CERTIFICATE-----) is written inline in the Dockerfile.',
    why: 'It ends up in the layer and in the build history and provenance.',
    fix: USE_A_SECRET,
  },
  {
    id: 'OCA109',
    name: 'ca-pointer',
    what: "ENV or a persistent tool setting (npm/yarn/pip/git config) in the release image names a CA file other than the image's own system bundle.",
    why: 'The leak check fails it too: the file it names either holds a CA added for the build or is missing at run time (tools then fail, or trust whatever is put there).',
    fix: 'Set CA variables only for the build command that needs them (with-org-ca in a builder stage); point at the system bundle (/etc/ssl/certs/ca-certificates.crt) if anything.',
  },
  {
    id: 'OCA110',
    name: 'ca-file-in-image',
    what: 'A tool flag or variable (pip --cert, curl --cacert, NODE_EXTRA_CA_CERTS=… cmd, keytool -file …) uses a file of the image as a CA, and no COPY/ADD of this Dockerfile explains where it came from.',
    why: 'The flag proves the file is a CA; it is not a mount, so it is in the image (from the base image or an earlier step).',
    fix: USE_A_SECRET,
  },
];

export function ruleById(id: RuleId): Rule {
  return RULES.find((r) => r.id === id)!;
}

/** A rule by id (OCA101, case-insensitive) or by name (copy-ca-file). */
export function findRule(idOrName: string): Rule | undefined {
  const key = idOrName.trim().toLowerCase();
  return RULES.find((r) => r.id.toLowerCase() === key || r.name === key);
}
