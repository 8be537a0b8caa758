// The loss curve on a canvas: batch losses as a line (optionally exponentially smoothed), validation
// losses per epoch as dots, with axis titles (training step; cross-entropy loss per token) and a
// legend. Redrawn whole on each change, safe for any number of points: extents by plain loops (no
// spread of a large array into Math.min), the line decimated to the canvas's pixel columns (each
// column its first, lowest, highest and last point), nothing per point in the DOM.

export interface LossSeries {
  /** [step, loss] per batch, in step order */
  batches: [number, number][];
  /** [step, valLoss] per epoch */
  validation: [number, number][];
}

const PAD = { left: 72, right: 16, top: 24, bottom: 48 };

/** Exponential moving average with weight `beta` on the past (TensorBoard-style, debiased). */
export function smooth(points: [number, number][], beta: number): [number, number][] {
  let avg = 0;
  return points.map(([x, y], i) => {
    avg = beta * avg + (1 - beta) * y;
    return [x, avg / (1 - beta ** (i + 1))];
  });
}

/** The smallest and largest x and y over the series, by loops: any length. */
export function extent(...series: [number, number][][]): { x0: number; x1: number; y0: number; y1: number } {
  let [x0, x1, y0, y1] = [0, 1, 0, Number.NEGATIVE_INFINITY];
  for (const points of series) {
    for (const [x, y] of points) {
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return { x0, x1, y0, y1: y1 * 1.05 || 1 };
}

/**
 * The polyline to draw for points already in pixels, at most 4 vertices per pixel column: where the
 * column is entered, its lowest and highest y, where it is left. Spikes stay, whatever the count.
 */
export function pixelColumns(points: Iterable<[number, number]>): [number, number][] {
  const out: [number, number][] = [];
  let column = Number.NaN;
  let [low, high, last] = [0, 0, 0];
  const flush = () => {
    if (Number.isNaN(column)) return;
    out.push([column, low], [column, high], [column, last]);
  };
  for (const [x, y] of points) {
    const c = Math.round(x);
    if (c !== column) {
      flush();
      out.push([c, y]);
      [column, low, high, last] = [c, y, y, y];
    } else {
      if (y < low) low = y;
      if (y > high) high = y;
      last = y;
    }
  }
  flush();
  return out;
}

export function drawLossChart(canvas: HTMLCanvasElement, series: LossSeries, smoothing: boolean): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  const line = smoothing ? smooth(series.batches, 0.9) : series.batches;
  // what the page charts, for tests and the curious: the points held and the newest step
  canvas.dataset.points = String(series.batches.length);
  canvas.dataset.lastStep = String(series.batches.at(-1)?.[0] ?? 0);
  if (series.batches.length === 0 && series.validation.length === 0) {
    ctx.fillStyle = '#888';
    ctx.font = '14px sans-serif';
    ctx.fillText('waiting for the first batch…', PAD.left, height / 2);
    return;
  }
  const { x0, x1, y0, y1 } = extent(series.batches, series.validation);
  const px = (x: number) => PAD.left + ((x - x0) / (x1 - x0)) * (width - PAD.left - PAD.right);
  const py = (y: number) => height - PAD.bottom - ((y - y0) / (y1 - y0)) * (height - PAD.top - PAD.bottom);

  ctx.strokeStyle = '#ccc';
  ctx.fillStyle = '#555';
  ctx.font = '12px sans-serif';
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4;
    ctx.beginPath();
    ctx.moveTo(PAD.left, py(y));
    ctx.lineTo(width - PAD.right, py(y));
    ctx.stroke();
    ctx.fillText(y.toFixed(2), 26, py(y) + 4);
  }
  ctx.textAlign = 'center';
  for (let i = 0; i <= 4; i++) {
    const x = Math.round(x0 + ((x1 - x0) * i) / 4);
    ctx.fillText(String(x), px(x), height - PAD.bottom + 16);
  }
  // axis titles
  ctx.font = '13px sans-serif';
  ctx.fillStyle = '#374151';
  ctx.fillText('training step (batches)', PAD.left + (width - PAD.left - PAD.right) / 2, height - 8);
  ctx.save();
  ctx.translate(14, PAD.top + (height - PAD.top - PAD.bottom) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.fillText('loss (cross-entropy per word)', 0, 0);
  ctx.restore();
  ctx.textAlign = 'left';
  legend(ctx, width - PAD.right - 300, 14, smoothing);

  ctx.strokeStyle = '#2563eb';
  ctx.lineWidth = 2;
  ctx.beginPath();
  pixelColumns(line.map(([x, y]) => [px(x), py(y)])).forEach(([x, y], i) => (i === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
  ctx.stroke();
  const last = line.at(-1);
  ctx.fillStyle = '#2563eb';
  if (last) ctx.fillRect(px(last[0]) - 3, py(last[1]) - 3, 6, 6); // the newest batch, visible even alone

  ctx.fillStyle = '#dc2626';
  for (const [x, y] of series.validation) {
    ctx.beginPath();
    ctx.arc(px(x), py(y), 4, 0, 2 * Math.PI);
    ctx.fill();
  }
}

function legend(ctx: CanvasRenderingContext2D, x: number, y: number, smoothing: boolean): void {
  ctx.font = '12px sans-serif';
  ctx.strokeStyle = '#2563eb';
  ctx.lineWidth = 2;
  ctx.beginPath();
  ctx.moveTo(x, y);
  ctx.lineTo(x + 20, y);
  ctx.stroke();
  ctx.fillStyle = '#374151';
  ctx.fillText(smoothing ? 'batch loss (smoothed)' : 'batch loss', x + 26, y + 4);
  ctx.fillStyle = '#dc2626';
  ctx.beginPath();
  ctx.arc(x + 170, y, 4, 0, 2 * Math.PI);
  ctx.fill();
  ctx.fillStyle = '#374151';
  ctx.fillText('validation loss', x + 180, y + 4);
  ctx.lineWidth = 1;
}
