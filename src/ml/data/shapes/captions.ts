// Five paraphrased captions per scene, all determined by the image: object words, and relations
// read from grid positions. Vocabulary ≈ 30 words, no punctuation.
import { GRID, type SceneObject } from './scene.ts';

/** "small red circle" */
function full(o: SceneObject): string {
  return `${o.size} ${o.color} ${o.shape}`;
}

/** "red circle" (size left out, as people often do) */
function plain(o: SceneObject): string {
  return `${o.color} ${o.shape}`;
}

/** Where `a` is relative to `b`, along the axis with the larger grid distance (vertical on ties). */
export function relation(a: SceneObject, b: SceneObject): string {
  const dRow = a.row - b.row;
  const dCol = a.col - b.col;
  if (Math.abs(dRow) >= Math.abs(dCol) && dRow !== 0) return dRow < 0 ? 'above' : 'below';
  return dCol < 0 ? 'to the left of' : 'to the right of';
}

const ROW_NAMES = ['top', 'middle', 'bottom'] as const satisfies { length: typeof GRID };
const COL_NAMES = ['left', 'middle', 'right'] as const satisfies { length: typeof GRID };

/** "top left", "top", "middle", "right", … for a cell of the 3×3 grid. */
export function cellName(o: SceneObject): string {
  const r = ROW_NAMES[o.row]!;
  const c = COL_NAMES[o.col]!;
  if (r === 'middle') return c;
  if (c === 'middle') return r;
  return `${r} ${c}`;
}

/** Captions for objects given in reading order. */
export function describeScene(objects: readonly SceneObject[]): string[] {
  if (objects.length === 1) {
    const [a] = objects as [SceneObject];
    return [
      `a ${full(a)}`,
      `a ${full(a)} in the ${cellName(a)}`,
      `there is a ${plain(a)}`,
      `a single ${full(a)}`,
      `one shape a ${full(a)}`,
    ];
  }
  if (objects.length === 2) {
    const [a, b] = objects as [SceneObject, SceneObject];
    return [
      `a ${full(a)} ${relation(a, b)} a ${full(b)}`,
      `a ${full(b)} ${relation(b, a)} a ${full(a)}`,
      `there is a ${plain(a)} and a ${plain(b)}`,
      `a ${full(a)} and a ${full(b)}`,
      `two shapes a ${full(a)} and a ${full(b)}`,
    ];
  }
  if (objects.length === 3) {
    const [a, b, c] = objects as [SceneObject, SceneObject, SceneObject];
    return [
      `a ${full(a)} ${relation(a, b)} a ${full(b)} ${relation(b, c)} a ${full(c)}`,
      `a ${full(c)} ${relation(c, b)} a ${full(b)} ${relation(b, a)} a ${full(a)}`,
      `there is a ${plain(a)} a ${plain(b)} and a ${plain(c)}`,
      `a ${full(a)} a ${full(b)} and a ${full(c)}`,
      `three shapes a ${full(a)} a ${full(b)} and a ${full(c)}`,
    ];
  }
  throw new RangeError(`describeScene: expected 1–3 objects, got ${objects.length}`);
}
