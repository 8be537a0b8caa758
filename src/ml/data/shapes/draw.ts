// Rasterises a scene into a raw RGB buffer (no antialiasing): [H, W, 3] bytes, black background.
import type { Color, SceneObject } from './scene.ts';

export const RGB: Record<Color, readonly [number, number, number]> = {
  red: [220, 40, 40],
  green: [40, 200, 60],
  blue: [50, 90, 230],
  yellow: [230, 210, 40],
};

/** Whether pixel (px, py), relative to the object's box of side s, lies inside the shape. */
function inside(shape: SceneObject['shape'], px: number, py: number, s: number): boolean {
  const u = px + 0.5;
  const v = py + 0.5;
  switch (shape) {
    case 'square':
      return true;
    case 'circle': {
      const r = s / 2;
      return (u - r) ** 2 + (v - r) ** 2 <= r * r;
    }
    case 'triangle': {
      // apex at the top centre, base along the bottom edge: half-width grows as v / 2
      return Math.abs(u - s / 2) <= v / 2;
    }
  }
}

export function drawScene(objects: readonly SceneObject[], imageSize: number): Buffer {
  const pixels = Buffer.alloc(imageSize * imageSize * 3); // [H, W, 3]
  for (const o of objects) {
    const [r, g, b] = RGB[o.color];
    for (let py = 0; py < o.side; py++) {
      for (let px = 0; px < o.side; px++) {
        if (!inside(o.shape, px, py, o.side)) continue;
        const offset = ((o.y + py) * imageSize + (o.x + px)) * 3;
        pixels[offset] = r;
        pixels[offset + 1] = g;
        pixels[offset + 2] = b;
      }
    }
  }
  return pixels;
}
