/**
 * Every value of the action's `reason` output, with what it means. The one list: decide.ts returns only these (the
 * type says so), action.yml's description and the table in docs/how-it-decides.md are tested against it.
 */
export interface ReasonInfo {
  readonly code: string;
  /** Whether the CA is injected when this is the reason. */
  readonly injected: boolean;
  /** Whether the step fails with this reason (unless the option named in `meaning` downgrades it). */
  readonly fails: boolean;
  readonly meaning: string;
}

export const REASONS = [
  {
    code: 'inspected-org-ca',
    injected: true,
    fails: false,
    meaning: 'a probe saw TLS re-signed by the CA given (`when: auto`)',
  },
  {
    code: 'inspected-os-trusted',
    injected: true,
    fails: false,
    meaning:
      'no CA was given and a probe saw TLS re-signed by a non-public root the OS store trusts: that root is exported and injected',
  },
  {
    code: 'not-inspected',
    injected: false,
    fails: false,
    meaning: 'every probe that answered anchors in the public roots',
  },
  {
    code: 'unknown-issuer',
    injected: false,
    fails: true,
    meaning:
      'no CA was given and a probe saw TLS re-signed by an issuer that is neither public nor in the OS store (`on-unknown: warn` to go on)',
  },
  {
    code: 'ca-mismatch',
    injected: false,
    fails: true,
    meaning:
      'a CA was given, but a probe saw TLS re-signed by another CA; the message names both (`on-unknown: warn` to go on)',
  },
  {
    code: 'unreachable',
    injected: false,
    fails: true,
    meaning: 'no probe got an answer and `on-unreachable` is `fail`',
  },
  {
    code: 'unreachable-skip',
    injected: false,
    fails: false,
    meaning: 'no probe got an answer and `on-unreachable` is `skip`',
  },
  {
    code: 'unreachable-no-ca',
    injected: false,
    fails: false,
    meaning: 'no probe got an answer, `on-unreachable` is `inject`, but no CA was given',
  },
  {
    code: 'unreachable-inject',
    injected: true,
    fails: false,
    meaning:
      'no probe got an answer and `on-unreachable` is `inject` (the default, for air-gapped runners): the CA given is injected, with a warning',
  },
  {
    code: 'github-hosted-runner',
    injected: false,
    fails: false,
    meaning: '`RUNNER_ENVIRONMENT` is `github-hosted` (`when: auto` or `self-hosted`): nothing is probed or changed',
  },
  {
    code: 'self-hosted-runner',
    injected: true,
    fails: false,
    meaning: '`when: self-hosted` on a runner that is not GitHub-hosted',
  },
  { code: 'when-always', injected: true, fails: false, meaning: '`when: always`' },
  { code: 'when-never', injected: false, fails: false, meaning: '`when: never`: nothing is changed' },
] as const satisfies readonly ReasonInfo[];

export type Reason = (typeof REASONS)[number]['code'];

export const REASON_CODES: readonly Reason[] = REASONS.map((r) => r.code);
