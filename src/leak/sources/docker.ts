import * as exec from '@actions/exec';
import { ImageInputError } from './input.js';

/** `docker save` of a daemon image into `file`; the reference is checked by the daemon, not here. */
export async function dockerSave(reference: string, file: string): Promise<void> {
  let stderr = '';
  let code: number;
  try {
    code = await exec.exec('docker', ['save', '--output', file, reference], {
      ignoreReturnCode: true,
      silent: true,
      listeners: { stderr: (data: Buffer) => (stderr += data.toString()) },
    });
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new ImageInputError(
      `'${reference}' is not a file or directory, and 'docker save' cannot run here (${why}): ` +
        'pass a docker save archive, an OCI archive or layout, or rootfs:DIR for a root file system instead.',
    );
  }
  if (code !== 0) {
    const line = stderr.trim().split('\n').pop() ?? '';
    throw new ImageInputError(
      `'docker save ${reference}' failed with exit code ${code}${line ? `: ${line}` : ''}: expected a local image, or a path to an image archive or directory.`,
    );
  }
}
