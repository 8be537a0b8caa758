// The dashboard's link to the API: queries over HTTP POST, subscriptions over graphql-ws, same path.
import { createClient, type Client } from 'graphql-ws';

const ENDPOINT = '/graphql';
const KEY_STORAGE = 'glimpse.apiKey';

/** The API key requests and subscriptions are sent with (kept in this browser's localStorage). */
export const apiKey = {
  get: (): string => localStorage.getItem(KEY_STORAGE) ?? '',
  set: (key: string): void => {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
    // the WebSocket presents the key when it connects: new subscriptions connect with the new one; the
    // old client keeps serving the subscriptions it has (a page's live stream is not cut) and, lazy,
    // closes its socket once they end
    client = undefined;
  },
};

export class ApiRequestError extends Error {
  readonly code: string;
  constructor(message: string, code = 'API_ERROR') {
    super(message);
    this.code = code;
  }
}

export async function query<T>(document: string, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await fetch(ENDPOINT, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json',
      ...(apiKey.get() ? { authorization: `Bearer ${apiKey.get()}` } : {}),
    },
    body: JSON.stringify({ query: document, variables }),
  });
  const body = (await res.json()) as { data?: T; errors?: { message: string; extensions?: { code?: string } }[] };
  const error = body.errors?.[0];
  if (error) throw new ApiRequestError(error.message, error.extensions?.code);
  return body.data as T;
}

let client: Client | undefined;

function wsClient(): Client {
  const url = new URL(ENDPOINT, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  // with GLIMPSE_API_KEYS set, subscriptions need the key too (unless the server sets GLIMPSE_PUBLIC_READ)
  client ??= createClient({ url: url.href, connectionParams: () => (apiKey.get() ? { authorization: `Bearer ${apiKey.get()}` } : {}) });
  return client;
}

/**
 * Calls onEvent for every result; returns the unsubscribe function. Variables given as a function are
 * read each time the subscription is sent: graphql-ws sends it again after it reconnects a dropped
 * socket, so a stream can resume where the page stands (trainingProgress's sinceStep) instead of
 * from where it first started.
 */
export function subscribe<T>(
  document: string,
  variables: Record<string, unknown> | (() => Record<string, unknown>),
  onEvent: (data: T) => void,
  onError: (error: Error) => void,
): () => void {
  const read = typeof variables === 'function' ? variables : () => variables;
  return wsClient().subscribe<T>(
    // a getter: graphql-ws serializes the payload anew for every (re)subscription
    {
      query: document,
      get variables() {
        return read();
      },
    },
    {
      next: (result) => {
        const error = result.errors?.[0];
        if (error) onError(new ApiRequestError(error.message, String(error.extensions?.code ?? 'API_ERROR')));
        else onEvent(result.data as T);
      },
      error: (e) => onError(e instanceof Error ? e : new ApiRequestError('subscription failed', 'SUBSCRIPTION_ERROR')),
      complete: () => {},
    },
  );
}

/** A page of a cursor-paginated list (modelsConnection, datasetsConnection, trainingRuns). */
export interface Connection<T> {
  edges: { node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

/** What a list query asks besides its rows: `… { ${PAGE_FIELDS} edges { node { … } } }` */
export const PAGE_FIELDS = 'totalCount pageInfo { hasNextPage endCursor }';

const ENUM = `query Enum($name: String!) { __type(name: $name) { enumValues { name } } }`;

/** The values of a GraphQL enum (a status filter's choices), read from the schema rather than copied here. */
export async function enumValues(name: string): Promise<string[]> {
  const { __type } = await query<{ __type: { enumValues: { name: string }[] } | null }>(ENUM, { name });
  return __type?.enumValues.map((v) => v.name) ?? [];
}
