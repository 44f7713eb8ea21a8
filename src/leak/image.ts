import { readMember, resolveMember, type Member, type Source } from './source.js';
import type { Unscanned } from './types.js';

/**
 * Reads the metadata of every image an input holds (OCI index, nested indexes, every platform, BuildKit attestation
 * manifests, docker save manifest.json of both eras) into a plan: which members are layers of which image, in which
 * order, with which expected digests. Everything else in the input is scanned as content too (see check.ts), so a
 * blob nobody references still gets looked at.
 */
export interface ImageConfig {
  readonly config?: { Env?: string[]; Labels?: Record<string, string>; Entrypoint?: string[] | string; Cmd?: string[] | string; WorkingDir?: string };
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
  readonly unscanned: Unscanned[];
}

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const LAYER_JSON = /in-toto|json$/;

function parseJson(source: Source, name: string, unscanned: Unscanned[]): unknown {
  const m = resolveMember(source, name);
  if (!m) {
    unscanned.push({ what: name, reason: 'referenced but missing from the input' });
    return undefined;
  }
  try {
    return JSON.parse(readMember(m).toString('utf8'));
  } catch (error) {
    unscanned.push({ what: name, reason: `not valid JSON (${error instanceof Error ? error.message.split('\n')[0] : String(error)})` });
    return undefined;
  }
}

function blobName(digest: unknown): string | undefined {
  if (typeof digest !== 'string') return undefined;
  const m = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/.exec(digest);
  return m ? `blobs/${m[1]}/${m[2]}` : undefined;
}

/** Pairs layers with the history entries that made them: entries marked empty_layer made none. */
export function instructions(config: ImageConfig, layerCount: number): (string | undefined)[] {
  const made = (config.history ?? []).filter((h) => !h.empty_layer).map((h) => tidyInstruction(h.created_by ?? ''));
  return Array.from({ length: layerCount }, (_, i) => made[i]);
}

/** A content digest as Docker writes it in history (`COPY file:<sha256> in /`, `ADD dir:<sha256>`): harmless, and useful. */
const DIGEST_BEFORE = /(?:file|dir|sha256|sha512):$/;
const DIGEST = /^(?:[0-9a-f]{64}|[0-9a-f]{128})$/;

/** Certificate text and long base64 never reach a log or a report, even when an instruction holds them. */
export function redact(text: string): string {
  return text
    .replace(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?(-----END \1-----|$)/g, '-----BEGIN $1----- [redacted] -----END $1-----')
    .replace(/[A-Za-z0-9+/]{60,}={0,2}/g, (run: string, offset: number, whole: string) =>
      DIGEST.test(run) && DIGEST_BEFORE.test(whole.slice(Math.max(0, offset - 7), offset)) ? run : '[redacted base64]',
    );
}

