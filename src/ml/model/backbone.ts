// Pretrained TF.js backbone (LayersModel or GraphModel, from an http(s) URL or a local path): the
// chosen layer's feature map, pooled or resized to the gridSize×gridSize grid → [L, C] per image.
// Features are cached on disk per (backbone, image) hash, so each image is encoded once.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadImage } from '../data/images.ts';
import {
  BackboneSourceError as SourceFailure,
  DEFAULT_INPUT_RANGE,
  type FeatureFn,
  featureGrid,
  loadFeatureFn as networkOf,
  type PretrainedEncoder,
  probeFeatureMap,
} from './backbone-features.ts';
import { ModelError } from './model-error.ts';

/** fetch as TF.js and src/ml call it (the global fetch by default) */
export type BackboneFetch = (url: string, init?: RequestInit) => Promise<Response>;

/**
 * How a backbone's files are read. The app passes guarded versions (allow-listed hosts, public
 * addresses, size caps, allowed folders); the messages of the errors they throw are reported as they
 * are, so they must quote nothing the files or servers contain.
 */
export interface BackboneAccess {
  /** model.json and weight shards over http(s); default: the global fetch */
  fetch?: BackboneFetch;
  /** model.json and weight files on disk; default: fs.readFile */
  readFile?: (file: string) => Promise<Uint8Array>;
  /**
   * told each file as it was read: model.json (name null), then each weight file by its manifest path; the
   * worker stores these bytes with the model so browsers get exactly what it loaded (src/jobs/artifacts.ts)
   */
  onFile?: (name: string | null, bytes: ArrayBuffer) => void;
}

export interface BackboneLoadOptions {
  /** false: compute every image's features, no disk cache (serving); default true */
  diskCache?: boolean;
  access?: BackboneAccess;
  /** stops the download (the load then fails with a "cancelled" ModelError) */
  signal?: AbortSignal;
}

const isHttp = (url: string): boolean => /^https?:\/\//i.test(url);

