/**
 * Reads what a registry serves for one reference as a Source the leak check plans and scans like an OCI layout,
 * without writing anything to disk: the root manifest or index, every platform's manifest, config and layers, and
 * every referrer (attestations, signatures) found through the referrers API or its `sha256-<hex>` tag fallback.
 * Manifests, configs and other small blobs are fetched whole here (verified, bounded, kept in memory); image layers
 * stay registry references that the layer workers stream straight into the scanner, verifying their digests as they
 * hash them (see ../blob.ts, ../layer.ts). Any mismatch or fetch error fails closed.
 */
import { DigestHash, isVerifiableDigest } from '../../digest.js';
import { planImages } from '../image.js';
import type { Member, Source } from '../archive.js';
import type { RegistryBlob, Subject } from '../../types.js';
import { RegistryClient, RegistryError, readText, type ClientOptions, type Response } from './client.js';
import { apiHost, describeReference, type RegistryReference } from './reference.js';
import type { RegistryRunMemo } from './memo.js';

const INDEX_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];
const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];
const ACCEPT = [...INDEX_TYPES, ...MANIFEST_TYPES].join(', ');
const MAX_MANIFEST = 4 * 1024 * 1024;

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: { os?: string; architecture?: string; variant?: string };
  annotations?: Record<string, string>;
  urls?: string[];
}

export interface PullOptions extends Omit<ClientOptions, 'host' | 'repository'> {
  readonly reference: RegistryReference;
  /** `os/arch[/variant]`: only that platform of an index (its attestations too); default every platform. */
  readonly platform?: string;
  readonly parallel?: number;
  /** Bound on the manifest, index, referrer and tag requests of one check (REGISTRY_BOUNDS); default 1024. */
  readonly maxRequests?: number;
  /** What the run knows of the registry already: a tag the repository's list lacks is not asked for. */
  readonly memo?: RegistryRunMemo;
}

/**
 * A hostile registry can answer with an index of a million manifests, referrers that name more referrers, or
 * manifests listing blob after blob: each would be fetched. These bound the metadata requests and the blobs of one
 * check; going over fails closed with one line naming the bound and its flag, never "clean". Real images use a few
 * dozen requests (an index of 8 platforms with attestations and cosign tag probes: about 60).
 */
export const DEFAULT_MAX_REGISTRY_REQUESTS = 1024;
export const MAX_REGISTRY_BLOBS = 16_384;

/** Blobs that are not image layers (configs, in-toto documents, artifacts) are read whole, up to this size. */
const MAX_SMALL_BLOB = 64 * 1024 * 1024;

export interface PullResult {
  readonly source: Source;
  /** The manifests or index checked: the repository's name and the digest the registry serves them by. */
  readonly subjects: Subject[];
  readonly manifests: number;
  readonly blobs: number;
  readonly referrers: number;
}

function check(res: Response, what: string, ref: string): void {
  if (res.status >= 200 && res.status < 300) return;
  res.body.destroy();
  const why: Record<number, string> = {
    401: 'authentication required or refused (401): pass --username/--password-stdin or log in with docker login',
    403: 'access denied (403)',
    404: 'not found (404)',
  };
  throw new RegistryError(`${what} of ${ref}: ${why[res.status] ?? `the registry answered ${res.status}`}`);
}

export async function readRegistryImage(options: PullOptions): Promise<PullResult> {
  const pull = new RegistryPull(options);
  const root = await pull.walk(options.reference.digest ?? options.reference.tag!, options.reference.digest, 0);
  // Referrers of every manifest: the API (distribution-spec 1.1), else the `sha256-<hex>` tag schema.
  for (const subject of [...pull.walked]) await pull.addReferrers(subject);
  pull.writeLayout(root);
  const source = pull.queueBlobs();
  await pull.fetchSmallBlobs(source);
  return {
    source,
    subjects: pull.subjects,
    manifests: pull.manifests,
    blobs: pull.blobQueue.size,
    referrers: pull.referrers.length,
  };
}

/** A manifest as fetched: its digest (verified), media type, parsed document and size. */
interface FetchedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly doc: Record<string, unknown>;
  readonly size: number;
}

