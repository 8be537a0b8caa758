// How many WebSockets one client address may hold open, and how many operations one WebSocket may run at
// once (GLIMPSE_WS_CONNECTIONS_PER_ADDRESS, GLIMPSE_WS_SUBSCRIPTIONS_PER_CONNECTION; 0 = no limit).
// Connections are counted per address at the HTTP upgrade, before the WebSocket handshake completes, and
// released when the TCP socket closes, however it ends. The address is the socket's peer, as for the
// mutation rate (X-Forwarded-For is not trusted): behind a reverse proxy every client shares the proxy's.
// A connection over the cap is accepted and closed at once with 1013 "Try Again Later" (RFC 6455's code
// for a temporary refusal), so that browsers, which see nothing of a refused HTTP upgrade, get a code and
// a reason; graphql-ws clients retry a 1013 with their back-off. A refused socket is not counted, so it is
// cut after REFUSED_CLOSE_MS if its client does not finish the closing handshake.
import type { Socket } from 'node:net';
import { GraphQLError } from 'graphql';
import ipaddr from 'ipaddr.js';
import type { Logger } from '../log.ts';

/** the close code of a connection refused for the per-address cap (RFC 6455: Try Again Later) */
export const TOO_MANY_CONNECTIONS_CLOSE = 1013;

/** how long a refused connection may take to answer its close frame before its socket is cut (ms) */
export const REFUSED_CLOSE_MS = 1000;

export interface ConnectionLimiter {
  /** counts `socket` for its address until it closes; false (nothing counted): over the cap, refuse it */
  admit(socket: Socket): boolean;
  /** the close reason a refused connection gets (at most 123 bytes, as a close frame allows) */
  readonly refusal: string;
}

/** One client, one key: an IPv4-mapped IPv6 peer (`::ffff:10.0.0.5`, on a dual-stack listener) is its IPv4 address. */
function clientAddressKey(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  return ipaddr.isValid(address) ? ipaddr.process(address).toString() : address;
}

export function connectionLimiter(maxPerAddress: number, log: Logger): ConnectionLimiter {
  const open = new Map<string, { count: number; warned: boolean }>();
  const refusal = `too many connections from this address: at most ${maxPerAddress} (GLIMPSE_WS_CONNECTIONS_PER_ADDRESS)`;
  return {
    refusal,
    admit(socket) {
      if (maxPerAddress === 0) return true;
      const address = clientAddressKey(socket.remoteAddress);
      const entry = open.get(address) ?? { count: 0, warned: false };
      if (entry.count >= maxPerAddress) {
        // one line per episode (until the address's connections are all closed), not one per refusal
        if (!entry.warned) log.warn({ clientAddress: address, limit: maxPerAddress }, `refusing WebSockets: ${refusal}`);
        entry.warned = true;
        return false;
      }
      entry.count++;
      open.set(address, entry);
      socket.once('close', () => {
        if (--entry.count === 0) open.delete(address);
      });
      return true;
    },
  };
}

/**
 * The error an operation gets when its connection already runs `max` others (subscriptions, and queries or
 * mutations still executing); null within the limit. `running` includes the operation asking.
 */
export function tooManyOperations(running: number, max: number): GraphQLError | null {
  if (max === 0 || running <= max) return null;
  return new GraphQLError(
    `too many operations on this connection: at most ${max} at once (GLIMPSE_WS_SUBSCRIPTIONS_PER_CONNECTION); complete one, or open another connection`,
    { extensions: { code: 'TOO_MANY_SUBSCRIPTIONS', limit: max } },
  );
}
