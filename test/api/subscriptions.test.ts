// trainingProgress and captionStream over a real graphql-ws client. The test plays the worker:
// it commits rows and NOTIFYs in the same transaction, exactly as the worker must.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notify } from '../../src/events/index.ts';
import { followRows } from '../../src/resolvers/shared/follow-rows.ts';
import { codes, collect, startTestApi, type TestApi } from './harness.ts';

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(() => t?.close());

const PROGRESS = `subscription($runId: ID!, $since: Int) { trainingProgress(runId: $runId, sinceStep: $since) { kind step epoch batch loss valLoss bleu4 status error } }`;
const CAPTION = `subscription($id: ID!) { captionStream(requestId: $id) { index token attention gridSize logProb done caption } }`;

type Progress = { kind: string; step: number; epoch: number; loss: number | null; status: string };

async function newRun(): Promise<string> {
  const dataset = await t.db.prisma.dataset.create({ data: { name: `d-${Math.random()}`, kind: 'SYNTHETIC', status: 'READY' } });
  const run = await t.db.prisma.trainingRun.create({ data: { datasetId: dataset.id, config: { epochs: 2 } } });
  return run.id;
}

/** what the worker does after each batch: the LossPoint and the run's step in one transaction, then a wake-up */
async function writeBatch(runId: string, step: number, stepsPerEpoch: number): Promise<void> {
  const epoch = Math.ceil(step / stepsPerEpoch);
  await t.db.prisma.$transaction(async (tx) => {
    await tx.lossPoint.create({
      data: { runId, step, epoch, batch: step - (epoch - 1) * stepsPerEpoch, loss: 10 / step, examplesPerSec: 100 },
    });
    await tx.trainingRun.update({ where: { id: runId }, data: { step, epoch } });
    await notify(tx, 'training_run', runId);
  });
}

async function writeEpoch(runId: string, epoch: number, step: number): Promise<void> {
  await t.db.prisma.$transaction(async (tx) => {
    await tx.epochSummary.create({ data: { runId, epoch, step, trainLoss: 1 / epoch, valLoss: 2 / epoch, bleu4: 0.1 * epoch } });
    await notify(tx, 'training_run', runId);
  });
}

async function setStatus(runId: string, status: 'RUNNING' | 'SUCCEEDED' | 'FAILED', error?: string): Promise<void> {
  await t.db.prisma.$transaction(async (tx) => {
    await tx.trainingRun.update({ where: { id: runId }, data: { status, error } });
    await notify(tx, 'training_run', runId);
  });
}