/**
 * One pull: the manifests walked, the blobs their manifests name, the referrers found, and the requests counted
 * against the bound. What it gathers is written as an OCI layout in memory, which the same planner as every input reads.
 */
class RegistryPull {
  readonly label: string;
  readonly walked = new Set<string>();
  readonly blobQueue = new Map<string, Descriptor>();
  readonly referrers: Descriptor[] = [];
  readonly subjects: Subject[] = [];
  manifests = 0;
  private readonly client: RegistryClient;
  private readonly base: string;
  private readonly members = new Map<string, Member>();
  private readonly maxRequests: number;
  private requests = 0;
  /** With --platform, the root index's entries that were fetched: the layout lists these instead of the root. */
  private readonly selected: Descriptor[] = [];

  constructor(private readonly options: PullOptions) {
    const ref = options.reference;
    this.label = describeReference(ref);
    this.client = new RegistryClient({ ...options, host: apiHost(ref.registry), repository: ref.repository });
    this.base = `/v2/${ref.repository}`;
    this.maxRequests = options.maxRequests ?? DEFAULT_MAX_REGISTRY_REQUESTS;
  }

  /** Every metadata request of the check goes through here, and counts. */
  private get(path: string, accept: string): ReturnType<RegistryClient['get']> {
    this.requests += 1;
    if (this.requests > this.maxRequests) {
      throw new RegistryError(
        `${this.label}: over ${this.maxRequests} manifest and referrer requests (the registry keeps naming more); nothing is counted clean: raise --max-registry-requests if this image is really that large`,
      );
    }
    return this.client.get(path, accept);
  }

  private keep(name: string, bytes: Buffer): void {
    this.members.set(name, { name, type: 'file', blob: { kind: 'bytes', bytes, size: bytes.length } });
  }

