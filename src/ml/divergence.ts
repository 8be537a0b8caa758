// Notices a training run whose loss explodes (a learning rate far too high): a non-finite loss at once,
// or a smoothed loss that climbs well above where the run started. A healthy run's loss only falls
// from its first batches (at initialisation it is about ln(vocabulary)), so the factor can be generous.

export interface DivergenceOptions {
  /** the smoothed loss may reach this multiple of the baseline (default 3) */
  factor?: number;
  /** weight of each new loss in the moving average (default 0.2) */
  alpha?: number;
  /** losses seen before the smoothed loss is judged (default 5) */
  warmup?: number;
}

export class DivergenceWatch {
  private readonly factor: number;
  private readonly alpha: number;
  private readonly warmup: number;
  private smoothed: number | null = null;
  private seen = 0;

  /** `baseline`: the run's first loss (a resumed run passes the one stored for step 1); default the first one observed */
  constructor(
    private baseline: number | null = null,
    options: DivergenceOptions = {},
  ) {
    this.factor = options.factor ?? 3;
    this.alpha = options.alpha ?? 0.2;
    this.warmup = options.warmup ?? 5;
  }

  /** Feeds a batch loss; returns why the run diverged, or null while it is fine. */
  observe(step: number, loss: number): string | null {
    if (!Number.isFinite(loss)) return `the loss became ${loss} at step ${step}: lower the learning rate`;
    this.baseline ??= loss;
    this.smoothed = this.smoothed === null ? loss : this.alpha * loss + (1 - this.alpha) * this.smoothed;
    this.seen++;
    if (this.seen < this.warmup || this.smoothed <= this.factor * this.baseline) return null;
    return (
      `the loss diverged: ${this.smoothed.toPrecision(4)} (smoothed) at step ${step}, ` +
      `more than ${this.factor}× the ${this.baseline.toPrecision(4)} it started at: lower the learning rate`
    );
  }
}
