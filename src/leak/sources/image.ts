import { redactCertificateText } from '../../output/redact.js';
import { ImageInputError, type Layout } from './input.js';
import {
  checkShape,
  dockerSaveManifest,
  imageConfig,
  imageIndex,
  imageManifest,
  manifestKind,
  parseDocument,
  ShapeError,
  type ImageIndex,
  type ImageManifest,
  type Shape,
} from './shapes.js';
import { readMember, resolveMember, type Member, type Source } from './archive.js';
import { DigestHash, digestOfBlobPath } from '../digest.js';
import type { Subject, Unscanned } from '../types.js';
import { present } from '../../lang/present.js';

/**
 * Reads the metadata of every image an input holds (OCI index, nested indexes, every platform, BuildKit attestation
 * manifests, docker save manifest.json of both eras) into a plan: which members are layers of which image, in which
 * order, with which expected digests. Everything else in the input is scanned as content too (see check.ts), so a
 * blob nobody references still gets looked at.
 */
export interface ImageConfig {
  readonly config?: {
    Env?: string[];
    Labels?: Record<string, string>;
    Entrypoint?: string[] | string;
    Cmd?: string[] | string;
    WorkingDir?: string;
  };
  readonly rootfs?: { diff_ids?: string[] };
  readonly history?: { created_by?: string; empty_layer?: boolean }[];
}

export interface PlannedLayer {
  readonly member: string;
  readonly index: number;
  readonly mediaType?: string;
  readonly digest?: string;
  readonly diffId?: string;
  readonly instruction?: string;
}

export interface PlannedImage {
  readonly name: string;
  readonly configMember?: string;
  readonly config: ImageConfig;
  readonly layers: readonly PlannedLayer[];
}

export interface Plan {
  readonly images: PlannedImage[];
  /** Members that manifests say are layers: scanned as tar streams. */
  readonly layerMembers: Map<string, { mediaType?: string; digest?: string }>;
  /** In-toto blobs of attestation manifests → what they attest (platform, predicate type), for findings. */
  readonly attestations: Map<string, string>;
  /** The top-level manifests and indexes, named as the input names them (an OCI ref name, a repo tag). */
  readonly subjects: Subject[];
  readonly unscanned: Unscanned[];
}

const LAYER_JSON = /in-toto|json$/;

/** Where a descriptor's blob lives in each layout (image-layout.md; containers/image dir transport). */
const BLOB_PATHS: Readonly<
  Record<Layout, (algorithm: string, encoded: string, role: 'manifest' | 'blob') => string[]>
> = {
  oci: (alg, hex) => [`blobs/${alg}/${hex}`],
  'docker-save': (alg, hex) => [`blobs/${alg}/${hex}`],
  // dir: writes blobs as <hex> (other algorithms <alg>-<hex>), and the instances of a copied index as <hex>.manifest.json.
  dir: (alg, hex, role) => [
    ...(role === 'manifest' ? [`${hex}.manifest.json`] : []),
    alg === 'sha256' ? hex : `${alg}-${hex}`,
  ],
};

/** Why a referenced blob is absent, and what to do: a non-distributable layer is never exported (layer.md). */
function missingBlob(mediaType: string | undefined): string {
  return /nondistributable|foreign/.test(mediaType ?? '')
    ? `referenced blob is missing from the input: a non-distributable layer (${mediaType}) is not exported with the image, so it cannot be checked here`
    : 'referenced blob is missing from the input: the export is incomplete, re-export the image';
}

/** A document of the input, read and shape-checked; every failure is a one-line ShapeError naming the file. */
function readDocument<T>(source: Source, name: string, shape: Shape<T>): T {
  const m = resolveMember(source, name);
  if (!m) throw new ShapeError(`${name} is missing from the input: the export is incomplete, re-export the image`);
  let bytes: Buffer;
  try {
    bytes = readMember(m);
  } catch (error) {
    throw new ShapeError(error instanceof Error ? error.message : String(error));
  }
  return parseDocument(bytes, name, shape);
}

/** Pairs layers with the history entries that made them: entries marked empty_layer made none. */
export function instructions(config: ImageConfig, layerCount: number): (string | undefined)[] {
  const made = (config.history ?? []).filter((h) => !h.empty_layer).map((h) => tidyInstruction(h.created_by ?? ''));
  return Array.from({ length: layerCount }, (_, i) => made[i]);
}

