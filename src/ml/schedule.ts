// Learning-rate schedule: cosine decay from the learning rate to `endFraction` of it over the run's
// steps (a function of the step alone, so a resumed run continues on the same curve).

/** Learning rate for the step about to run (0-based) of `totalSteps`; endFraction 1 keeps it constant. */
export function learningRateAt(step: number, totalSteps: number, learningRate: number, endFraction: number): number {
  if (endFraction >= 1 || totalSteps <= 1) return learningRate;
  const progress = Math.min(Math.max(step / (totalSteps - 1), 0), 1);
  return learningRate * (endFraction + (1 - endFraction) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
