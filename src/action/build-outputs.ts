import { prepareBuildContext } from '../in-build/context.js';
import { buildOutputs, type BuildOutputs } from '../in-build/outputs.js';
import { present } from '../lang/present.js';

export interface PreparedBuild {
  /** The build-context directory holding the in-build helper (never the CA), for the post step to remove. */
  readonly helperDir: string;
  readonly outputs: BuildOutputs;
}

/**
 * Writes the helper's build context and computes the image-build outputs. Called whether or not the CA was injected,
 * so one workflow serves both: without injection secret-files is empty and the helper runs commands unchanged,
 * since `required=false` secret mounts tolerate the missing secret. Sets nothing: main.ts owns outputs and state.
 */
export async function prepareBuild(
  temp: string,
  env: Readonly<Record<string, string | undefined>>,
  files?: { readonly ca: string; readonly bundle: string },
): Promise<PreparedBuild> {
  const helperDir = await prepareBuildContext(temp);
  return {
    helperDir,
    outputs: buildOutputs({ helperDir, ...present({ caPath: files?.ca, bundlePath: files?.bundle }), env }),
  };
}
