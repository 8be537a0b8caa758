export { createEventBus, type EventBus, type EventBusOptions } from './bus.ts';
export { notify, type Notifier, type PgQueryable, type RawExecutor } from './notify.ts';
export { channelOf, EventError, type KeyedTopic, MAX_KEY_BYTES, type Topic, TOPICS, type UnkeyedTopic } from './topics.ts';
