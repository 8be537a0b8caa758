// Listens on all topic channels with one dedicated connection and fans wake-ups out to
// subscribers. After a lost connection it reconnects, LISTENs again and wakes every subscriber,
// because notifications sent while disconnected are gone (readers re-read the stored rows).
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { channelOf, checkKey, EventError, type KeyedTopic, type Topic, TOPICS, topicOf, type UnkeyedTopic } from './topics.ts';
import { WakeUps } from './wake-up.ts';

export interface EventBus {
  /** Subscribe before reading stored rows: a wake-up arriving in between is kept, not lost. */
  subscribe(topic: KeyedTopic, key: string): AsyncIterableIterator<void>;
  subscribe(topic: UnkeyedTopic): AsyncIterableIterator<void>;
  /** ends every subscription and the listening connection */
  close(): Promise<void>;
}

export interface EventBusOptions {
  /** connection problems (the bus keeps reconnecting) */
  onError?: (error: Error) => void;
  /** first reconnect delay, doubled up to 5 s; default 100 ms */
  reconnectDelayMs?: number;
}

const APPLICATION_NAME = 'glimpse-events';
const MAX_RECONNECT_DELAY_MS = 5000;

const subscriptionKey = (topic: Topic, key: string) => `${topic}\u0000${key}`;

class PgEventBus implements EventBus {
  private readonly subscriptions = new Map<string, Set<WakeUps>>();
  private client: pg.Client | undefined;
  private reconnecting: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly options: EventBusOptions,
  ) {}

  async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: APPLICATION_NAME, keepAlive: true });
    client.on('notification', (msg) => this.dispatch(msg.channel, msg.payload ?? ''));
    client.on('error', (error) => {
      this.options.onError?.(error);
      this.lost(client);
    });
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      await client.query(TOPICS.map((t) => `LISTEN ${channelOf(t)}`).join('; '));
    } catch (e) {
      await client.end().catch(() => undefined);
      throw e;
    }
    this.client = client;
  }

  subscribe(topic: Topic, key = ''): AsyncIterableIterator<void> {
    if (this.closed) throw new EventError('EVENT_BUS_CLOSED', 'the event bus is closed');
    const id = subscriptionKey(topic, checkKey(key));
    const iterator = new WakeUps((self) => {
      const set = this.subscriptions.get(id);
      set?.delete(self);
      if (set?.size === 0) this.subscriptions.delete(id);
    });
    let set = this.subscriptions.get(id);
    if (!set) this.subscriptions.set(id, (set = new Set()));
    set.add(iterator);
    return iterator;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const set of [...this.subscriptions.values()]) for (const it of [...set]) it.end();
    await this.reconnecting;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private dispatch(channel: string, key: string): void {
    const topic = topicOf(channel);
    if (!topic) return;
    for (const it of this.subscriptions.get(subscriptionKey(topic, key)) ?? []) it.wake();
  }

  private wakeAll(): void {
    for (const set of this.subscriptions.values()) for (const it of set) it.wake();
  }

  private lost(client: pg.Client): void {
    if (this.closed || client !== this.client) return;
    this.client = undefined;
    client.end().catch(() => undefined);
    this.reconnecting = this.reconnect().finally(() => {
      this.reconnecting = undefined;
    });
  }

  private async reconnect(): Promise<void> {
    let delay = this.options.reconnectDelayMs ?? 100;
    while (!this.closed) {
      await sleep(delay);
      if (this.closed) return;
      try {
        await this.connect();
        if (this.closed) {
          await this.client?.end().catch(() => undefined);
          return;
        }
        this.wakeAll();
        return;
      } catch (e) {
        this.options.onError?.(e as Error);
        delay = Math.min(delay * 2, MAX_RECONNECT_DELAY_MS);
      }
    }
  }
}

export async function createEventBus(url: string, options: EventBusOptions = {}): Promise<EventBus> {
  const bus = new PgEventBus(url, options);
  await bus.connect();
  return bus;
}