/** A content digest as Docker writes it in history (`COPY file:<sha256> in /`, `ADD dir:<sha256>`): harmless, and useful. */
export function tidyInstruction(createdBy: string): string {
  return redactCertificateText(createdBy)
    .replace(/^\/bin\/sh -c #\(nop\)\s*/, '')
    .replace(/^\/bin\/sh -c /, 'RUN ')
    .trim();
}

function platformName(p: unknown): string {
  if (!p || typeof p !== 'object') return '';
  const { os, architecture, variant } = p as Record<string, string>;
  return [os, architecture, variant].filter(Boolean).join('/');
}

/** What the walk reached, for messages: `linux/arm64 manifest (blobs/sha256/…)`. */
function short(digest: string): string {
  return digest.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1…');
}

/** A layer as a manifest or manifest.json names it, before it is found among the input's members. */
interface NamedLayer {
  readonly member: string;
  readonly mediaType?: string;
  readonly digest?: string;
}

/**
 * Plans every image of an input. The top-level document (index.json, manifest.json) must be readable, or the input
 * is not an image at all (ImageInputError). Below it, a manifest or config that is missing or malformed is listed
 * as not scanned, with the file and field, and the rest is still checked; an input where no image could be planned
 * is again an ImageInputError, with the first reason.
 */
export function planImages(source: Source, layouts: readonly Layout[], ref?: string): Plan {
  const planner = new ImagePlanner(source, layouts.includes('dir') ? 'dir' : 'oci');
  // In this order whatever order the layouts were found in: the plan's images, and so the report, stay stable.
  for (const layout of ['oci', 'docker-save', 'dir'] as const)
    if (layouts.includes(layout)) READ_LAYOUT[layout](planner, layouts);
  return planner.finish(ref);
}

/** Each layout's top-level document, read into the planner. */
const READ_LAYOUT: Readonly<Record<Layout, (planner: ImagePlanner, layouts: readonly Layout[]) => void>> = {
  oci: (p) => p.walkIndex('index.json', p.top('index.json', imageIndex), 0, ''),
  'docker-save': (p, layouts) =>
    p.top('manifest.json', dockerSaveManifest).forEach((item, i) => {
      if (item.RepoTags) p.refs.push(...item.RepoTags);
      p.refs.push(`@${i}`);
      // Without an index (Docker before 25) there is no manifest: the config's digest is the image ID.
      const configDigest =
        digestOfBlobPath(item.Config) ?? digestOfBlobPath(`blobs/sha256/${item.Config.replace(/\.json$/, '')}`);
      if (!layouts.includes('oci') && configDigest)
        p.subjects.push({ name: item.RepoTags?.[0] ?? p.label(), digest: configDigest });
      p.addImage(
        item.RepoTags?.[0] ?? item.Config,
        item.Config,
        (item.Layers ?? []).map((member) => ({ member, ...present({ digest: digestOfBlobPath(member) }) })),
      );
    }),
  dir: (p) => {
    p.subjects.push({ name: p.label(), digest: p.digestOfMember('manifest.json') });
    if (manifestKind(p.top('manifest.json', (v) => v)) === 'index')
      p.walkIndex('manifest.json', p.top('manifest.json', imageIndex), 0, '');
    else p.walkManifest(p.top('manifest.json', imageManifest), '', false);
  },
};

/** What a descriptor of an index points at, by the kind of document it turns out to be. */
const WALK_DOCUMENT: Readonly<
  Record<
    ReturnType<typeof manifestKind>,
    (
      p: ImagePlanner,
      doc: unknown,
      at: { member: string; what: string; name: string; depth: number; attestation: boolean },
    ) => void
  >
> = {
  index: (p, doc, at) => {
    if (at.depth >= 8) p.unscanned.push({ what: at.member, reason: 'image indexes nested deeper than 8' });
    else p.walkIndex(at.member, checkShape(doc, at.member, imageIndex), at.depth + 1, at.name);
  },
  manifest: (p, doc, at) => p.walkManifest(checkShape(doc, at.member, imageManifest), at.name, at.attestation),
  schema1: (p, _doc, at) =>
    p.unscanned.push({
      what: at.what,
      reason: `${at.member} is a Docker schema 1 manifest, which is not supported: convert the image (e.g. skopeo copy --format oci …)`,
    }),
  unknown: (p, _doc, at) =>
    p.unscanned.push({
      what: at.what,
      reason: `${at.member} is neither an image manifest (config, layers) nor an image index (manifests)`,
    }),
};

/** The state of one planning: what was found, what could not be read, and the names the input gives its images. */
class ImagePlanner {
  readonly unscanned: Unscanned[] = [];
  readonly refs: string[] = [];
  readonly subjects: Subject[] = [];
  private readonly images: PlannedImage[] = [];
  private readonly layerMembers = new Map<string, { mediaType?: string; digest?: string }>();
  private readonly attestations = new Map<string, string>();
  private readonly seenImages = new Set<string>();

  constructor(
    private readonly source: Source,
    private readonly layout: 'oci' | 'dir',
  ) {}

  label(): string {
    return this.source.label;
  }

  /** The sha256 digest of a member's bytes (a dir: transport's manifest.json, which no descriptor names). */
  digestOfMember(name: string): string {
    const m = resolveMember(this.source, name);
    return m ? new DigestHash().update(readMember(m)).digest() : '';
  }

  /** The top-level documents: the input is not an image when they cannot be read. */
  top<T>(name: string, shape: Shape<T>): T {
    try {
      return readDocument(this.source, name, shape);
    } catch (error) {
      if (error instanceof ShapeError) throw new ImageInputError(`'${this.source.label}': ${error.message}`);
      throw error;
    }
  }

  /** The member a digest names, when present; else the first place it would be (for messages). */
  memberOf(digest: string, role: 'manifest' | 'blob'): { name: string; present: boolean } {
    const [alg, hex] = digest.split(':') as [string, string];
    const candidates = BLOB_PATHS[this.layout](alg, hex, role);
    for (const c of candidates) {
      const found = resolveMember(this.source, c);
      if (found) return { name: found.name, present: true };
    }
    return { name: candidates[candidates.length - 1]!, present: false };
  }

  addImage(name: string, configMember: string | undefined, layers: readonly NamedLayer[]): void {
    const resolvedConfig = configMember ? resolveMember(this.source, configMember)?.name : undefined;
    const key = `${resolvedConfig ?? configMember ?? ''}|${layers.map((l) => resolveMember(this.source, l.member)?.name ?? l.member).join(',')}`;
    if (this.seenImages.has(key)) return;
    this.seenImages.add(key);
    const config = configMember ? this.readConfig(name, configMember, layers.length) : {};
    const diffIds = config.rootfs?.diff_ids ?? [];
    const steps = instructions(config, layers.length);
    const planned: PlannedLayer[] = [];
    layers.forEach((l, index) => {
      const m = resolveMember(this.source, l.member);
      if (!m) {
        this.unscanned.push({
          what: `${name} layer ${index} (${l.digest ?? l.member})`,
          reason: missingBlob(l.mediaType),
        });
        return;
      }
      this.layerMembers.set(m.name, present({ mediaType: l.mediaType, digest: l.digest }));
      planned.push({
        member: m.name,
        index,
        ...present({ mediaType: l.mediaType, digest: l.digest, diffId: diffIds[index], instruction: steps[index] }),
      });
    });
    this.images.push({
      name,
      ...present({ configMember: configMember ? (resolvedConfig ?? configMember) : undefined }),
      config,
      layers: planned,
    });
  }

  /** A config that cannot be read is listed as not scanned; its image's layers are still checked. */
  private readConfig(name: string, member: string, layerCount: number): ImageConfig {
    try {
      const config = readDocument(this.source, member, imageConfig);
      const diffIds = config.rootfs?.diff_ids ?? [];
      if (diffIds.length !== layerCount)
        this.unscanned.push({
          what: member,
          reason: `config lists ${diffIds.length} diff_ids for ${layerCount} layers`,
        });
      return config;
    } catch (error) {
      if (!(error instanceof ShapeError)) throw error;
      this.unscanned.push({ what: `config of ${name}`, reason: error.message });
      return {};
    }
  }

  /** One image manifest: its layers, its config, its attestation documents. */
  walkManifest(manifest: ImageManifest, name: string, isAttestation: boolean): void {
    const configMember = this.memberOf(manifest.config.digest, 'blob').name;
    // Attestation "layers" are in-toto JSON documents, not tars: they are scanned as content, like every blob.
    const tarLayers = (manifest.layers ?? [])
      .filter((l) => !LAYER_JSON.test(l.mediaType))
      .map((l) => ({ member: this.memberOf(l.digest, 'blob').name, mediaType: l.mediaType, digest: l.digest }));
    const jsonLayers = (manifest.layers ?? []).filter((l) => LAYER_JSON.test(l.mediaType));
    for (const [i, l] of jsonLayers.entries()) {
      const m = this.memberOf(l.digest, 'blob');
      if (!m.present) this.unscanned.push({ what: `${name} ${l.digest}`, reason: missingBlob(l.mediaType) });
      else
        this.attestations.set(
          m.name,
          `${name} (${l.annotations?.['in-toto.io/predicate-type'] ?? `in-toto document ${i}`})`,
        );
    }
    if (isAttestation || (tarLayers.length === 0 && jsonLayers.length > 0)) return;
    const isImageConfig = /image\.config|container\.image/.test(manifest.config.mediaType);
    this.addImage(name || `image ${short(configMember)}`, isImageConfig ? configMember : undefined, tarLayers);
  }

  walkIndex(indexMember: string, index: ImageIndex, depth: number, label: string): void {
    const descriptors = index.manifests ?? [];
    // An attestation manifest names its subject by digest; the subject's descriptor in the same index has the platform.
    const platformOf = new Map(descriptors.map((d) => [d.digest, platformName(d.platform)] as const));
    descriptors.forEach((d, i) => {
      const annotations = d.annotations ?? {};
      const ociName = annotations['org.opencontainers.image.ref.name'];
      const containerdName = annotations['io.containerd.image.name'];
      if (depth === 0) {
        this.refs.push(...[ociName, containerdName].filter((r): r is string => Boolean(r)));
        if (annotations['vnd.docker.reference.type'] === undefined)
          this.subjects.push({ name: containerdName ?? ociName ?? this.source.label, digest: d.digest });
      }
      const attestation = annotations['vnd.docker.reference.type'] === 'attestation-manifest';
      const subject = annotations['vnd.docker.reference.digest'];
      const name = [
        label,
        ociName ?? containerdName,
        attestation
          ? `attestation for ${(subject && platformOf.get(subject)) || subject || '?'}`
          : platformName(d.platform),
      ]
        .filter(Boolean)
        .join(' ');
      const target = this.memberOf(d.digest, 'manifest');
      const what = `${indexMember} manifests[${i}] (${[name, short(d.digest)].filter(Boolean).join(' ')})`;
      if (!target.present) {
        this.unscanned.push({
          what,
          reason:
            `the manifest ${d.digest} it points at is missing from the input: the export is incomplete ` +
            "(Docker's containerd store leaves out platforms it never pulled: save one with docker save --platform OS/ARCH)",
        });
        return;
      }
      try {
        const doc = readDocument(this.source, target.name, (v) => v);
        WALK_DOCUMENT[manifestKind(doc)](this, doc, { member: target.name, what, name, depth, attestation });
      } catch (error) {
        if (!(error instanceof ShapeError)) throw error;
        this.unscanned.push({ what, reason: error.message });
      }
    });
  }

  /** The plan, or an ImageInputError when the reference names no image here or no image could be read at all. */
  finish(ref: string | undefined): Plan {
    const refs = this.refs;
    if (ref !== undefined && !refs.includes(ref) && !refs.some((r) => r.endsWith(`:${ref}`) || r.endsWith(`/${ref}`))) {
      throw new ImageInputError(
        `'${this.source.label}' holds no image '${ref}'${refs.length ? ` (it holds: ${[...new Set(refs)].slice(0, 8).join(', ')})` : ''}: name one of those, or leave the reference out to check every image.`,
      );
    }
    if (this.images.length === 0) {
      const first = this.unscanned[0];
      throw new ImageInputError(
        first
          ? `no image could be read from '${this.source.label}': ${first.what}: ${first.reason}`
          : `'${this.source.label}' lists no image: its index or manifest.json is empty (an export that did not finish?)`,
      );
    }
    return {
      images: this.images,
      layerMembers: this.layerMembers,
      attestations: this.attestations,
      unscanned: this.unscanned,
      subjects: this.subjects,
    };
  }
}

/** The expected digest of a member stored under blobs/<alg>/<hex>. */
export function digestOfMember(m: Member): string | undefined {
  return digestOfBlobPath(m.name);
}
