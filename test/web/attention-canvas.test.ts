// The caption page's shading of a pixel by its attention weight (the canvas test in
// test/e2e/dashboard-worker.test.ts checks the page draws with it).
import { describe, expect, it } from 'vitest';
import { shade } from '../../src/web/dashboard/attention-canvas.ts';

describe('shade', () => {
  it('dims where the model did not look and brightens where it did', () => {
    expect(shade(200, 0)).toBeCloseTo(50); // a quarter of the light
    expect(shade(200, 1)).toBeGreaterThan(200);
    expect(shade(255, 1)).toBeCloseTo(255); // never past white
  });

  it('shows attention on black too, and grows with the weight', () => {
    expect(shade(0, 0)).toBe(0);
    expect(shade(0, 1)).toBeGreaterThan(80);
    for (const value of [0, 60, 128, 255]) {
      const curve = [0, 0.25, 0.5, 0.75, 1].map((w) => shade(value, w));
      for (let i = 1; i < curve.length; i++) expect(curve[i]).toBeGreaterThanOrEqual(curve[i - 1]!);
    }
  });
});
