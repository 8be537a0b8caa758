// graphql-ws on the HTTP server's /graphql path: subscriptions (and queries/mutations) over WebSocket.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type { ApiContext } from '../resolvers/context.ts';
import { connectionParamsToken, requestContext, type SharedContext } from './context.ts';
import { formatErrors, type InternalErrorLogger } from './errors.ts';

export interface WebSocketEndpoint {
  /** closes every socket (ending their subscriptions) and the server */
  close(): Promise<void>;
}

export function attachWebSocket(
  httpServer: Server,
  path: string,
  schema: GraphQLSchema,
  shared: SharedContext,
  log: InternalErrorLogger,
): WebSocketEndpoint {
  const wsServer = new WebSocketServer({ server: httpServer, path });
  const handle = useServer<Record<string, unknown> | undefined>(
    {
      schema,
      context: (ctx): ApiContext => requestContext(shared, connectionParamsToken(ctx.connectionParams), randomUUID()),
      onNext: (_ctx, _id, _payload, args, result) => {
        if (!result.errors?.length) return;
        const { requestId } = args.contextValue as ApiContext;
        return { ...result, errors: formatErrors(result.errors, requestId, log) };
      },
    },
    wsServer,
  );
  return {
    async close() {
      await handle.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
