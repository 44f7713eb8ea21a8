import * as core from '@actions/core';
import { prepareBuildContext } from '../build/context.js';
import { buildOutputs } from '../build/outputs.js';
import { saveBuildContextDir } from './state.js';

/**
 * Sets the image-build outputs (secret-files, build-contexts, build-args, docker-flags). Called whether or not the CA
 * was injected, so one workflow serves both: without injection secret-files is empty and the helper runs commands
 * unchanged, since `required=false` secret mounts tolerate the missing secret.
 */
export async function setBuildOutputs(temp: string, files?: { readonly ca: string; readonly bundle: string }): Promise<void> {
  const helperDir = await prepareBuildContext(temp);
  saveBuildContextDir(helperDir);
  const outputs = buildOutputs({ helperDir, ...(files ? { caPath: files.ca, bundlePath: files.bundle } : {}), env: process.env });
  for (const note of outputs.skipped) core.warning(`build-args: left out ${note}`);
  core.setOutput('secret-files', outputs.secretFiles);
  core.setOutput('build-contexts', outputs.buildContexts);
  core.setOutput('build-args', outputs.buildArgs);
  core.setOutput('docker-flags', outputs.dockerFlags);
}
