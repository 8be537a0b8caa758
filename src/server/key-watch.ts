// Open WebSockets hold their callers' keys: a subscription authorised by a key keeps streaming long after the
// request that opened it. When keys change on any API process (the `api_key` NOTIFY: created, revoked,
// re-budgeted) and every key cache period besides (a lost notification), the keys behind each open socket's
// operations are identified again; a socket whose key no longer stands for the same caller (revoked, deleted) is
// closed with graphql-ws's 4403 Forbidden, ending its subscriptions. While the database cannot be asked the sockets
// are left alone (the outage has its own path: ./health.ts).
import type { WebSocket } from 'ws';
import type { Caller } from '../keys/scopes.ts';
import type { Logger } from '../log.ts';

/** graphql-ws's Forbidden close code */
export const KEY_REVOKED_CLOSE = 4403;
export const KEY_REVOKED_REASON = 'Forbidden: the API key was revoked';

export interface KeyWatchOptions {
  identify(token: string | null): Promise<Caller>;
  /** subscribe to key changes announced by any process; returns an unsubscribe */
  onChange(listener: () => void): () => void;
  /** re-check this often even without an announcement (the key cache period) */
  everyMs: number;
  log: Logger;
}

export interface KeyWatch {
  /** an operation on `socket` runs as `keyName`, presented as `token` */
  track(socket: WebSocket, token: string, keyName: string): void;
  /** re-checks every tracked socket now (resolves when done) */
  check(): Promise<void>;
  close(): void;
}

export function keyWatch(options: KeyWatchOptions): KeyWatch {
  /** per open socket: the tokens its operations presented, each with the key name it stood for */
  const held = new Map<WebSocket, Map<string, string>>();
  let running: Promise<void> | undefined;
  let again = false;

  async function sweep(): Promise<void> {
    for (const [socket, tokens] of [...held]) {
      for (const [token, keyName] of tokens) {
        let caller: Caller;
        try {
          caller = await options.identify(token);
        } catch {
          return; // the database cannot be asked: nothing is closed on a guess
        }
        if (caller.keyName === keyName) continue;
        held.delete(socket);
        options.log.info({ key: keyName }, `closed a WebSocket: its API key no longer holds (${KEY_REVOKED_CLOSE})`);
        socket.close(KEY_REVOKED_CLOSE, KEY_REVOKED_REASON);
        break;
      }
    }
  }

  function check(): Promise<void> {
    if (running) {
      again = true; // a change during a sweep gets a sweep of its own
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await sweep();
      } while (again);
    })().finally(() => {
      running = undefined;
    });
    return running;
  }

  const unsubscribe = options.onChange(() => void check());
  const timer = setInterval(() => void check(), Math.max(1000, options.everyMs));
  timer.unref();
  return {
    track(socket, token, keyName) {
      let tokens = held.get(socket);
      if (!tokens) {
        tokens = new Map();
        held.set(socket, tokens);
        socket.once('close', () => held.delete(socket));
      }
      tokens.set(token, keyName);
    },
    check,
    close() {
      unsubscribe();
      clearInterval(timer);
      held.clear();
    },
  };
}
