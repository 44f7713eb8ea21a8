/**
 * The enumerated option values, in one place: the action's inputs and the CLI's flags both validate against these
 * lists, and the pure decision code takes the types. Nothing here reads the environment or the runner.
 */
export const WHEN_VALUES = ['auto', 'self-hosted', 'always', 'never'] as const;
export type When = (typeof WHEN_VALUES)[number];

/** with when: auto, a chain re-signed by an issuer that is neither public nor the CA given. */
export const ON_UNKNOWN_VALUES = ['fail', 'warn'] as const;
export type OnUnknown = (typeof ON_UNKNOWN_VALUES)[number];

/** with when: auto, no probe got an answer (air-gapped runners). */
export const ON_UNREACHABLE_VALUES = ['inject', 'skip', 'fail'] as const;
export type OnUnreachable = (typeof ON_UNREACHABLE_VALUES)[number];

/** the job has switched TLS verification off somewhere. */
export const ON_VERIFICATION_OFF_VALUES = ['fail', 'warn'] as const;
export type OnVerificationOff = (typeof ON_VERIFICATION_OFF_VALUES)[number];
