// A training run's lines in the worker log: one `info` line per epoch (train and validation loss,
// BLEU-4, the object metrics of synthetic sets, speed and ETA) and one `debug` line per batch
// (GLIMPSE_LOG_LEVEL=debug). The ETA is the steps left at this worker's average speed so far.
import type { JobLogger } from './helpers.ts';

export interface BatchLine {
  step: number;
  epoch: number;
  batch: number;
  loss: number;
  examplesPerSec: number;
}

export interface EpochLine {
  epoch: number;
  step: number;
  trainLoss: number | null;
  valLoss: number | null;
  bleu4: number | null;
  objects?: { f1: number; exactRate: number } | null;
}

const fixed = (v: number | null | undefined, digits = 4) => (typeof v === 'number' ? v.toFixed(digits) : '–');

/** "1 h 02 min", "3 min 05 s", "42 s" */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
  if (s >= 60) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${s} s`;
}

export function progressLog(
  log: JobLogger,
  runId: string,
  epochs: number,
  totalSteps: number,
  now: () => number = () => performance.now(),
) {
  let first: { step: number; at: number } | null = null;
  let last: { step: number; at: number } | null = null;
  const stepsPerSecond = () => (first && last && last.step > first.step ? (last.step - first.step) / ((last.at - first.at) / 1000) : null);
  return {
    batch(e: BatchLine): void {
      const at = now();
      first ??= { step: e.step, at };
      last = { step: e.step, at };
      log.debug?.(
        `training ${runId}: step ${e.step}/${totalSteps} (epoch ${e.epoch}, batch ${e.batch}) loss ${e.loss.toFixed(4)}, ${e.examplesPerSec.toFixed(1)} examples/s`,
      );
    },
    epoch(e: EpochLine): void {
      const rate = stepsPerSecond();
      const eta = rate ? `, ETA ${formatDuration((totalSteps - e.step) / rate)}` : '';
      const objects = e.objects ? `, object F1 ${fixed(e.objects.f1, 3)}, exact objects ${(100 * e.objects.exactRate).toFixed(0)} %` : '';
      log.info(
        `training ${runId}: epoch ${e.epoch}/${epochs} (step ${e.step}/${totalSteps}): train loss ${fixed(e.trainLoss)}, val loss ${fixed(e.valLoss)}, ` +
          `BLEU-4 ${fixed(e.bleu4)}${objects}${rate ? `, ${rate.toFixed(2)} steps/s` : ''}${eta}`,
      );
    },
  };
}
