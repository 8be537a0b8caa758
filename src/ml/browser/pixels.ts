// An image file in the browser → the model's input, as the worker makes it (src/ml/data/images.ts): decoded
// by the browser (createImageBitmap: EXIF orientation applied, converted to sRGB), flattened onto black,
// read back as 8-bit RGBA and resized by the same JavaScript as the worker's (src/ml/data/resize.ts).
import { resizePixels } from '../data/resize.ts';

/** The decoded image's 8-bit RGBA pixels, alpha flattened onto black. */
export async function decodePixels(image: Blob): Promise<{ rgba: Uint8ClampedArray; width: number; height: number }> {
  const bitmap = await createImageBitmap(image, { imageOrientation: 'from-image', premultiplyAlpha: 'none' });
  try {
    const { width, height } = bitmap;
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext('2d', { willReadFrequently: true });
    if (!context) throw new Error('no 2d canvas context');
    context.fillStyle = '#000';
    context.fillRect(0, 0, width, height);
    context.drawImage(bitmap, 0, 0);
    return { rgba: context.getImageData(0, 0, width, height).data, width, height };
  } finally {
    bitmap.close();
  }
}

/** [size, size, 3] floats in 0..1 of an image file (JPEG, PNG, WebP: what the browser decodes). */
export async function imagePixels(image: Blob, size: number): Promise<Float32Array> {
  const { rgba, width, height } = await decodePixels(image);
  return resizePixels(rgba, width, height, 4, size);
}
