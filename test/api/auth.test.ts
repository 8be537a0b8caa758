// GLIMPSE_API_KEYS set: every mutation (and, see read-access.test.ts, every read) needs a bearer key (HTTP header
// or graphql-ws connectionParams).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startTestApi, type TestApi } from './harness.ts';

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi({ GLIMPSE_API_KEYS: 'key-one,key-two' });
});
afterAll(() => t?.close());

const CREATE = `mutation($name: String!) { createDataset(input: { name: $name, synthetic: { images: 3 } }) { id } }`;

/** one call per mutation of the schema, with arguments valid enough to reach the auth check */
const EVERY_MUTATION: Record<string, string> = {
  createDataset: `mutation { createDataset(input: { name: "x", synthetic: { images: 3 } }) { id } }`,
  startTraining: `mutation { startTraining(input: { datasetId: "x" }) { id } }`,
  cancelTraining: `mutation { cancelTraining(id: "x") { id } }`,
  resumeTraining: `mutation { resumeTraining(id: "x") { id } }`,
  requestCaption: `mutation { requestCaption(input: { modelId: "x", imageBase64: "iVBORw0KGgo=" }) { id } }`,
  deleteTrainingRun: `mutation { deleteTrainingRun(id: "x") }`,
  deleteModel: `mutation { deleteModel(id: "x") }`,
  deleteDataset: `mutation { deleteDataset(id: "x") }`,
  renameModel: `mutation { renameModel(id: "x", name: "y") { id } }`,
  setModelAlias: `mutation { setModelAlias(name: "x", alias: "production", version: 1) { alias } }`,
  deleteModelAlias: `mutation { deleteModelAlias(name: "x", alias: "production") { alias } }`,
  evaluateModel: `mutation { evaluateModel(input: { modelId: "x", datasetId: "y" }) { id } }`,
  cancelEvaluation: `mutation { cancelEvaluation(id: "x") { id } }`,
  captionDataset: `mutation { captionDataset(input: { modelId: "x", datasetId: "y" }) { id } }`,
  cancelBulkCaption: `mutation { cancelBulkCaption(id: "x") { id } }`,
  pauseQueue: `mutation { pauseQueue(name: "training") { name } }`,
  resumeQueue: `mutation { resumeQueue(name: "training") { name } }`,
  createApiKey: `mutation { createApiKey(input: { name: "x", scopes: [READ] }) { secret } }`,
  revokeApiKey: `mutation { revokeApiKey(name: "x") { name } }`,
  setApiKeyBudget: `mutation { setApiKeyBudget(name: "x", mutationsPerMinute: 5) { name } }`,
};

describe('API keys', () => {
  it('refuses every mutation without a key or with a wrong one, writing nothing', async () => {
    const schema = await t.gql(`{ __schema { mutationType { fields { name } } } }`);
    const names = schema.data!.__schema.mutationType.fields.map((f: { name: string }) => f.name).sort();
    expect(names).toEqual(Object.keys(EVERY_MUTATION).sort());
    for (const [name, query] of Object.entries(EVERY_MUTATION)) {
      for (const token of [undefined, 'wrong-key']) {
        const res = await t.gql(query, {}, token);
        expect(codes(res), `${name} with ${token ?? 'no key'}`).toEqual(['UNAUTHENTICATED']);
      }
    }
    expect(await t.db.prisma.dataset.count()).toBe(0);
  });

  it('accepts any configured key; queries need one too (see read-access.test.ts for GLIMPSE_PUBLIC_READ)', async () => {
    const one = await t.gql(CREATE, { name: 'with-key-one' }, 'key-one');
    const two = await t.gql(CREATE, { name: 'with-key-two' }, 'key-two');
    expect(one.errors).toBeUndefined();
    expect(two.errors).toBeUndefined();
    expect(codes(await t.gql(`{ datasets { name } }`))).toEqual(['UNAUTHENTICATED']);
    expect((await t.gql(`{ datasets { name } }`, {}, 'key-two')).data!.datasets).toHaveLength(2);
  });

  it('takes the key from graphql-ws connectionParams', async () => {
    const run = (token?: string) =>
      new Promise<Record<string, any>>((resolve, reject) => {
        const client = t.ws(token);
        client.subscribe(
          { query: CREATE, variables: { name: `ws-${token ?? 'none'}` } },
          { next: resolve, error: reject, complete: () => {} },
        );
      });
    // refused before anything executes, as an error message on the operation (as reads are)
    await expect(run()).rejects.toEqual([expect.objectContaining({ extensions: expect.objectContaining({ code: 'UNAUTHENTICATED' }) })]);
    const accepted = await run('key-two');
    expect(accepted.errors).toBeUndefined();
    expect(accepted.data.createDataset.id).toEqual(expect.any(String));
  });

  it('treats GLIMPSE_API_KEYS keys as admin keys: one creates a managed key, which works beside it', async () => {
    const created = await t.gql(
      `mutation { createApiKey(input: { name: "ci", scopes: [READ, CAPTION] }) { secret key { createdBy scopes } } }`,
      {},
      'key-one',
    );
    expect(created.errors).toBeUndefined();
    expect(created.data!.createApiKey.key).toEqual({ createdBy: expect.stringMatching(/^env:[0-9a-f]{8}$/), scopes: ['READ', 'CAPTION'] });
    const secret = created.data!.createApiKey.secret;
    expect((await t.gql(`{ datasets { name } }`, {}, secret)).errors).toBeUndefined();
    expect(codes(await t.gql(CREATE, { name: 'by-ci' }, secret))).toEqual(['FORBIDDEN']);
  });
});