  /** A manifest or index by tag or digest: read whole (bounded), verified against its digest, saved as a blob. */
  private async fetchManifest(reference: string, expected?: string): Promise<FetchedManifest> {
    const label = this.label;
    const res = await this.get(`${this.base}/manifests/${reference}`, ACCEPT);
    check(
      res,
      'manifest',
      `${label}${reference.startsWith('sha256:') && !label.includes(reference) ? ` (${reference})` : ''}`,
    );
    const text = await readText(res.body, MAX_MANIFEST);
    const bytes = Buffer.from(text, 'utf8');
    const digest = DigestHash.for(expected).update(bytes).digest();
    const claimed = res.headers['docker-content-digest'];
    if (expected && digest !== expected)
      throw new RegistryError(
        `manifest ${expected} of ${label}: the registry served content whose digest is ${digest}`,
      );
    if (
      typeof claimed === 'string' &&
      isVerifiableDigest(claimed) &&
      DigestHash.for(claimed).update(bytes).digest() !== claimed
    ) {
      throw new RegistryError(
        `manifest ${reference} of ${label}: content digest ${digest} differs from the Docker-Content-Digest header ${claimed}`,
      );
    }
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new RegistryError(`manifest ${reference} of ${label} is not JSON`);
    }
    const declared = typeof doc.mediaType === 'string' ? doc.mediaType : res.headers['content-type'];
    const mediaType = typeof declared === 'string' ? declared : '';
    this.keep(memberOf(digest), bytes);
    this.manifests++;
    return { digest, mediaType, doc, size: bytes.length };
  }

  private wantPlatform(d: Descriptor): boolean {
    const platform = this.options.platform;
    if (!platform || !d.platform) return true;
    if (d.platform.os === 'unknown') return true; // attestation manifests; filtered by subject below
    return (
      [d.platform.os, d.platform.architecture, d.platform.variant].filter(Boolean).join('/') === platform ||
      [d.platform.os, d.platform.architecture].join('/') === platform
    );
  }

  /** A manifest and, for an index, the manifests it lists (of the platform asked for); their blobs are queued. */
  async walk(reference: string, expected: string | undefined, depth: number): Promise<FetchedManifest> {
    const m = await this.fetchManifest(reference, expected);
    if (this.walked.has(m.digest)) return m;
    this.walked.add(m.digest);
    if (Array.isArray(m.doc.manifests)) {
      if (depth > 8) throw new RegistryError(`${this.label}: image indexes nested deeper than 8`);
      const platform = this.options.platform;
      const list = (m.doc.manifests as Descriptor[]).filter((d) => this.wantPlatform(d));
      const chosen = new Set(list.filter((d) => d.platform?.os !== 'unknown').map((d) => d.digest));
      for (const d of list) {
        const subject = d.annotations?.['vnd.docker.reference.digest'];
        if (platform && subject && !chosen.has(subject)) continue;
        await this.walk(d.digest, d.digest, depth + 1);
        if (depth === 0) this.selected.push(d);
      }
      if (platform && chosen.size === 0)
        throw new RegistryError(`${this.label} has no image for platform '${platform}'`);
    } else {
      const config = m.doc.config as Descriptor | undefined;
      if (config?.digest) this.blobQueue.set(config.digest, config);
      for (const layer of (m.doc.layers as Descriptor[] | undefined) ?? []) this.blobQueue.set(layer.digest, layer);
      if (this.blobQueue.size > MAX_REGISTRY_BLOBS)
        throw new RegistryError(
          `${this.label}: its manifests name over ${MAX_REGISTRY_BLOBS} blobs; nothing is counted clean`,
        );
    }
    return m;
  }

  private addReferrer(m: { mediaType: string; digest: string; size: number }, name: string): void {
    this.referrers.push({
      mediaType: m.mediaType,
      digest: m.digest,
      size: m.size,
      annotations: { 'org.opencontainers.image.ref.name': name },
    });
  }

  /** The referrers of one manifest: the referrers API, else its `sha256-<hex>` tag, and cosign's tags. */
  async addReferrers(subject: string): Promise<void> {
    const { base, label } = this;
    // The tag schema spells a digest `<algorithm>-<encoded>` (distribution-spec, referrers tag schema).
    const schemaTag = subject.replace(':', '-');
    let list: Descriptor[] = [];
    const { memo } = this.options;
    const host = this.options.reference.registry;
    const listed = memo?.tags.get(`${host}/${this.options.reference.repository}`);
    /** A tag worth asking for: any, unless the run holds the repository's whole list and it is not in it. */
    const mayExist = (tag: string): boolean => !listed || listed.has(tag);
    const res = memo?.noReferrersApi.has(host)
      ? undefined
      : await this.get(`${base}/referrers/${subject}`, 'application/vnd.oci.image.index.v1+json');
    if (res?.status === 200) {
      const doc = JSON.parse(await readText(res.body, MAX_MANIFEST)) as { manifests?: Descriptor[] };
      list = doc.manifests ?? [];
    } else {
      if (res) {
        res.body.destroy();
        if (res.status !== 404) check(res, 'referrers', `${label} (${subject})`);
        memo?.noReferrersApi.add(host);
      }
      const tagged = mayExist(schemaTag) ? await this.get(`${base}/manifests/${schemaTag}`, ACCEPT) : undefined;
      if (tagged?.status === 200) {
        tagged.body.destroy();
        const index = await this.fetchManifest(schemaTag);
        list = (index.doc.manifests as Descriptor[] | undefined) ?? [];
        this.addReferrer(index, schemaTag);
      } else if (tagged?.status === 404) tagged.body.destroy();
      else if (tagged) check(tagged, 'referrers tag', `${label} (${schemaTag})`);
    }
    // cosign's tag schema for signatures, attestations and SBOMs (sigstore/cosign specs/SIGNATURE_SPEC.md).
    for (const suffix of ['sig', 'att', 'sbom']) {
      const tag = `${schemaTag}.${suffix}`;
      if (!mayExist(tag)) continue;
      const res = await this.get(`${base}/manifests/${tag}`, ACCEPT);
      res.body.destroy();
      if (res.status === 404) continue;
      check(res, 'signature tag', `${label} (${tag})`);
      this.addReferrer(await this.walk(tag, undefined, 1), tag);
    }
    for (const d of list) {
      if (this.walked.has(d.digest)) continue;
      this.addReferrer(await this.walk(d.digest, d.digest, 1), `referrer of ${subject}`);
    }
  }

  /** oci-layout and index.json over what was walked: the root (or, with --platform, the platforms fetched) and referrers. */
  writeLayout(root: FetchedManifest): void {
    const label = this.label;
    this.keep('oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    // The root index names every platform; with --platform only some were fetched, so the layout lists those instead.
    const tops: Descriptor[] =
      this.options.platform && this.selected.length
        ? this.selected.map((d) => ({
            ...d,
            annotations: { ...d.annotations, 'org.opencontainers.image.ref.name': label },
          }))
        : [
            {
              mediaType: root.mediaType,
              digest: root.digest,
              size: root.size,
              annotations: { 'org.opencontainers.image.ref.name': label },
            },
          ];
    const name = `${this.options.reference.registry}/${this.options.reference.repository}`;
    for (const top of tops) this.subjects.push({ name, digest: top.digest });
    const index = { schemaVersion: 2, mediaType: INDEX_TYPES[0], manifests: [...tops, ...this.referrers] };
    this.keep('index.json', Buffer.from(JSON.stringify(index)));
  }

  /** Every other blob starts as a registry reference; the same planner as every input decides which are image layers. */
  queueBlobs(): Source {
    const label = this.label;
    const fetch = this.client.fetchSpec();
    for (const d of this.blobQueue.values()) {
      if (!isVerifiableDigest(d.digest))
        throw new RegistryError(
          `${label} references a blob with an unsupported digest '${d.digest}': expected sha256 or sha512`,
        );
      if (!Number.isSafeInteger(d.size) || d.size < 0)
        throw new RegistryError(`${label} describes blob ${d.digest} with an invalid size '${String(d.size)}'`);
      const name = memberOf(d.digest);
      if (this.members.has(name)) continue;
      const blob: RegistryBlob = { kind: 'registry', digest: d.digest, size: d.size, label, fetch };
      this.members.set(name, { name, type: 'file', blob });
    }
    return { label, members: this.members };
  }

  /** What is not an image layer (configs, attestation documents, artifacts) is read whole, in parallel, verified. */
  async fetchSmallBlobs(source: Source): Promise<void> {
    const layers = planImages(source, ['oci']).layerMembers;
    const small = [...this.members.values()].filter((m) => m.blob.kind === 'registry' && !layers.has(m.name));
    const lanes = Array.from({ length: Math.max(1, Math.min(this.options.parallel ?? 4, small.length)) }, async () => {
      for (let m = small.shift(); m; m = small.shift()) {
        const d = m.blob as RegistryBlob;
        const bytes = await fetchSmallBlob(this.client, this.base, this.label, d);
        this.members.set(m.name, { name: m.name, type: 'file', blob: { kind: 'bytes', bytes, size: d.size } });
      }
    });
    await Promise.all(lanes);
  }
}

