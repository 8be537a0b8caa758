// The shared metrics plumbing without a database: a bounded label's cap, and the merge of several
// processes' registries into one exposition (what the API does with npm start's children), parsed back
// with parse-prometheus-text-format.
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BoundedLabel, OTHER, processRegistry, scrape, withLabel } from '../../src/process/metrics.ts';
import { sampleValue, samples } from '../helpers/metrics.ts';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

describe('BoundedLabel', () => {
  it('keeps the first values up to its cap, then answers `other`; long values and `other` itself are `other`', () => {
    const label = new BoundedLabel(3, 10);
    expect(['a', 'b', 'a', 'c', 'd', 'b'].map((v) => label.value(v))).toEqual(['a', 'b', 'a', 'c', OTHER, 'b']);
    const fresh = new BoundedLabel(3, 10);
    expect(fresh.value('x'.repeat(11))).toBe(OTHER);
    expect(fresh.value(OTHER)).toBe(OTHER);
    // neither took a place
    expect(['p', 'q', 'r', 's'].map((v) => fresh.value(v))).toEqual(['p', 'q', 'r', OTHER]);
  });
});

describe('scrape', () => {
  const counting = (role: string, n: number) => {
    const registry = processRegistry(role);
    new Counter({ name: 'glimpse_test_total', help: 'test', registers: [registry] }).inc(n);
    return registry;
  };

  it('merges other processes’ metrics, each series under its process label; a silent one is counted missing', async () => {
    const api = counting('api', 1);
    const worker = counting('worker', 2);
    const child = withLabel(await worker.getMetricsAsJSON(), 'process', 'caption-worker');
    const { text } = await scrape(api, [async () => child, async () => undefined]);
    const parsed = parsePrometheusTextFormat(text);
    expect(samples(parsed, 'glimpse_test_total').map((s) => [s.labels?.process, Number(s.value)])).toEqual([
      ['api', 1],
      ['caption-worker', 2],
    ]);
    expect(sampleValue(parsed, 'glimpse_metrics_children_missing')).toBe(1);
    // prom-client's `omit` aggregator would drop it: each process keeps its own start time
    expect(samples(parsed, 'process_start_time_seconds').map((s) => s.labels?.process)).toEqual(['api', 'caption-worker']);
  });

  it('without other processes, is the registry’s own exposition', async () => {
    const own = new Registry();
    new Counter({ name: 'glimpse_alone_total', help: 'test', registers: [own] }).inc(3);
    expect((await scrape(own)).text).toBe(await own.metrics());
  });
});
