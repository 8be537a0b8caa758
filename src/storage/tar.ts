// Writing a folder as a tar without a fresh buffer per read: each file is read into one reused
// buffer and yielded as a view of it, so streaming 100 MB out of a folder allocates ~256 KiB, not
// 100 MB of short-lived buffers (which V8 only collects once 64 MB of them have piled up: the RSS
// growth issue 11 bounds). The bytes are exactly those tar-stream's pack() writes for the same
// headers (test/storage/tar.test.ts compares them), so blob ids do not change; a name that needs a
// PAX header (non-ASCII, too long for ustar) makes the caller fall back to tar-stream.

const BLOCK = 512;
const ZEROS = Buffer.alloc(2 * BLOCK);
/** bytes read from a file at a time (one BlobChunk row) */
export const READ_BYTES = 256 * 1024;

function octal(value: number, digits: number): string {
  const text = value.toString(8);
  return text.length > digits ? `${'7'.repeat(digits)} ` : `${text.padStart(digits, '0')} `;
}

/**
 * The ustar header tar-stream writes for a regular file with mode 0644, mtime 0, uid/gid 0 and no
 * owner names, or null when the name needs a PAX header (then tar-stream must write it).
 */
export function fileHeader(path: string, size: number): Buffer | null {
  if (Buffer.byteLength(path) !== path.length) return null; // non-ASCII: PAX
  let name = path;
  let prefix = '';
  while (name.length > 100) {
    const i = name.indexOf('/');
    if (i === -1) return null;
    prefix += prefix ? `/${name.slice(0, i)}` : name.slice(0, i);
    name = name.slice(i + 1);
  }
  if (name.length > 100 || prefix.length > 155) return null;
  if (size.toString(8).length > 11) return null; // tar-stream's base-256 size: not worth copying
  const buf = Buffer.alloc(BLOCK);
  buf.write(name, 0, 'latin1');
  buf.write(octal(0o644, 6), 100, 'latin1');
  buf.write(octal(0, 6), 108, 'latin1');
  buf.write(octal(0, 6), 116, 'latin1');
  buf.write(octal(size, 11), 124, 'latin1');
  buf.write(octal(0, 11), 136, 'latin1');
  buf[156] = 0x30; // '0': regular file
  buf.write('ustar\u000000', 257, 'latin1');
  buf.write(octal(0, 6), 329, 'latin1');
  buf.write(octal(0, 6), 337, 'latin1');
  if (prefix) buf.write(prefix, 345, 'latin1');
  let sum = 8 * 32;
  for (let i = 0; i < 148; i++) sum += buf[i]!;
  for (let i = 156; i < BLOCK; i++) sum += buf[i]!;
  buf.write(octal(sum, 6), 148, 'latin1');
  return buf;
}

/** zero bytes that pad a file of `size` bytes to a whole block */
export function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return ZEROS.subarray(0, rest === 0 ? 0 : BLOCK - rest);
}

/** the end-of-archive marker: two zero blocks */
export const END_OF_TAR = ZEROS;
