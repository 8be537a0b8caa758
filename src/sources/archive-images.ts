// The decode budget of an uploaded set's images (issue 20, finding 2: 20 RGBA 16-bit 6300×6300 PNGs in a 16 KB
// zip passed the pixel limit and took 99.8 s and 1.5 GB of the API). What an image costs to decode is known from
// its header: width × height × channels × bytes per sample. So every image's header is read first (nothing
// decoded) and checked against the per-image and the per-archive budgets; only a set within both is decoded,
// on the image check pool's threads (./image-check-pool.ts), and all of it within the archive's deadline.
import { quote } from './client-text.ts';
import type { ImageCheckPool, ImageHeader } from './image-check-pool.ts';

export interface ImageBudget {
  /** width × height of one image (GLIMPSE_MAX_IMAGE_PIXELS) */
  maxImagePixels: number;
  /** decoded bytes of one image (GLIMPSE_MAX_DECODED_IMAGE_BYTES) */
  maxImageDecodedBytes: number;
  /** decoded bytes of all the archive's captioned images together (GLIMPSE_MAX_DATASET_DECODED_BYTES) */
  maxDecodedBytes: number;
}

/** an image to check: where it was unpacked and its name in the zip (what messages show) */
export interface ArchiveImage {
  path: string;
  name: string;
}

/** an image whose header passed, with the format it declared */
export interface CountedImage extends ArchiveImage {
  format: 'PNG' | 'JPEG';
}

/** bytes the decoded image takes: width × height × channels × bytes per sample (16-bit PNGs: 2) */
export function decodedBytes(header: ImageHeader): number {
  return header.width * header.height * header.channels * Math.ceil(header.bitsPerSample / 8);
}

/** A refusal whose message is the reason the client gets (no server paths in it). */
export type Refuse = (reason: string) => Error;

/** Reads headers one by one as images arrive, keeping the running total; refuses at the first one over budget. */
export class HeaderTally {
  #total = 0;
  constructor(
    private readonly pool: ImageCheckPool,
    private readonly budget: ImageBudget,
    private readonly refuse: Refuse,
  ) {}

  async count({ path, name }: ArchiveImage, signal: AbortSignal): Promise<CountedImage> {
    const { maxImagePixels, maxImageDecodedBytes, maxDecodedBytes } = this.budget;
    const header = await this.pool.header(path, signal);
    if (header === null || (header.format !== 'jpeg' && header.format !== 'png')) {
      throw this.refuse(`${quote(name)} is not a JPEG or PNG image`);
    }
    const { width, height, channels, bitsPerSample } = header;
    if (width * height > maxImagePixels) {
      throw this.refuse(`${quote(name)} is ${width}×${height} pixels: at most ${maxImagePixels} (GLIMPSE_MAX_IMAGE_PIXELS)`);
    }
    const bytes = decodedBytes(header);
    if (bytes > maxImageDecodedBytes) {
      throw this.refuse(
        `${quote(name)} decodes to ${bytes} bytes (${width}×${height} pixels × ${channels} channels × ${Math.ceil(bitsPerSample / 8)} bytes): at most ${maxImageDecodedBytes} per image (GLIMPSE_MAX_DECODED_IMAGE_BYTES)`,
      );
    }
    this.#total += bytes;
    if (this.#total > maxDecodedBytes) {
      throw this.refuse(
        `the archive's images decode to more than ${maxDecodedBytes} bytes in all (width × height × channels × bytes per sample; GLIMPSE_MAX_DATASET_DECODED_BYTES)`,
      );
    }
    return { path, name, format: header.format === 'png' ? 'PNG' : 'JPEG' };
  }
}

/** Fully decodes every image (a truncated or corrupt body fails here, not in a training run), one after another. */
export async function decodeAll(
  pool: ImageCheckPool,
  images: readonly CountedImage[],
  maxImagePixels: number,
  signal: AbortSignal,
  refuse: Refuse,
): Promise<void> {
  for (const { path, name, format } of images) {
    if (!(await pool.decodes(path, maxImagePixels, signal))) throw refuse(`${quote(name)} is not a decodable ${format} image`);
  }
}
