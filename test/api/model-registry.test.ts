// The model registry over real HTTP (issue 22): versions per name (assigned by the database, concurrent
// registrations included), aliases set and moved with a recorded history, captions through a reference that
// record the exact version, and the CONFLICTs that keep aliases pointing at something.
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { codes, startTestApi, type TestApi } from './harness.ts';

const KEY = 'registry-test-key';
const KEY_NAME = `env:${createHash('sha256').update(KEY).digest('hex').slice(0, 8)}`;
let t: TestApi;
let png: string;

const gql = (query: string, variables: Record<string, unknown> = {}) => t.gql(query, variables, KEY);

/** a model row as a finished run or `glimpse model import` writes it: the database gives its version */
const register = (name: string) => t.db.prisma.model.create({ data: { name, path: '/models/x', vocabSize: 20, config: { units: 8 } } });

const SET = `mutation($name: String!, $alias: String!, $version: Int!) {
  setModelAlias(name: $name, alias: $alias, version: $version) { name alias version modelId updatedByKey } }`;
const CAPTION = `mutation($input: RequestCaptionInput!) { requestCaption(input: $input) { id modelId model { name version aliases } } }`;
const REQUEST = `query($id: ID!) { captionRequest(id: $id) { modelId model { id name version } } }`;

beforeAll(async () => {
  t = await startTestApi({ GLIMPSE_API_KEYS: KEY, GLIMPSE_MUTATIONS_PER_MINUTE_PER_KEY: '10000' });
  png = (
    await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 10, g: 200, b: 30 } } })
      .png()
      .toBuffer()
  ).toString('base64');
});
afterAll(() => t?.close());

