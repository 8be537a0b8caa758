// The worker's native-thread metrics (src/jobs/metrics.ts): glimpse_native_threads and
// glimpse_native_core_taken_total read the addon's own state (native/threads.c) at each scrape, as the
// worker wires them (src/jobs/worker-main.ts); 0 threads where the addon is not loaded, no series where the
// worker passes no reader.
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { createWorkerMetrics } from '../../src/jobs/metrics.ts';
import { loadedNativeKernels, type ThreadState, threadState } from '../../src/ml/kernels/native-addon.ts';
import { nativeForTests } from '../ml/backend/native.ts';
import { sampleValue } from '../helpers/metrics.ts';

const scrape = async (read?: () => ThreadState | null) => {
  const metrics = createWorkerMetrics({ maxModels: 5, cacheCounts: () => ({ hits: 0, misses: 0 }), nativeThreads: read });
  const text = await metrics.registry.metrics();
  metrics.registry.clear();
  return { text, parsed: parsePrometheusTextFormat(text) };
};

describe('native thread metrics', () => {
  it('reads 0 threads without the addon, and has no series without a reader', async () => {
    const { text } = await scrape(() => null);
    expect(text).toMatch(/^glimpse_native_core_taken_total(\{[^}]*\})? 0$/m);
    expect(text).toMatch(/^glimpse_native_threads(\{[^}]*\})? 0$/m);
    expect((await scrape()).text).not.toContain('glimpse_native_');
  });

  const native = nativeForTests();
  it.skipIf(native == null)("reports the addon's threads now and the calls that found a core taken", async () => {
    native!.addon.setThreads(2);
    const live = () => {
      const kernels = loadedNativeKernels();
      return kernels ? threadState(kernels.addon) : null;
    };
    expect(live()).toMatchObject({ policy: 2, now: 2, coreTaken: 0 });
    const { parsed } = await scrape(live);
    expect(sampleValue(parsed, 'glimpse_native_threads')).toBe(2);
    expect(sampleValue(parsed, 'glimpse_native_core_taken_total')).toBe(0);
    const taken = await scrape(() => ({ policy: 2, now: 1, coreTaken: 3, tries: 1, parallelCalls: 9, lowestShare: 0.4 }));
    expect(sampleValue(taken.parsed, 'glimpse_native_threads')).toBe(1);
    expect(sampleValue(taken.parsed, 'glimpse_native_core_taken_total')).toBe(3);
    native!.addon.setThreads(1);
  });
});
