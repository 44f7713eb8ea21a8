/**
 * The "native" strategy's table: the switches that make a runtime verify against the OS trust store instead of its
 * own bundled roots, so no CA file and no file variable is needed once the OS store holds the org CA. Kept beside
 * src/tools/registry.ts (the file-variable table); facts from ../shared/research/ca-env-matrix.md with sources here.
 *
 * `olderVersions` says what a runtime too old for the switch does with it: `ignore` (an unknown variable, harmless, so
 * it is always exported) or `break` (it fails, so it is exported only when a probe finds a version that takes it).
 */
export type NativeId = 'node' | 'deno' | 'uv' | 'pip' | 'conda';

export interface VersionProbe {
  /** Prints the version on standard output; fails when the runtime (or what the switch needs) is missing. */
  readonly argv: readonly string[];
  /** Lowest version that takes the switch. */
  readonly min: string;
  /** From this version on the runtime reads the OS store by itself: nothing to export. */
  readonly nativeFrom?: string;
}

export interface NativeSwitch {
  readonly id: NativeId;
  readonly readers: string;
  readonly variable: string;
  /** The value, given what the job already set (kept and extended where the variable is a list). */
  value(current: string | undefined): string;
  /** The first versions that take the switch, for people. */
  readonly since: string;
  readonly olderVersions: 'ignore' | 'break';
  readonly probe?: VersionProbe;
  readonly source: string;
}

export const NATIVE_SWITCHES: readonly NativeSwitch[] = [
  {
    id: 'node',
    readers: 'Node.js (and npm, yarn, pnpm run on it)',
    variable: 'NODE_USE_SYSTEM_CA',
    value: () => '1',
    // The --use-system-ca flag came in 23.8.0/22.15.0; the environment form only in 24.6.0/22.19.0 (lab: Node 20 ignores it).
    since: 'Node 24.6.0, 22.19.0',
    olderVersions: 'ignore',
    source: 'https://nodejs.org/api/cli.html#node_use_system_ca1',
  },
  {
    id: 'deno',
    readers: 'Deno',
    variable: 'DENO_TLS_CA_STORE',
    // Adds the OS store to Mozilla's, as the job had it; a value already naming `system` is left alone.
    value: (current) =>
      current === undefined || current.trim() === ''
        ? 'mozilla,system'
        : /\bsystem\b/.test(current)
          ? current
          : `${current},system`,
    since: 'Deno 1.13',
    olderVersions: 'ignore',
    source: 'https://docs.deno.com/runtime/reference/env_variables/',
  },
  {
    id: 'uv',
    readers: 'uv',
    variable: 'UV_SYSTEM_CERTS',
    value: () => 'true',
    // 0.11.0 renamed UV_NATIVE_TLS (0.1.19) to UV_SYSTEM_CERTS; the old name is deprecated, so only the new one is set.
    since: 'uv 0.11.0',
    olderVersions: 'ignore',
    source: 'https://docs.astral.sh/uv/reference/environment/#uv_system_certs',
  },
  {
    id: 'pip',
    readers: 'pip 22.2–24.1 with the truststore package (pip ≥24.2 reads the OS store by default)',
    variable: 'PIP_USE_FEATURE',
    value: (current) => (current && !/\btruststore\b/.test(current) ? `${current} truststore` : 'truststore'),
    since: 'pip 22.2 (default from 24.2)',
    // Without the truststore module pip <24.1 refuses to run with the feature on: probe for both.
    olderVersions: 'break',
    probe: {
      argv: ['python3', '-c', 'import pip, truststore; print(pip.__version__)'],
      min: '22.2',
      nativeFrom: '24.2',
    },
    source: 'https://pip.pypa.io/en/stable/topics/https-certificates/#using-system-certificate-stores',
  },
  {
    id: 'conda',
    readers: 'conda',
    variable: 'CONDA_SSL_VERIFY',
    value: () => 'truststore',
    since: 'conda 23.9 (Python ≥3.10)',
    // An older conda takes the value for a CA file path and fails every download.
    olderVersions: 'break',
    probe: { argv: ['conda', '--version'], min: '23.9' },
    source: 'https://docs.conda.io/projects/conda/en/stable/user-guide/configuration/non-standard-certs.html',
  },
];