/** the event sequence a subscriber must see for steps (since, last]: batches in order, each epoch summary after its last batch */
function batchSteps(events: Progress[]): number[] {
  return events.filter((e) => e.kind === 'BATCH').map((e) => e.step);
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('trainingProgress', () => {
  it('gives early, late and sinceStep subscribers every event once, in order, while the run writes', async () => {
    const runId = await newRun();
    const PER_EPOCH = 40;
    const early = collect<{ trainingProgress: Progress }>(t.ws(), PROGRESS, { runId });
    await early.waitFor(1); // STATUS QUEUED
    await setStatus(runId, 'RUNNING');
    for (let step = 1; step <= 20; step++) await writeBatch(runId, step, PER_EPOCH);

    // late subscribers join while the worker keeps writing
    let late: ReturnType<typeof collect<{ trainingProgress: Progress }>> | undefined;
    let since: ReturnType<typeof collect<{ trainingProgress: Progress }>> | undefined;
    for (let step = 21; step <= 80; step++) {
      if (step === 30) late = collect(t.ws(), PROGRESS, { runId });
      if (step === 55) since = collect(t.ws(), PROGRESS, { runId, since: 45 });
      await writeBatch(runId, step, PER_EPOCH);
      if (step % PER_EPOCH === 0) await writeEpoch(runId, step / PER_EPOCH, step);
    }
    await setStatus(runId, 'SUCCEEDED');
    await Promise.all([early.completed, late!.completed, since!.completed]);

    for (const [sub, from] of [
      [early, 0],
      [late!, 0],
      [since!, 45],
    ] as const) {
      expect(sub.results.every((r) => r.errors === undefined)).toBe(true);
      const events = sub.results.map((r) => r.data!.trainingProgress);
      expect(batchSteps(events)).toEqual(range(from + 1, 80));
      const epochs = events.filter((e) => e.kind === 'EPOCH');
      expect(epochs.map((e) => e.epoch)).toEqual(from < PER_EPOCH ? [1, 2] : [2]);
      for (const e of epochs) {
        // an epoch summary comes right after the batch that ended the epoch
        const i = events.indexOf(e);
        expect(events[i - 1]).toMatchObject({ kind: 'BATCH', step: e.step });
      }
      expect(events.at(-1)).toMatchObject({ kind: 'STATUS', status: 'SUCCEEDED', step: 80 });
    }
    const earlyEvents = early.results.map((r) => r.data!.trainingProgress);
    expect(earlyEvents.filter((e) => e.kind === 'STATUS').map((e) => e.status)).toEqual(['QUEUED', 'RUNNING', 'SUCCEEDED']);
  });

  it('replays a finished run and completes; a FAILED run ends with its error', async () => {
    const runId = await newRun();
    await setStatus(runId, 'RUNNING');
    for (let step = 1; step <= 5; step++) await writeBatch(runId, step, 5);
    await setStatus(runId, 'FAILED', 'out of memory');
    const sub = collect<{ trainingProgress: Progress & { error: string } }>(t.ws(), PROGRESS, { runId, since: 2 });
    await sub.completed;
    const events = sub.results.map((r) => r.data!.trainingProgress);
    expect(batchSteps(events)).toEqual([3, 4, 5]);
    expect(events.at(-1)).toMatchObject({ kind: 'STATUS', status: 'FAILED', error: 'out of memory' });
  });

  it('NOT_FOUND for an unknown run', async () => {
    const sub = collect(t.ws(), PROGRESS, { runId: 'no-such-run' });
    await sub.completed;
    expect(sub.results.map(codes)).toEqual([['NOT_FOUND']]);
  });
});

describe('captionStream', () => {
  async function newRequest(): Promise<string> {
    const model = await t.db.prisma.model.create({ data: { name: 'm', path: '/m', vocabSize: 10, config: {} } });
    const request = await t.db.prisma.captionRequest.create({ data: { modelId: model.id, imageHash: 'h' } });
    return request.id;
  }

  const attention = (i: number) => [0.1 * i, 0.5 - 0.1 * i, 0.25, 0.25];

  async function writeToken(requestId: string, index: number, token: string): Promise<void> {
    await t.db.prisma.$transaction(async (tx) => {
      await tx.captionToken.create({ data: { requestId, index, token, attention: attention(index), logProb: -0.1 * (index + 1) } });
      await notify(tx, 'caption_request', requestId);
    });
  }

  it('streams tokens with attention to early and late subscribers, then the caption', async () => {
    const id = await newRequest();
    const early = collect<{ captionStream: Record<string, any> }>(t.ws(), CAPTION, { id });
    await t.db.prisma.$transaction(async (tx) => {
      await tx.captionRequest.update({ where: { id }, data: { status: 'RUNNING', gridSize: 2 } });
      await notify(tx, 'caption_request', id);
    });
    const words = ['a', 'red', 'circle'];
    await writeToken(id, 0, words[0]!);
    await writeToken(id, 1, words[1]!);
    const late = collect<{ captionStream: Record<string, any> }>(t.ws(), CAPTION, { id });
    await writeToken(id, 2, words[2]!);
    await t.db.prisma.$transaction(async (tx) => {
      await tx.captionRequest.update({ where: { id }, data: { status: 'SUCCEEDED', caption: words.join(' ') } });
      await notify(tx, 'caption_request', id);
    });
    await Promise.all([early.completed, late.completed]);
    for (const sub of [early, late]) {
      const events = sub.results.map((r) => r.data!.captionStream);
      expect(events.map((e) => e.index)).toEqual([0, 1, 2, 3]);
      expect(events.slice(0, 3).map((e) => e.token)).toEqual(words);
      for (const e of events.slice(0, 3)) {
        expect(e).toMatchObject({ gridSize: 2, done: false, attention: attention(e.index), logProb: -0.1 * (e.index + 1) });
        expect(e.attention.reduce((s: number, w: number) => s + w, 0)).toBeCloseTo(1, 6);
      }
      expect(events[3]).toMatchObject({ done: true, caption: 'a red circle', token: null });
    }
  });

  it('ends a FAILED request with CAPTION_FAILED; NOT_FOUND for an unknown one', async () => {
    const id = await newRequest();
    await writeToken(id, 0, 'a');
    await t.db.prisma.captionRequest.update({ where: { id }, data: { status: 'FAILED', error: 'corrupt image: bad PNG header' } });
    const sub = collect(t.ws(), CAPTION, { id });
    await sub.completed;
    expect(sub.results.map(codes)).toEqual([[], ['CAPTION_FAILED']]);
    expect(sub.results[1]!.errors![0]!.message).toBe('corrupt image: bad PNG header');
    const missing = collect(t.ws(), CAPTION, { id: 'nope' });
    await missing.completed;
    expect(missing.results.map(codes)).toEqual([['NOT_FOUND']]);
  });
});

describe('followRows', () => {
  it('releases its wake-up subscription at once when the client leaves mid-wait', async () => {
    const wakeUps = t.events.subscribe('training_run', 'idle-run');
    const stream = followRows(wakeUps, async () => ({ events: [1], more: false, done: false }), 60_000);
    expect(await stream.next()).toEqual({ value: 1, done: false });
    const waiting = stream.next(); // now parked on the wake-up, not on the 60 s poll
    const started = Date.now();
    await stream.return!();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await wakeUps.next()).toEqual({ value: undefined, done: true });
  });
});