function localPath(url: string): string {
  return url.startsWith('file://') ? new URL(url).pathname : url;
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/** Reads model.json and the weight files it names, through `access` (relative to model.json). */
function fileReader(url: string, access: BackboneAccess, signal: AbortSignal | undefined) {
  const read = rawReader(url, access, signal);
  return async (name: string | null): Promise<ArrayBuffer> => {
    const bytes = await read(name);
    access.onFile?.(name, bytes);
    return bytes;
  };
}

function rawReader(url: string, access: BackboneAccess, signal: AbortSignal | undefined) {
  const safely = async <T>(read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (error) {
      throw new SourceFailure(error instanceof Error ? error.message : String(error), { cause: error });
    }
  };
  if (isHttp(url)) {
    const fetchFn = access.fetch ?? ((u: string, init?: RequestInit) => fetch(u, init));
    // weight URLs as TF.js builds them: model.json's folder + path + model.json's query string
    const slash = url.lastIndexOf('/');
    const query = url.lastIndexOf('?') > slash ? url.slice(url.lastIndexOf('?')) : '';
    return async (name: string | null): Promise<ArrayBuffer> => {
      const target = name === null ? url : `${url.slice(0, slash + 1)}${name}${query}`;
      const response = await safely(() => fetchFn(target, { signal }));
      if (!response.ok) throw new SourceFailure(`GET ${name ?? 'model.json'}: HTTP ${response.status}`);
      return safely(() => response.arrayBuffer());
    };
  }
  const file = localPath(url);
  const dir = path.dirname(path.resolve(file));
  const read = access.readFile ?? ((f: string) => readFile(f));
  return async (name: string | null): Promise<ArrayBuffer> => {
    const target = name === null ? file : path.resolve(dir, name);
    if (name !== null && path.relative(dir, target).startsWith('..'))
      throw new SourceFailure(`weight file ${name} lies outside the model folder`);
    return toArrayBuffer(await safely(() => read(target)));
  };
}

async function loadFeatureFn(
  encoder: PretrainedEncoder,
  access: BackboneAccess,
  signal?: AbortSignal,
): Promise<{ run: FeatureFn; dispose: () => void }> {
  return networkOf(encoder, fileReader(encoder.url, access, signal));
}

/**
 * Why a load failed, in words safe to show anyone: our own, the access functions', or (for what
 * TF.js says about the model's contents, which it may quote) a generic one; the cause keeps the rest.
 */
function loadFailure(encoder: PretrainedEncoder, cause: unknown, signal?: AbortSignal): ModelError {
  const reason = signal?.aborted
    ? 'cancelled'
    : cause instanceof SourceFailure
      ? cause.message
      : 'not a TF.js LayersModel or GraphModel this worker can run';
  return new ModelError('BACKBONE_LOAD_FAILED', `cannot load backbone ${encoder.url}: ${reason}`, { cause });
}

export class Backbone {
  /** cache statistics since load */
  hits = 0;
  misses = 0;

  private constructor(
    private readonly encoder: PretrainedEncoder,
    private readonly gridSize: number,
    private readonly run: FeatureFn,
    private readonly release: () => void,
    readonly channels: number,
    /** null: no disk cache (features are computed for every image) */
    private readonly cacheDir: string | null,
    private readonly key: string,
  ) {}

  get shape(): readonly number[] {
    return [this.gridSize * this.gridSize, this.channels];
  }

  /**
   * Loads the backbone. `diskCache: false` computes every image's features without reading or
   * writing the cache (serving: images are rarely seen twice, and a cache would grow with traffic).
   */
  static async load(encoder: PretrainedEncoder, gridSize: number, options: BackboneLoadOptions = {}): Promise<Backbone> {
    const { diskCache = true, access = {}, signal } = options;
    let fn: Awaited<ReturnType<typeof loadFeatureFn>>;
    try {
      fn = await loadFeatureFn(encoder, access, signal);
    } catch (cause) {
      throw loadFailure(encoder, cause, signal);
    }
    const probe = probeFeatureMap(fn.run, encoder.imageSize);
    if ('error' in probe) {
      fn.dispose();
      const what = encoder.layer ? `layer ${JSON.stringify(encoder.layer)}` : 'the model';
      const message =
        probe.error === 'cannot run'
          ? `backbone ${encoder.url}: ${what} cannot run on ${encoder.imageSize}×${encoder.imageSize} images`
          : `backbone ${encoder.url}: ${probe.error}`;
      throw new ModelError('BACKBONE_LOAD_FAILED', message, { cause: probe.cause });
    }
    const { channels } = probe;
    const key = createHash('sha256')
      .update(JSON.stringify([encoder.url, encoder.layer ?? '', encoder.imageSize, encoder.inputRange ?? DEFAULT_INPUT_RANGE, gridSize]))
      .digest('hex')
      .slice(0, 16);
    const cacheDir = diskCache ? (encoder.cacheDir ?? path.join(os.tmpdir(), 'glimpse-features')) : null;
    if (cacheDir !== null) await mkdir(path.join(cacheDir, key), { recursive: true });
    return new Backbone(encoder, gridSize, fn.run, fn.dispose, channels, cacheDir, key);
  }

  /** image (path or bytes) → features [L · C], from the disk cache when present (and enabled) */
  async load(image: string | Buffer, name?: string): Promise<Float32Array> {
    const pixels = await loadImage(image, { size: this.encoder.imageSize, name });
    if (this.cacheDir === null) {
      this.misses++;
      return this.extract(pixels);
    }
    const hash = createHash('sha256')
      .update(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength))
      .digest('hex');
    const file = path.join(this.cacheDir, this.key, `${hash}.f32`);
    const expected = this.gridSize * this.gridSize * this.channels;
    try {
      const bytes = await readFile(file);
      if (bytes.byteLength === expected * 4) {
        this.hits++;
        return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
      }
    } catch {
      // not cached yet
    }
    this.misses++;
    const features = this.extract(pixels);
    const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
    await writeFile(temp, new Uint8Array(features.buffer));
    await rename(temp, file);
    return features;
  }

  private extract(pixels: Float32Array): Float32Array {
    return featureGrid(this.run, pixels, this.encoder, this.gridSize);
  }

  dispose(): void {
    this.release();
  }
}
