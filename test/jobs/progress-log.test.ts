// The worker's training lines: one info line per epoch with losses, BLEU-4, object metrics, speed
// and ETA from the steps seen so far; one debug line per batch.
import { describe, expect, it } from 'vitest';
import { formatDuration, progressLog } from '../../src/jobs/progress-log.ts';

function capture() {
  const lines: { level: string; message: string }[] = [];
  const log = {
    info: (message: string) => lines.push({ level: 'info', message }),
    debug: (message: string) => lines.push({ level: 'debug', message }),
    error: (message: string) => lines.push({ level: 'error', message }),
  };
  return { lines, log };
}

describe('progressLog', () => {
  it('logs each batch at debug and each epoch at info with the ETA at the speed so far', () => {
    const { lines, log } = capture();
    let clock = 0;
    const p = progressLog(log, 'r1', 2, 20, () => clock);
    for (let step = 1; step <= 10; step++) {
      p.batch({ step, epoch: 1, batch: step, loss: 2 / step, examplesPerSec: 16 });
      clock += 500; // 2 steps per second
    }
    p.epoch({ epoch: 1, step: 10, trainLoss: 0.81234, valLoss: 0.7, bleu4: 0.41, objects: { f1: 0.75, exactRate: 0.5 } });
    expect(lines.filter((l) => l.level === 'debug')).toHaveLength(10);
    expect(lines[0]!.message).toBe('training r1: step 1/20 (epoch 1, batch 1) loss 2.0000, 16.0 examples/s');
    // 9 steps in 4.5 s after the first: 2 steps/s, 10 steps left: 5 s
    expect(lines.at(-1)).toEqual({
      level: 'info',
      message:
        'training r1: epoch 1/2 (step 10/20): train loss 0.8123, val loss 0.7000, BLEU-4 0.4100, object F1 0.750, exact objects 50 %, 2.00 steps/s, ETA 5 s',
    });
  });

  it('leaves out what it does not know', () => {
    const { lines, log } = capture();
    progressLog(log, 'r2', 1, 3, () => 0).epoch({ epoch: 1, step: 3, trainLoss: 1, valLoss: null, bleu4: null });
    expect(lines[0]!.message).toBe('training r2: epoch 1/1 (step 3/3): train loss 1.0000, val loss –, BLEU-4 –');
  });

  it('formats durations', () => {
    expect([formatDuration(42.4), formatDuration(185), formatDuration(3720)]).toEqual(['42 s', '3 min 05 s', '1 h 02 min']);
  });
});
