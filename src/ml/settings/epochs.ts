// Epochs that follow the data: when a run does not give `epochs`, it trains for a budget of steps rather
// than a fixed number of passes, so a small set gets more passes and a large one fewer. Measured (README
// "Training settings", docs/benchmarks.md): the demo set (20,000 captions, 563 steps an epoch at batch 32)
// was still improving at its 5th and last epoch, 2,815 steps (bench/first-hour.ts); with the budget at
// 5,000 (9 epochs, 6 minutes on a 2-core machine) one seed went from 90.5 % of held-out images named
// exactly right and pair F1 0.947 to 97 % and 0.982, and every seed tried passes 90 % and 0.95 (issue 24:
// docs/benchmarks.md, "Issue 24"); a 300-image set (1,500
// captions, 43 steps an epoch) reached its lowest validation loss at epoch 18 and none lower in epochs
// 19–40 (bench/epochs.ts), a 600-image set still improved slowly at epoch 25: hence at most 25 epochs.
// Early stopping (`patience`) ends a run sooner once the validation loss stops improving.
// No imports: the API and the browser may load this file.

/** Training steps a run gets when `epochs` is not given (the demo set: 9 epochs). */
export const EPOCH_STEP_BUDGET = 5_000;
/** The most epochs the step budget gives (a tiny set would otherwise get hundreds of passes). */
export const MAX_AUTO_EPOCHS = 25;
/** What the budget gives when the dataset's size is not known (a row from before the rule: its stored epochs). */
export const EPOCHS_WHEN_UNKNOWN = 5;

/** Steps of one epoch on `captions` captions: the training split's share, in batches. */
export function stepsPerEpochOf(captions: number, valFraction: number, batchSize: number): number {
  return Math.max(1, Math.ceil(Math.round(captions * (1 - valFraction)) / batchSize));
}

/**
 * The automatic `epochs`: ceil(EPOCH_STEP_BUDGET / steps per epoch), at least 1 and at most MAX_AUTO_EPOCHS;
 * EPOCHS_WHEN_UNKNOWN when the caption count is not known.
 */
export function epochsFor(captions: number | null, valFraction: number, batchSize: number): number {
  if (captions === null || captions <= 0) return EPOCHS_WHEN_UNKNOWN;
  const perEpoch = stepsPerEpochOf(captions, valFraction, batchSize);
  return Math.min(MAX_AUTO_EPOCHS, Math.max(1, Math.ceil(EPOCH_STEP_BUDGET / perEpoch)));
}

/** The rule in words (the settings' `auto` text, the README table). */
export const EPOCHS_RULE = `by the dataset's size, a budget of ${EPOCH_STEP_BUDGET.toLocaleString('en')} steps: ceil(${EPOCH_STEP_BUDGET.toLocaleString('en')} / steps per epoch), 1..${MAX_AUTO_EPOCHS} (the demo set: 9)`;
