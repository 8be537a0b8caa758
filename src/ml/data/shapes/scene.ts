// A synthetic scene: 1–3 distinct objects (shape × colour × size), each in its own cell of a 3×3
// grid so they never overlap, with a little positional jitter inside the cell.
import type { Rng } from '../../random.ts';

export const SHAPES = ['circle', 'square', 'triangle'] as const;
export const COLORS = ['red', 'green', 'blue', 'yellow'] as const;
export const SIZES = ['small', 'large'] as const;
export const GRID = 3;

export type Shape = (typeof SHAPES)[number];
export type Color = (typeof COLORS)[number];
export type Size = (typeof SIZES)[number];

export interface SceneObject {
  shape: Shape;
  color: Color;
  size: Size;
  /** grid cell, 0..GRID-1 */
  row: number;
  col: number;
  /** pixel box: left, top, side (objects fit in a square) */
  x: number;
  y: number;
  side: number;
}

/** Side of an object in pixels for a given cell size: large fills most of the cell, small about half. */
export function objectSide(size: Size, cell: number): number {
  return Math.round(cell * (size === 'large' ? 0.8 : 0.45));
}

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng.next() * items.length)]!;
}

/** Objects of a random scene, in reading order (top to bottom, then left to right). */
export function sampleScene(rng: Rng, imageSize: number): SceneObject[] {
  const cell = Math.floor(imageSize / GRID);
  const count = 1 + Math.floor(rng.next() * 3);
  const cells = rng
    .shuffle(Array.from({ length: GRID * GRID }, (_, i) => i))
    .slice(0, count)
    .sort((a, b) => a - b);
  const used = new Set<string>();
  return cells.map((index) => {
    let shape: Shape;
    let color: Color;
    do {
      shape = pick(rng, SHAPES);
      color = pick(rng, COLORS);
    } while (used.has(`${color} ${shape}`)); // distinct descriptions keep captions unambiguous
    used.add(`${color} ${shape}`);
    const size = pick(rng, SIZES);
    const row = Math.floor(index / GRID);
    const col = index % GRID;
    const side = objectSide(size, cell);
    const slack = cell - side;
    const x = col * cell + Math.floor(rng.next() * (slack + 1));
    const y = row * cell + Math.floor(rng.next() * (slack + 1));
    return { shape, color, size, row, col, x, y, side };
  });
}
