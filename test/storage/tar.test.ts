// packDir writes tars itself (one reused read buffer, src/storage/tar.ts): its bytes must be exactly
// tar-stream's for the same files, or every stored folder would change its blob id.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listFiles, packDir } from '../../src/storage/index.ts';
import { fileHeader } from '../../src/storage/tar.ts';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'glimpse-tar-'));
});
afterAll(() => rm(tmp, { recursive: true, force: true }));

async function collect(source: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const piece of source) parts.push(Buffer.from(piece)); // copies: packDir reuses its buffer
  return Buffer.concat(parts);
}

/** the same files through tar-stream's pack(), with the headers packDir uses */
async function tarStream(dir: string): Promise<Buffer> {
  const pack = tar.pack();
  const out = collect(pack as unknown as AsyncIterable<Buffer>);
  for (const name of await listFiles(dir)) {
    const bytes = await readFile(join(dir, ...name.split('/')));
    const header = {
      name,
      size: bytes.length,
      type: 'file' as const,
      mode: 0o644,
      mtime: new Date(0),
      uid: 0,
      gid: 0,
      uname: '',
      gname: '',
    };
    await new Promise<void>((resolve, reject) => pack.entry(header, bytes, (e) => (e ? reject(e) : resolve())));
  }
  pack.finalize();
  return out;
}

async function writeTree(dir: string, files: Record<string, Buffer>): Promise<void> {
  for (const [name, bytes] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), bytes);
  }
}

describe('packDir', () => {
  it('writes the bytes tar-stream writes (sizes around blocks and the read buffer, nested and long names)', async () => {
    const dir = join(tmp, 'a');
    const deep = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(50)}.bin`;
    await writeTree(dir, {
      'empty.txt': Buffer.alloc(0),
      'one.bin': randomBytes(1),
      'block.bin': randomBytes(512),
      'big.bin': randomBytes(256 * 1024 * 2 + 513),
      'images/x.png': randomBytes(1000),
      [deep]: randomBytes(700),
    });
    expect(fileHeader(deep, 700)).not.toBeNull(); // ustar prefix, not PAX
    const bytes = await collect(packDir(dir));
    expect(bytes.equals(await tarStream(dir))).toBe(true);
  });

  it('falls back to tar-stream for names that need PAX headers', async () => {
    const dir = join(tmp, 'b');
    await writeTree(dir, { 'café.txt': randomBytes(10), [`${'x'.repeat(120)}.txt`]: randomBytes(3) });
    expect(fileHeader('café.txt', 10)).toBeNull();
    expect((await collect(packDir(dir))).equals(await tarStream(dir))).toBe(true);
  });
});