describe('model names and versions', () => {
  it('numbers the models of a name 1, 2, … and lists names with their latest version', async () => {
    const one = await register('captioner');
    const two = await register('captioner');
    await register('other');
    expect([one.version, two.version]).toEqual([1, 2]);
    const res = await gql(
      `{ modelNamesConnection(nameContains: "caption") { totalCount edges { node { name versionCount latestVersion { id version } } } } }`,
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.modelNamesConnection).toEqual({
      totalCount: 1,
      edges: [{ node: { name: 'captioner', versionCount: 2, latestVersion: { id: two.id, version: 2 } } }],
    });
    const versions = await gql(`{ modelsConnection(name: "captioner") { edges { node { version } } } }`);
    expect(versions.data!.modelsConnection.edges.map((e: { node: { version: number } }) => e.node.version)).toEqual([2, 1]);
  });

  it('gives concurrent registrations under one name distinct versions, by insert and by renameModel', async () => {
    const inserted = await Promise.all(Array.from({ length: 8 }, () => register('burst')));
    expect(inserted.map((m) => m.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const loose = await Promise.all(Array.from({ length: 6 }, (_, i) => register(`loose ${i}`)));
    const renamed = await Promise.all(
      loose.map((m) => gql(`mutation($id: ID!) { renameModel(id: $id, name: "burst") { version } }`, { id: m.id })),
    );
    expect(renamed.flatMap((r) => r.errors ?? [])).toEqual([]);
    expect(renamed.map((r) => r.data!.renameModel.version).sort((a, b) => a - b)).toEqual([9, 10, 11, 12, 13, 14]);
  });

  it('never hands a deleted version out again', async () => {
    const first = await register('reuse');
    expect((await gql(`mutation($id: ID!) { deleteModel(id: $id) }`, { id: first.id })).errors).toBeUndefined();
    expect((await register('reuse')).version).toBe(2);
  });
});

describe('startTraining modelName', () => {
  it("records the name the run's model will be registered under; a bad one is BAD_USER_INPUT", async () => {
    const dataset = await t.db.prisma.dataset.create({
      data: {
        name: 'named-runs',
        kind: 'SYNTHETIC',
        status: 'READY',
        imageCount: 8,
        captionCount: 40,
        maxCaptionTokens: 8,
        vocabularyWords: 12,
        imageSide: 64,
      },
    });
    const START = `mutation($input: StartTrainingInput!) { startTraining(input: $input) { id modelName } }`;
    const started = await gql(START, { input: { datasetId: dataset.id, modelName: '  captioner ' } });
    expect(started.errors).toBeUndefined();
    expect(started.data!.startTraining.modelName).toBe('captioner');
    const unnamed = await gql(START, { input: { datasetId: dataset.id } });
    expect(unnamed.data!.startTraining.modelName).toBeNull();
    expect(codes(await gql(START, { input: { datasetId: dataset.id, modelName: 'x'.repeat(101) } }))).toEqual(['BAD_USER_INPUT']);
  });
});

describe('aliases', () => {
  it('captions through an alias, and the next request after a move uses the new version; history records both', async () => {
    const v1 = await register('shapes');
    const v2 = await register('shapes');
    const set = await gql(SET, { name: 'shapes', alias: 'production', version: 1 });
    expect(set.errors).toBeUndefined();
    expect(set.data!.setModelAlias).toEqual({ name: 'shapes', alias: 'production', version: 1, modelId: v1.id, updatedByKey: KEY_NAME });

    const before = await gql(CAPTION, { input: { model: 'shapes@production', imageBase64: png } });
    expect(before.errors).toBeUndefined();
    expect(before.data!.requestCaption).toMatchObject({ modelId: v1.id, model: { name: 'shapes', version: 1, aliases: ['production'] } });

    expect((await gql(SET, { name: 'shapes', alias: 'production', version: 2 })).data!.setModelAlias.modelId).toBe(v2.id);
    const after = await gql(CAPTION, { input: { model: 'shapes@production', imageBase64: png } });
    expect(after.data!.requestCaption).toMatchObject({ modelId: v2.id, model: { name: 'shapes', version: 2 } });
    // the first request still records the version that answered it
    const stored = await gql(REQUEST, { id: before.data!.requestCaption.id });
    expect(stored.data!.captionRequest).toEqual({ modelId: v1.id, model: { id: v1.id, name: 'shapes', version: 1 } });
    // by version and by id as well; modelId keeps working
    for (const input of [{ model: 'shapes:1' }, { model: v1.id }, { modelId: v1.id }]) {
      const res = await gql(CAPTION, { input: { ...input, imageBase64: png } });
      expect(res.data!.requestCaption.modelId).toBe(v1.id);
    }

    const history = await gql(`{ modelAliasHistory(name: "shapes", first: 1) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { alias fromVersion toVersion byKey } } } }`);
    const page = history.data!.modelAliasHistory;
    expect(page.totalCount).toBe(2);
    expect(page.edges[0].node).toEqual({ alias: 'production', fromVersion: 1, toVersion: 2, byKey: KEY_NAME });
    const next = await gql(
      `query($after: String) { modelAliasHistory(name: "shapes", after: $after) { edges { node { fromVersion toVersion } } } }`,
      {
        after: page.pageInfo.endCursor,
      },
    );
    expect(next.data!.modelAliasHistory.edges).toEqual([{ node: { fromVersion: null, toVersion: 1 } }]);

    const names = await gql(`{ modelNamesConnection(nameContains: "shapes") { edges { node { aliases { alias version } } } } }`);
    expect(names.errors).toBeUndefined();
    expect(names.data!.modelNamesConnection.edges[0].node.aliases).toEqual([{ alias: 'production', version: 2 }]);
  });

  it('refuses to delete or rename an aliased version (CONFLICT naming the alias) until the alias goes', async () => {
    const model = await register('guarded');
    await gql(SET, { name: 'guarded', alias: 'champion', version: model.version });
    const del = await gql(`mutation($id: ID!) { deleteModel(id: $id) }`, { id: model.id });
    expect(codes(del)).toEqual(['CONFLICT']);
    expect(del.errors![0]!.extensions!.aliases).toEqual(['guarded@champion']);
    const rename = await gql(`mutation($id: ID!) { renameModel(id: $id, name: "elsewhere") { id } }`, { id: model.id });
    expect(codes(rename)).toEqual(['CONFLICT']);

    const removed = await gql(`mutation { deleteModelAlias(name: "guarded", alias: "champion") { alias version } }`);
    expect(removed.data!.deleteModelAlias).toEqual({ alias: 'champion', version: 1 });
    expect(codes(await gql(CAPTION, { input: { model: 'guarded@champion', imageBase64: png } }))).toEqual(['NOT_FOUND']);
    const history = await gql(`{ modelAliasHistory(name: "guarded") { edges { node { fromVersion toVersion } } } }`);
    expect(history.data!.modelAliasHistory.edges[0].node).toEqual({ fromVersion: 1, toVersion: null });
    expect((await gql(`mutation($id: ID!) { deleteModel(id: $id) }`, { id: model.id })).errors).toBeUndefined();
    // the record stays: the history is append-only
    await expect(t.db.prisma.modelAliasEvent.deleteMany({ where: { name: 'guarded' } })).rejects.toThrow(/append-only/);
  });

  it('answers bad input, unknown references and unknown versions with typed errors', async () => {
    await register('typed');
    const cases: [string, Record<string, unknown>, string][] = [
      [SET, { name: 'typed', alias: 'Production', version: 1 }, 'BAD_USER_INPUT'],
      [SET, { name: 'typed', alias: 'a'.repeat(33), version: 1 }, 'BAD_USER_INPUT'],
      [SET, { name: 'typed', alias: 'prod', version: 0 }, 'BAD_USER_INPUT'],
      [SET, { name: ' ', alias: 'prod', version: 1 }, 'BAD_USER_INPUT'],
      [SET, { name: 'typed', alias: 'prod', version: 7 }, 'NOT_FOUND'],
      [SET, { name: 'no such name', alias: 'prod', version: 1 }, 'NOT_FOUND'],
      [`mutation { deleteModelAlias(name: "typed", alias: "prod") { alias } }`, {}, 'NOT_FOUND'],
      [`{ modelAliasHistory(name: "no such name") { totalCount } }`, {}, 'NOT_FOUND'],
      [CAPTION, { input: { model: 'typed', imageBase64: png } }, 'BAD_USER_INPUT'],
      [CAPTION, { input: { model: 'typed:x', imageBase64: png } }, 'BAD_USER_INPUT'],
      [CAPTION, { input: { model: 'typed@', imageBase64: png } }, 'BAD_USER_INPUT'],
      [CAPTION, { input: { model: 'typed:1', modelId: '00000000-0000-4000-8000-000000000000', imageBase64: png } }, 'BAD_USER_INPUT'],
      [CAPTION, { input: { imageBase64: png } }, 'BAD_USER_INPUT'],
      [CAPTION, { input: { model: 'typed:2', imageBase64: png } }, 'NOT_FOUND'],
      [CAPTION, { input: { model: 'typed@prod', imageBase64: png } }, 'NOT_FOUND'],
      [CAPTION, { input: { model: '00000000-0000-4000-8000-000000000000', imageBase64: png } }, 'NOT_FOUND'],
      [`{ modelByRef(ref: "typed:1") { version } }`, {}, ''],
      [`{ modelByRef(ref: "${'x'.repeat(200)}@prod") { version } }`, {}, 'BAD_USER_INPUT'],
    ];
    for (const [query, variables, code] of cases) {
      const res = await gql(query, variables);
      expect(codes(res), `${query} ${JSON.stringify(variables).slice(0, 120)}`).toEqual(code ? [code] : []);
    }

    // at most 20 aliases per name: a 21st is CONFLICT, moving one of the 20 is not
    await register('typed');
    for (let i = 0; i < 20; i++) expect((await gql(SET, { name: 'typed', alias: `a${i}`, version: 1 })).errors).toBeUndefined();
    const over = await gql(SET, { name: 'typed', alias: 'a20', version: 1 });
    expect(codes(over)).toEqual(['CONFLICT']);
    expect(over.errors![0]!.extensions).toMatchObject({ field: 'alias', limit: 20 });
    expect((await gql(SET, { name: 'typed', alias: 'a0', version: 2 })).data!.setModelAlias.version).toBe(2);
  });
});
