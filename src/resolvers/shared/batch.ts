// Per-request batching of field resolvers (what a DataLoader does, without its cache): every load of
// one kind made while a request resolves a level of its result — a page of models each asking for its
// run — is answered by ONE query for all their keys, so a page costs the same number of queries at 5
// rows as at 100.
//
// Loads are gathered until the event loop's check phase (setImmediate): graphql-js calls the field
// resolvers of every item of a list within the same run of promise jobs, and nothing of that work
// waits on I/O, so they all land in one batch. Nothing is cached after a batch is answered: a
// graphql-ws subscription keeps its context for hours, and a later event must read today's rows.
import type { ApiContext } from './api-context.ts';

/** Rows for the given keys, by key; a key missing from the map loads as null. */
export type BatchQuery<K, V> = (ctx: ApiContext, keys: readonly K[]) => Promise<ReadonlyMap<K, V>>;

interface Waiting<V> {
  resolve(value: V | null): void;
  reject(error: unknown): void;
}

interface Batch<K, V> {
  waiting: Map<K, Waiting<V>[]>;
}

// per context object (one per HTTP request or graphql-ws operation), per query: the batch being gathered
const pending = new WeakMap<object, Map<unknown, Batch<unknown, unknown>>>();

async function dispatch<K, V>(ctx: ApiContext, query: BatchQuery<K, V>, batch: Batch<K, V>): Promise<void> {
  pending.get(ctx)?.delete(query);
  try {
    const found = await query(ctx, [...batch.waiting.keys()]);
    for (const [key, waiters] of batch.waiting) for (const w of waiters) w.resolve(found.get(key) ?? null);
  } catch (error) {
    for (const waiters of batch.waiting.values()) for (const w of waiters) w.reject(error);
  }
}

/**
 * The row for `key`, read together with every other load of `query` made in this request's current
 * step (duplicate keys are asked once). `query` is a module-level function: its identity names the batch.
 */
export function load<K, V>(ctx: ApiContext, query: BatchQuery<K, V>, key: K): Promise<V | null> {
  let byQuery = pending.get(ctx);
  if (!byQuery) {
    byQuery = new Map();
    pending.set(ctx, byQuery);
  }
  let batch = byQuery.get(query) as Batch<K, V> | undefined;
  if (!batch) {
    const started: Batch<K, V> = { waiting: new Map() };
    batch = started;
    byQuery.set(query, started as Batch<unknown, unknown>);
    setImmediate(() => void dispatch(ctx, query, started));
  }
  const waiters = batch.waiting.get(key) ?? [];
  batch.waiting.set(key, waiters);
  return new Promise<V | null>((resolve, reject) => waiters.push({ resolve, reject }));
}

/** A map of `rows` by `key(row)`, the shape a BatchQuery answers with. */
export function byKey<K, V>(rows: readonly V[], key: (row: V) => K): Map<K, V> {
  return new Map(rows.map((row) => [key(row), row]));
}

/** A map of `rows` grouped by `key(row)`, in their order: for one-to-many fields (a run's checkpoints). */
export function groupedBy<K, V>(rows: readonly V[], key: (row: V) => K): Map<K, V[]> {
  const groups = new Map<K, V[]>();
  for (const row of rows) {
    const group = groups.get(key(row));
    if (group) group.push(row);
    else groups.set(key(row), [row]);
  }
  return groups;
}
