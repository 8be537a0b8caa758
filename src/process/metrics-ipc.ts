// A supervised worker's metrics reach its parent's /metrics over the IPC channel `npm start` opens to
// each child (src/process/supervisor.ts): the parent sends a request with an id, the child answers
// with its registry's getMetricsAsJSON() and that id. A child that does not answer within the timeout
// (a training step holds its event loop) is left out of that scrape.
import type { ChildProcess } from 'node:child_process';
import type { Registry } from 'prom-client';
import type { MetricsJson } from './metrics.ts';

const REQUEST = 'glimpse:metrics?';
const ANSWER = 'glimpse:metrics';

interface MetricsRequest {
  type: typeof REQUEST;
  id: number;
}
interface MetricsAnswer {
  type: typeof ANSWER;
  id: number;
  metrics: MetricsJson;
}

const isRequest = (m: unknown): m is MetricsRequest => (m as MetricsRequest | null)?.type === REQUEST;
const isAnswer = (m: unknown): m is MetricsAnswer => (m as MetricsAnswer | null)?.type === ANSWER;

/** in a supervised child: answer the parent's metrics requests from `registry` */
export function answerMetricsRequests(registry: Registry): void {
  process.on('message', (message) => {
    if (!isRequest(message)) return;
    void registry.getMetricsAsJSON().then(
      (metrics) => process.send?.({ type: ANSWER, id: message.id, metrics } satisfies MetricsAnswer),
      () => undefined,
    );
  });
}

let nextId = 0;

/** in the parent: `child`'s metrics, or undefined when it has no channel or does not answer within `timeoutMs` */
export function requestMetrics(child: ChildProcess, timeoutMs: number): Promise<MetricsJson | undefined> {
  if (!child.connected) return Promise.resolve(undefined);
  const id = ++nextId;
  return new Promise((resolve) => {
    const done = (metrics: MetricsJson | undefined) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(metrics);
    };
    const onMessage = (message: unknown) => {
      if (isAnswer(message) && message.id === id) done(message.metrics);
    };
    const onExit = () => done(undefined);
    const timer = setTimeout(() => done(undefined), timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
    try {
      child.send({ type: REQUEST, id } satisfies MetricsRequest, (error) => {
        if (error) done(undefined);
      });
    } catch {
      done(undefined);
    }
  });
}
