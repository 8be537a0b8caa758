// The request's logger (ApiContext.log): what resolvers and the server log during a request carries
// the request's id, the client's address and the operation's name as fields, over HTTP and graphql-ws.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.ts';
import { codes, collect, type GraphQLResponse, startTestApi, type TestApi } from './harness.ts';

interface Line {
  level: number;
  msg: string;
  role?: string;
  requestId?: string;
  clientAddress?: string;
  operation?: string;
  err?: { message: string };
  folder?: string;
}

const lines: Line[] = [];
let t: TestApi;
let outside: string;

beforeAll(async () => {
  outside = mkdtempSync(join(tmpdir(), 'glimpse-request-log-'));
  const log = createLogger({ level: 'debug', pretty: false, destination: { write: (line: string) => lines.push(JSON.parse(line)) } });
  t = await startTestApi({}, { log: log.child({ role: 'api' }) });
});
afterAll(async () => {
  await t?.close();
  rmSync(outside, { recursive: true, force: true });
});

async function post(query: string, variables: Record<string, unknown>, requestId: string): Promise<GraphQLResponse> {
  const res = await fetch(t.api.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as GraphQLResponse;
}

const linesOf = (requestId: string) => lines.filter((line) => line.requestId === requestId);

/** a real internal error: the table serverInfo reads is renamed away while `run` runs */
async function withoutWorkerTable<T>(run: () => Promise<T>): Promise<T> {
  await t.db.prisma.$executeRawUnsafe('ALTER TABLE "Worker" RENAME TO "WorkerGone"');
  try {
    return await run();
  } finally {
    await t.db.prisma.$executeRawUnsafe('ALTER TABLE "WorkerGone" RENAME TO "Worker"');
  }
}

describe('the request logger', () => {
  it('a resolver warning over HTTP carries the request id, client address and the operation named in the document', async () => {
    const foreign = join(outside, 'foreign-model');
    mkdirSync(foreign);
    const model = await t.db.prisma.model.create({ data: { name: 'foreign', path: foreign, vocabSize: 10, config: {} } });
    const res = await post(`mutation Remove($id: ID!) { deleteModel(id: $id) }`, { id: model.id }, 'req-log-delete');
    expect(res.errors).toBeUndefined();
    const [line] = linesOf('req-log-delete');
    expect(line).toMatchObject({
      msg: 'refusing to delete a folder outside its data root',
      role: 'api',
      operation: 'Remove',
      folder: foreign,
    });
    expect(line!.clientAddress).toMatch(/127\.0\.0\.1$/);
  });

  it('an internal error over HTTP is logged once on the request logger with the id the client was shown', async () => {
    const res = await withoutWorkerTable(() => post(`query Probe { serverInfo { workers } }`, {}, 'req-log-http'));
    expect(codes(res)).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(res.errors![0]!.extensions!.requestId).toBe('req-log-http');
    const logged = linesOf('req-log-http');
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ msg: 'internal error', role: 'api', operation: 'Probe' });
    expect(logged[0]!.err!.message).toMatch(/Worker/);
  });

  it('an internal error over graphql-ws is logged on the operation logger with the id the client was shown', async () => {
    const res = await withoutWorkerTable(async () => {
      const probe = collect(t.ws(), `query WsProbe { serverInfo { workers } }`, {});
      await probe.completed;
      return probe.results[0]!;
    });
    expect(codes(res)).toEqual(['INTERNAL_SERVER_ERROR']);
    const requestId = res.errors![0]!.extensions!.requestId as string;
    const logged = linesOf(requestId);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ msg: 'internal error', role: 'api', operation: 'WsProbe' });
    expect(logged[0]!.clientAddress).toMatch(/127\.0\.0\.1$/);
  });
});
