// The compose stack checked from outside, through its published port (.ci/image runs it):
//   tsx scripts/docker/smoke.ts train <base URL> <API key> <state file>
//     the dashboard and the IDE load; a synthetic set is made, a tiny run trains to SUCCEEDED, a caption of its
//     model streams over graphql-ws; the run's and model's ids go to <state file>
//   tsx scripts/docker/smoke.ts check <base URL> <API key> <state file>
//     after `compose down` and `up`: the run is still SUCCEEDED with the same model, which still captions
// Exits 1 with the reason on the first check that fails.
import { readFileSync, writeFileSync } from 'node:fs';
import { createClient } from 'graphql-ws';
import sharp from 'sharp';
import WebSocket from 'ws';

const [mode, base, key, stateFile] = process.argv.slice(2);
if ((mode !== 'train' && mode !== 'check') || !base || !key || !stateFile) {
  console.error('usage: tsx scripts/docker/smoke.ts train|check <base URL> <API key> <state file>');
  process.exit(2);
}
const api = `${base}/graphql`;
const started = Date.now();
const say = (what: string) => console.log(`[smoke ${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);

function fail(why: string): never {
  console.error(`[smoke] FAILED: ${why}`);
  process.exit(1);
}

// biome-ignore lint/suspicious/noExplicitAny: GraphQL answers are checked field by field below
async function gql(query: string, variables: Record<string, unknown> = {}): Promise<any> {
  const res = await fetch(api, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: unknown; errors?: unknown };
  if (body.errors) fail(`${query.slice(0, 80)}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

async function until<T>(what: string, probe: () => Promise<T>, done: (v: T) => boolean, seconds: number): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await probe();
    if (done(value)) return value;
    if (Date.now() > deadline) fail(`${what}: not within ${seconds} s (last: ${JSON.stringify(value)})`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function pages(): Promise<void> {
  const dashboard = await fetch(`${base}/`);
  const html = await dashboard.text();
  const script = /<script type="module" src="(\/assets\/dashboard\.[0-9a-f]{12}\.js)">/.exec(html)?.[1];
  if (dashboard.status !== 200 || !script) fail(`dashboard: HTTP ${dashboard.status} ${html.slice(0, 300)}`);
  const js = await fetch(base + script);
  if (js.status !== 200 || (await js.text()).length < 1000) fail(`dashboard script ${script}: HTTP ${js.status}`);
  const ide = await fetch(api, { headers: { accept: 'text/html' } });
  const ideHtml = await ide.text();
  const graphiql = /\/ide\/graphiql\.[0-9a-f]{12}\.js/.exec(ideHtml)?.[0];
  if (ide.status !== 200 || !graphiql) fail(`GraphiQL: HTTP ${ide.status} ${ideHtml.slice(0, 300)}`);
  const ideJs = await fetch(base + graphiql);
  if (ideJs.status !== 200) fail(`GraphiQL script ${graphiql}: HTTP ${ideJs.status}`);
  say(`dashboard (${script}) and GraphiQL (${graphiql}) load`);
}

/** one caption streamed over graphql-ws: its words, then the done event */
async function caption(modelId: string): Promise<string> {
  const image = (
    await sharp({ create: { width: 32, height: 32, channels: 3, background: '#c33' } })
      .png()
      .toBuffer()
  ).toString('base64');
  const { requestCaption } = await gql('mutation($i: RequestCaptionInput!) { requestCaption(input: $i) { id } }', {
    i: { modelId, imageBase64: image },
  });
  const ws = createClient({
    url: api.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${key}` },
  });
  try {
    const events: { token: string | null; attention: number[] | null; done: boolean; caption: string | null }[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('captionStream: no final event within 120 s')), 120_000);
      ws.subscribe(
        {
          query: 'subscription($id: ID!) { captionStream(requestId: $id) { token attention done caption } }',
          variables: { id: requestCaption.id },
        },
        {
          next: (m) => {
            if (m.errors) reject(new Error(JSON.stringify(m.errors)));
            else events.push((m.data as { captionStream: (typeof events)[number] }).captionStream);
          },
          error: (e) => reject(e instanceof Error ? e : new Error(JSON.stringify(e))),
          complete: () => {
            clearTimeout(timer);
            resolve();
          },
        },
      );
    }).catch((e: Error) => fail(e.message));
    const last = events.at(-1);
    const words = events.filter((e) => !e.done);
    if (!last?.done || typeof last.caption !== 'string') fail(`captionStream ended without a done event: ${JSON.stringify(events)}`);
    if (words.length === 0 || words.some((w) => !w.token || !w.attention?.length))
      fail(`captionStream: no words with attention: ${JSON.stringify(events)}`);
    say(`caption streamed over graphql-ws: ${words.length} words, "${last.caption}"`);
    return last.caption;
  } finally {
    await ws.dispose();
  }
}

const RUN = 'query($id: ID!) { trainingRun(id: $id) { status error step totalSteps model { id } } }';

/** both workers (training + dataset, caption) have registered: the stack is up end to end */
async function workersLive(): Promise<void> {
  const { serverInfo } = await until(
    'two live workers',
    () => gql('{ serverInfo { workers backend } }'),
    (d) => d.serverInfo.workers >= 2 && d.serverInfo.backend !== null,
    180,
  );
  say(`${serverInfo.workers} workers live, backend ${serverInfo.backend}`);
}

if (mode === 'train') {
  await pages();
  await workersLive();
  const { createDataset } = await gql('mutation { createDataset(input: { name: "smoke", synthetic: { images: 24, seed: 4 } }) { id } }');
  await until(
    'the synthetic set READY',
    async () => (await gql('query($id: ID!) { dataset(id: $id) { status } }', { id: createDataset.id })).dataset.status,
    (s) => s === 'READY',
    180,
  );
  say('synthetic set READY');
  // the smallest settings that still train a real model: 3 batches of 8 at 32 px, a small decoder
  const { startTraining } = await gql('mutation($i: StartTrainingInput!) { startTraining(input: $i) { id totalSteps } }', {
    i: {
      datasetId: createDataset.id,
      epochs: 1,
      batchSize: 8,
      units: 16,
      embeddingDim: 8,
      vocabSize: 30,
      seed: 2,
      encoder: { imageSize: 32, channels: [4, 8] },
    },
  });
  const run = await until(
    'the run SUCCEEDED',
    async () => (await gql(RUN, { id: startTraining.id })).trainingRun,
    (r) => r.status === 'SUCCEEDED' || r.status === 'FAILED' || r.status === 'CANCELLED',
    300,
  );
  if (run.status !== 'SUCCEEDED' || !run.model?.id) fail(`the run ended ${run.status}: ${run.error}`);
  say(`run ${startTraining.id} SUCCEEDED after ${run.step} of ${run.totalSteps} steps: model ${run.model.id}`);
  await caption(run.model.id);
  writeFileSync(stateFile, JSON.stringify({ runId: startTraining.id, modelId: run.model.id }));
} else {
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { runId: string; modelId: string };
  await workersLive();
  const run = (await gql(RUN, { id: state.runId })).trainingRun;
  if (run.status !== 'SUCCEEDED' || run.model?.id !== state.modelId)
    fail(`after the restart the run is ${JSON.stringify(run)}, expected SUCCEEDED with model ${state.modelId}`);
  const { model } = await gql('query($id: ID!) { model(id: $id) { id } }', { id: state.modelId });
  if (model.id !== state.modelId) fail(`model ${state.modelId} is gone`);
  say(`after down and up: run ${state.runId} SUCCEEDED, model ${state.modelId} kept`);
  await caption(state.modelId);
}
