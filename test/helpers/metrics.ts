// Reading a /metrics scrape in tests: the text parsed with parse-prometheus-text-format (a real parser of
// the exposition format), then one sample's value or a histogram's count by name and labels.
import parsePrometheusTextFormat, { type ParsedFamily, type ParsedSample } from 'parse-prometheus-text-format';

export type Scrape = ParsedFamily[];

export async function scrapeMetrics(base: string, token?: string): Promise<Scrape> {
  const res = await fetch(`${base}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${await res.text()}`);
  return parsePrometheusTextFormat(await res.text());
}

export function samples(scrape: Scrape, name: string, labels: Record<string, string> = {}): ParsedSample[] {
  const family = scrape.find((f) => f.name === name);
  return (family?.metrics ?? []).filter((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
}

/** a counter's or gauge's value (summed over the samples matching `labels`); 0 when there is none */
export const sampleValue = (scrape: Scrape, name: string, labels: Record<string, string> = {}): number =>
  samples(scrape, name, labels).reduce((total, s) => total + Number(s.value ?? 0), 0);

/**
 * the observation count of a histogram with a single series. parse-prometheus-text-format 1.1.1 flattens a
 * histogram whose samples carry labels into one sample without them, its count only in the `+Inf` bucket
 * (and the buckets of several series overwrite each other): the caption histograms have one series each.
 */
export function countOf(scrape: Scrape, name: string): number {
  const all = samples(scrape, name);
  if (all.length !== 1) throw new Error(`${name}: expected one histogram series, got ${all.length}`);
  return Number(all[0]!.count ?? all[0]!.buckets?.['+Inf'] ?? 0);
}

/** every (metric, label) pair with the distinct values it takes in the scrape */
export function labelValues(scrape: Scrape): Map<string, Set<string>> {
  const values = new Map<string, Set<string>>();
  for (const family of scrape) {
    for (const sample of family.metrics) {
      for (const [label, value] of Object.entries(sample.labels ?? {})) {
        const key = `${family.name}{${label}}`;
        values.set(key, (values.get(key) ?? new Set()).add(value));
      }
    }
  }
  return values;
}
