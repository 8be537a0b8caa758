// The worker's queue gate (src/jobs/queue-gate.ts) over its real reconcile logic: which queues it starts and
// stops as pauses and the disk come and go, that a queue whose last handler still runs is not started twice,
// and that a held queue is logged once, not on every refresh. (Against real workers: test/jobs/bulk-caption.test.ts.)
import { expect, it } from 'vitest';
import { queueGate } from '../../src/jobs/queue-gate.ts';
import type { QueueName } from '../../src/queue/names.ts';

function setup(names: QueueName[]) {
  const calls: string[] = [];
  const lines: string[] = [];
  const state = { paused: new Set<string>(), diskFull: false, running: new Map<QueueName, number>() };
  const gate = queueGate({
    names,
    start: async (name) => calls.push(`start ${name}`),
    stop: async (name) => calls.push(`stop ${name}`),
    running: (name) => state.running.get(name) ?? 0,
    held: (name) => (name === 'training' && state.diskFull ? 'the data disk is full' : null),
    paused: async () => state.paused,
    log: { info: (m) => lines.push(m), error: (m) => lines.push(m) },
  });
  return { gate, calls, lines, state };
}

it('starts every queue, stops a paused one, and starts it again after resume once its handler has ended', async () => {
  const { gate, calls, lines, state } = setup(['training', 'bulk-caption']);
  await gate.refresh();
  expect(calls).toEqual(['start training', 'start bulk-caption']);
  state.paused.add('bulk-caption');
  state.running.set('bulk-caption', 1);
  await gate.refresh();
  await gate.refresh();
  expect(calls.slice(2)).toEqual(['stop bulk-caption']);
  expect(lines.filter((l) => l.includes('paused'))).toEqual([
    'queue bulk-caption is paused: this worker takes no bulk-caption jobs meanwhile',
  ]);
  // resumed while its last job still runs: not started beside it; the next refresh after it ended does
  state.paused.clear();
  await gate.refresh();
  expect(calls.slice(3)).toEqual([]);
  state.running.set('bulk-caption', 0);
  await gate.refresh();
  expect(calls.slice(3)).toEqual(['start bulk-caption']);
  expect(lines.at(-1)).toBe('taking bulk-caption jobs again');
});

it('holds training back while the disk is full, and stops refreshing once closed', async () => {
  const { gate, calls, state } = setup(['training', 'caption']);
  state.diskFull = true;
  await gate.refresh();
  expect(calls).toEqual(['start caption']);
  state.diskFull = false;
  gate.close();
  await gate.refresh();
  expect(calls).toEqual(['start caption']);
});
