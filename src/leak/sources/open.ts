/**
 * One door for every transport: a registry reference, an image the Docker daemon saves, or a path (OCI layout, docker
 * archive, dir transport, root file system). Each yields the same thing to the scanners: a root file system to read
 * as one layer, or a source of members with the plan of its images. `close` removes what opening wrote.
 */
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTempDirectory } from '../../fs/ensure-directory.js';
import type { Source } from './archive.js';
import { planImages, type Plan } from './image.js';
import { ImageInputError, openImageInput, parseImageInput, type OpenedInput } from './input.js';
import { isRegistryReference, openRegistryImage, type RegistrySourceOptions } from './registry/index.js';

export type CheckInput =
  | { readonly kind: 'rootfs-dir'; readonly dir: string }
  | { readonly kind: 'rootfs-tar'; readonly file: string }
  | {
      readonly kind: 'image';
      readonly source: Source;
      readonly plan: Plan;
      /** Layers stream from a registry: a layer that cannot be read to its end fails the check. */
      readonly fromRegistry: boolean;
    };

export interface OpenOptions {
  /** PEM certificates the registry client trusts besides the system roots (the org CA, behind inspection). */
  readonly extraCa: readonly string[];
  /** Writes `docker save` of a reference to a file; without it a reference that is not a path is refused. */
  readonly dockerSave?: (reference: string, file: string) => Promise<void>;
  readonly registry?: RegistrySourceOptions;
}

export interface OpenedCheckInput {
  readonly input: CheckInput;
  close(): void;
}

export async function openCheckInput(image: string, options: OpenOptions): Promise<OpenedCheckInput> {
  if (isRegistryReference(image)) {
    // registry:HOST/REPO… and docker://…: nothing on disk, layers stream from the registry into the layer workers.
    const { source, subjects } = await openRegistryImage(image, options.extraCa, options.registry);
    // The subjects are what the registry serves under the reference, not the referrers the layout also lists.
    const plan = { ...planImages(source, ['oci']), subjects };
    return { input: { kind: 'image', source, plan, fromRegistry: true }, close() {} };
  }
  const parsed = parseImageInput(image);
  let temp: string | undefined;
  const close = (): void => {
    if (temp) rmSync(temp, { recursive: true, force: true });
  };
  try {
    let opened: OpenedInput;
    if (parsed.kind === 'daemon') {
      if (!options.dockerSave)
        throw new ImageInputError(`'${image}' is neither a path nor an image a Docker daemon can save.`);
      temp = await makeTempDirectory(tmpdir(), 'org-ca-leak-', { purpose: 'TMPDIR', mode: 0o700 });
      const file = join(temp, 'image.tar');
      await options.dockerSave(parsed.reference, file);
      // Whatever docker save wrote (legacy, Docker 25+ or the containerd store's layout) is read as what it is.
      opened = openImageInput({ kind: 'path', spelling: image, path: file });
    } else {
      opened = openImageInput(parsed);
    }
    const input: CheckInput =
      opened.kind === 'image'
        ? {
            kind: 'image',
            source: opened.source,
            plan: planImages(opened.source, opened.layouts, opened.ref),
            fromRegistry: false,
          }
        : opened;
    return { input, close };
  } catch (error) {
    close();
    throw error;
  }
}