function memberOf(digest: string): string {
  return `blobs/${digest.replace(':', '/')}`;
}

async function fetchSmallBlob(client: RegistryClient, base: string, label: string, d: RegistryBlob): Promise<Buffer> {
  if (d.size > MAX_SMALL_BLOB)
    throw new RegistryError(
      `blob ${d.digest} of ${label} is ${d.size} bytes and not an image layer: over the ${MAX_SMALL_BLOB}-byte bound for configs and documents`,
    );
  const res = await client.get(`${base}/blobs/${d.digest}`);
  check(res, `blob ${d.digest}`, label);
  const hash = DigestHash.for(d.digest);
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > d.size)
        throw new RegistryError(
          `blob ${d.digest} of ${label}: the registry sent more than the ${d.size} bytes its descriptor says`,
        );
      hash.update(chunk);
      chunks.push(chunk);
    }
  } catch (error) {
    res.body.destroy();
    if (error instanceof RegistryError) throw error;
    throw new RegistryError(
      `blob ${d.digest} of ${label}: the download broke off after ${bytes} of ${d.size} bytes (${(error as Error).message.split('\n')[0]})`,
    );
  }
  const got = hash.digest();
  if (bytes !== d.size) throw new RegistryError(`blob ${d.digest} of ${label}: got ${bytes} of ${d.size} bytes`);
  if (got !== d.digest)
    throw new RegistryError(`blob ${d.digest} of ${label}: the registry served content whose digest is ${got}`);
  return Buffer.concat(chunks);
}