export function tidyInstruction(createdBy: string): string {
  return redact(createdBy).replace(/^\/bin\/sh -c #\(nop\)\s*/, '').replace(/^\/bin\/sh -c /, 'RUN ').trim();
}

function platformName(p: unknown): string {
  if (!p || typeof p !== 'object') return '';
  const { os, architecture, variant } = p as Record<string, string>;
  return [os, architecture, variant].filter(Boolean).join('/');
}

export function planImages(source: Source): Plan {
  const unscanned: Unscanned[] = [];
  const images: PlannedImage[] = [];
  const layerMembers = new Map<string, { mediaType?: string; digest?: string }>();
  const attestations = new Map<string, string>();
  const seenConfigs = new Set<string>();

  const addImage = (name: string, configMember: string | undefined, layers: { member: string; mediaType?: string; digest?: string }[]): void => {
    const resolvedConfig = configMember ? resolveMember(source, configMember)?.name : undefined;
    const key = `${resolvedConfig ?? configMember ?? ''}|${layers.map((l) => resolveMember(source, l.member)?.name ?? l.member).join(',')}`;
    if (seenConfigs.has(key)) return;
    seenConfigs.add(key);
    const config = (configMember ? parseJson(source, configMember, unscanned) : {}) as ImageConfig | undefined;
    const diffIds = config?.rootfs?.diff_ids ?? [];
    if (config && configMember && diffIds.length !== layers.length) {
      unscanned.push({ what: configMember, reason: `config lists ${diffIds.length} diff_ids for ${layers.length} layers` });
    }
    const steps = instructions(config ?? {}, layers.length);
    const planned: PlannedLayer[] = [];
    layers.forEach((l, index) => {
      const m = resolveMember(source, l.member);
      if (!m) {
        unscanned.push({ what: `${name} layer ${index} (${l.digest ?? l.member})`, reason: 'referenced blob is missing from the input' });
        return;
      }
      layerMembers.set(m.name, { ...(l.mediaType ? { mediaType: l.mediaType } : {}), ...(l.digest ? { digest: l.digest } : {}) });
      planned.push({
        member: m.name,
        index,
        ...(l.mediaType ? { mediaType: l.mediaType } : {}),
        ...(l.digest ? { digest: l.digest } : {}),
        ...(diffIds[index] ? { diffId: diffIds[index] } : {}),
        ...(steps[index] ? { instruction: steps[index] } : {}),
      });
    });
    images.push({ name, ...(configMember ? { configMember: resolvedConfig ?? configMember } : {}), config: config ?? {}, layers: planned });
  };

  const walkIndex = (indexMember: string, depth: number, label: string): void => {
    const index = parseJson(source, indexMember, unscanned) as { manifests?: unknown } | undefined;
    if (!index) return;
    if (index.manifests !== undefined && !Array.isArray(index.manifests)) {
      unscanned.push({ what: indexMember, reason: 'manifests is not a list' });
      return;
    }
    const descriptors = (index.manifests ?? []) as Record<string, unknown>[];
    // An attestation manifest names its subject by digest; the subject's descriptor in the same index has the platform.
    const platformOf = new Map(descriptors.map((d) => [String(d.digest), platformName(d.platform)] as const));
    for (const d of descriptors) {
      const member = blobName(d.digest);
      if (!member) {
        unscanned.push({ what: indexMember, reason: `descriptor with an invalid digest '${String(d.digest)}'` });
        continue;
      }
      const annotations = (d.annotations ?? {}) as Record<string, string>;
      const ref = annotations['org.opencontainers.image.ref.name'] ?? annotations['io.containerd.image.name'];
      const isAttestation = annotations['vnd.docker.reference.type'] === 'attestation-manifest';
      const subject = annotations['vnd.docker.reference.digest'];
      const name = [label, ref, isAttestation ? `attestation for ${(subject && platformOf.get(subject)) || subject || '?'}` : platformName(d.platform)]
        .filter(Boolean)
        .join(' ');
      const mediaType = typeof d.mediaType === 'string' ? d.mediaType : '';
      if (INDEX_TYPES.has(mediaType)) {
        if (depth > 8) unscanned.push({ what: member, reason: 'image indexes nested deeper than 8' });
        else walkIndex(member, depth + 1, name);
        continue;
      }
      const manifest = parseJson(source, member, unscanned) as
        | { config?: Record<string, unknown>; layers?: Record<string, unknown>[]; manifests?: unknown; mediaType?: string }
        | undefined;
      if (!manifest) continue;
      if (manifest.manifests !== undefined) {
        walkIndex(member, depth + 1, name);
        continue;
      }
      const configMember = blobName(manifest.config?.digest);
      const layers = (manifest.layers ?? []).map((l) => ({
        member: blobName(l.digest) ?? '',
        ...(typeof l.mediaType === 'string' ? { mediaType: l.mediaType } : {}),
        ...(typeof l.digest === 'string' ? { digest: l.digest } : {}),
      }));
      // Attestation "layers" are in-toto JSON documents, not tars: they are scanned as content, like every blob.
      const tarLayers = layers.filter((l) => !LAYER_JSON.test(l.mediaType ?? ''));
      const jsonLayers = layers.filter((l) => LAYER_JSON.test(l.mediaType ?? ''));
      for (const [i, l] of jsonLayers.entries()) {
        const m = resolveMember(source, l.member);
        if (!m) unscanned.push({ what: `${name} ${l.digest}`, reason: 'referenced blob is missing from the input' });
        const predicate = (manifest.layers ?? []).find((x) => x.digest === l.digest)?.annotations as Record<string, string> | undefined;
        if (m) attestations.set(m.name, `${name} (${predicate?.['in-toto.io/predicate-type'] ?? `in-toto document ${i}`})`);
      }
      if (isAttestation || (tarLayers.length === 0 && jsonLayers.length > 0)) continue;
      const cfgType = typeof manifest.config?.mediaType === 'string' ? manifest.config.mediaType : '';
      const isImageConfig = cfgType === '' || /image\.config|container\.image/.test(cfgType);
      addImage(name || `image ${member.replace(/^blobs\/sha256\//, 'sha256:').slice(0, 19)}`, isImageConfig ? configMember : undefined, tarLayers);
    }
  };

  if (source.members.has('index.json')) walkIndex('index.json', 0, '');
  if (source.members.has('manifest.json')) {
    const list = parseJson(source, 'manifest.json', unscanned);
    if (!Array.isArray(list)) {
      unscanned.push({ what: 'manifest.json', reason: 'expected a list of images (docker save format)' });
    } else {
      for (const item of list as { Config?: string; Layers?: string[]; RepoTags?: string[] }[]) {
        addImage(
          item.RepoTags?.[0] ?? item.Config ?? 'image',
          item.Config,
          (item.Layers ?? []).map((member) => {
            const digest = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(member);
            return { member, ...(digest ? { digest: `sha256:${digest[1]}` } : {}) };
          }),
        );
      }
    }
  }
  return { images, layerMembers, attestations, unscanned };
}

/** What kind of input a Source is, for messages and for the rootfs fallback. */
export function looksLikeImage(source: Source): boolean {
  return source.members.has('index.json') || source.members.has('manifest.json') || source.members.has('oci-layout');
}

/** The expected digest of a member stored under blobs/<alg>/<hex>. */
export function digestOfMember(m: Member): string | undefined {
  const match = /^blobs\/sha256\/([0-9a-f]{64})$/.exec(m.name);
  return match ? `sha256:${match[1]}` : undefined;
}
