// A static file served under a content-hashed name, so browsers may cache it forever.
import { createHash } from 'node:crypto';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';

const gzipAsync = promisify(gzip);

export interface Asset {
  /** file name with the content hash, e.g. "graphiql.3f2a9c1b.js" */
  name: string;
  contentType: string;
  body: Buffer;
  /** the same bytes gzip-compressed */
  gzipped: Buffer;
}

/** `stem.<hash>.ext`: the first 12 hex digits of the body's sha256. */
export async function hashedAsset(stem: string, ext: string, contentType: string, body: Buffer): Promise<Asset> {
  const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { name: `${stem}.${hash}.${ext}`, contentType, body, gzipped: await gzipAsync(body) };
}

/** The bytes of a base64 `data:` URL, with its media type. */
export function decodeDataUrl(url: string): { contentType: string; body: Buffer } {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  if (!match) throw new Error(`not a base64 data: URL (${url.slice(0, 30)}…)`);
  return { contentType: match[1]!, body: Buffer.from(match[2]!, 'base64') };
}

/** `make` run once, on the first call; a failure is not cached, the next call tries again. */
export function once<T>(make: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () =>
    (pending ??= make().catch((error: unknown) => {
      pending = undefined;
      throw error;
    }));
}
