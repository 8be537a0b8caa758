// Event topics: one Postgres channel each; the payload is the key of the row that changed.
// `job`: a job was enqueued (key: the queue name): wakes that queue's workers at once instead of
// at their next polling tick (src/queue/queue.ts). `api_key`: a key was created, revoked or re-budgeted: every API
// process drops its cache of keys (src/server/keyring.ts).
export const TOPICS = ['training_run', 'caption_request', 'worker', 'job', 'api_key', 'evaluation', 'bulk_caption'] as const;
export type Topic = (typeof TOPICS)[number];
/** topics with no key: something about the whole set changed (workers, API keys) */
export type UnkeyedTopic = 'worker' | 'api_key';
/** topics whose events concern one row or queue: training_run (runId), caption_request (requestId), job (queue name), evaluation (evaluationId), bulk_caption (BulkCaptionJob id) */
export type KeyedTopic = Exclude<Topic, UnkeyedTopic>;

/** NOTIFY payloads must stay under 8000 bytes */
export const MAX_KEY_BYTES = 7999;

export class EventError extends Error {
  constructor(
    readonly code: 'EVENT_KEY_TOO_LONG' | 'EVENT_BUS_CLOSED',
    message: string,
  ) {
    super(message);
    this.name = 'EventError';
  }
}

export function channelOf(topic: Topic): string {
  return `glimpse_${topic}`;
}

export function topicOf(channel: string): Topic | undefined {
  return TOPICS.find((t) => channelOf(t) === channel);
}

export function checkKey(key: string): string {
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new EventError('EVENT_KEY_TOO_LONG', `event key is longer than ${MAX_KEY_BYTES} bytes`);
  }
  return key;
}
