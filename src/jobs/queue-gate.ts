// Which of its queues a worker fetches from, reconciled on every refresh: a queue is worked unless an operator
// paused it (QueueState, src/queue/pause.ts) or the worker holds it back itself (training while the data disk
// is full). Stopping is offWork (running handlers go on); a queue starts again only once its last handler has
// ended, so a queue that runs one job at a time (training) never runs two. Refreshes never overlap.
import type { QueueName } from '../queue/names.ts';
import type { JobLogger } from './helpers.ts';

export interface QueueGateOptions {
  names: readonly QueueName[];
  /** fetch from the queue (queue.work with its handler) */
  start(name: QueueName): Promise<unknown>;
  /** stop fetching from it (queue.offWork) */
  stop(name: QueueName): Promise<unknown>;
  /** handlers of the queue running now */
  running(name: QueueName): number;
  /** why this worker holds the queue back itself (a line for the log), or null */
  held(name: QueueName): string | null;
  /** the queues an operator paused */
  paused(): Promise<Set<string>>;
  log: JobLogger;
}

export interface QueueGate {
  /** reads the paused queues and starts or stops fetching to match; false once closed */
  refresh(): Promise<void>;
  /** stops every refresh to come (the worker is stopping) */
  close(): void;
}

export function queueGate(options: QueueGateOptions): QueueGate {
  const { names, log } = options;
  const working = new Set<QueueName>();
  /** why each queue is not worked, as last logged: a held queue is reported once, not every beat */
  const reasons = new Map<QueueName, 'paused' | 'held'>();
  let closed = false;
  let chain: Promise<void> = Promise.resolve();

  async function reconcile(): Promise<void> {
    const paused = names.length > 0 ? await options.paused() : new Set<string>();
    for (const name of names) {
      if (closed) return;
      const reason = paused.has(name) ? `queue ${name} is paused` : options.held(name);
      const kind = reason === null ? null : paused.has(name) ? 'paused' : 'held';
      if (reason !== null && working.has(name)) {
        working.delete(name);
        await options.stop(name);
      }
      if (kind !== null && reasons.get(name) !== kind) (log.warn ?? log.info)(`${reason}: this worker takes no ${name} jobs meanwhile`);
      if (reason === null && !working.has(name) && options.running(name) === 0) {
        working.add(name);
        await options.start(name);
        if (reasons.has(name)) log.info(`taking ${name} jobs again`);
      }
      // cleared once the queue is worked again (a queue waiting for its last handler keeps it, for the line above)
      if (kind !== null) reasons.set(name, kind);
      else if (working.has(name)) reasons.delete(name);
    }
  }

  return {
    refresh() {
      if (closed) return Promise.resolve();
      chain = chain.then(reconcile, reconcile);
      return chain;
    },
    close() {
      closed = true;
    },
  };
}
