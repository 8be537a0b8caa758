// The queues by name: the jobs a worker can take (GLIMPSE_WORKER_JOBS picks among them). Pure data with no
// imports, so the config package can validate the variable without loading pg-boss (src/queue/queue.ts).

export const QUEUE_NAMES = ['training', 'caption', 'dataset', 'evaluation', 'bulk-caption'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];
