// The "start a training run" form: a READY dataset and optional hyper-parameters. Its fields, their
// defaults (shown as placeholders) and descriptions (tooltips) are read from the API's schema by
// introspection — StartTrainingInput and EncoderInput, which the server derives from its settings
// schema — so the form never keeps a copy of a default. Blank fields take the server's defaults.
import { type Connection, query } from './api.ts';
import { h } from './dom.ts';
import { searchSelect } from './search-select.ts';

interface DatasetRow {
  id: string;
  name: string;
  status: string;
  imageCount: number;
  captionCount: number;
}

interface TypeRef {
  kind: string;
  name: string | null;
  ofType?: TypeRef | null;
}

interface InputField {
  name: string;
  description: string | null;
  defaultValue: string | null;
  type: TypeRef;
}

/** the newest READY datasets whose name holds the text: what the dataset choice offers */
const DATASETS = `query ReadyDatasets($name: String) { datasetsConnection(first: 20, status: READY, nameContains: $name) {
  edges { node { id name status imageCount captionCount } } } }`;
const FIELDS = `fragment T on __Type { kind name ofType { kind name ofType { kind name } } }
query TrainingInputFields {
  training: __type(name: "StartTrainingInput") { inputFields { name description defaultValue type { ...T } } }
  encoder: __type(name: "EncoderInput") { inputFields { name description defaultValue type { ...T } } }
}`;
const START = `mutation Start($input: StartTrainingInput!) { startTraining(input: $input) { id status } }`;

type Kind = 'int' | 'float' | 'intList' | 'bool';

/** A setting field of the input (scalars Int/Float/Boolean, or a list of Int), else null. */
function kindOf(field: InputField): Kind | null {
  const strip = (t: TypeRef | null | undefined) => (t?.kind === 'NON_NULL' ? t.ofType : t);
  const type = strip(field.type);
  if (type?.kind === 'SCALAR' && type.name === 'Int') return 'int';
  if (type?.kind === 'SCALAR' && type.name === 'Float') return 'float';
  if (type?.kind === 'SCALAR' && type.name === 'Boolean') return 'bool';
  if (type?.kind === 'LIST' && strip(type.ofType)?.name === 'Int') return 'intList';
  return null;
}

/** "batchSize" → "batch size" */
const label = (name: string) => name.replace(/[A-Z]/g, (c) => ` ${c.toLowerCase()}`);

/** The placeholder: the default as the schema states it ("[32, 64]" → "32,64"), or the automatic rule. */
function placeholder(field: InputField): string {
  if (field.defaultValue !== null) return field.defaultValue.replace(/[[\]\s]/g, '');
  return /default: ([^;]+)$/.exec(field.description ?? '')?.[1] ?? 'automatic';
}

interface SettingInput {
  name: string;
  kind: Kind;
  input: HTMLInputElement;
  label: HTMLElement;
}

function settingInput(field: InputField, kind: Kind): SettingInput {
  if (kind === 'bool') {
    // a checkbox starts at the schema's default and is always sent
    const box = h('input', { name: field.name, type: 'checkbox', title: field.description ?? '' }) as HTMLInputElement;
    box.checked = field.defaultValue === 'true';
    return { name: field.name, kind, input: box, label: h('label', { title: field.description ?? '' }, `${label(field.name)} `, box) };
  }
  const input = h('input', {
    name: field.name,
    type: kind === 'intList' ? 'text' : 'number',
    placeholder: placeholder(field),
    title: field.description ?? '',
    ...(kind === 'intList' ? {} : { step: kind === 'int' ? '1' : 'any', min: '0' }),
  }) as HTMLInputElement;
  return { name: field.name, kind, input, label: h('label', { title: field.description ?? '' }, `${label(field.name)} `, input) };
}

/** The typed value of a filled field, or a message for the user. */
function read({ name, kind, input }: SettingInput): number | number[] | boolean | string {
  if (kind === 'bool') return input.checked;
  const text = input.value.trim();
  const numbers = (kind === 'intList' ? text.split(',') : [text]).map((v) => Number(v.trim()));
  const whole = kind !== 'float';
  if (numbers.some((n) => !Number.isFinite(n) || (whole && !Number.isInteger(n)))) {
    const wanted = { int: 'a whole number', float: 'a number', intList: 'comma-separated whole numbers', bool: '' }[kind];
    return `${name}: ${wanted} please`;
  }
  return kind === 'intList' ? numbers : numbers[0]!;
}

export async function renderStartForm(): Promise<HTMLElement> {
  const message = h('span', { class: 'error' });
  const button = h('button', { type: 'submit', class: 'start' }, 'Start training') as HTMLButtonElement;
  const dataset = searchSelect({
    name: 'datasetId',
    placeholder: 'search READY datasets',
    find: async (text) => {
      const { datasetsConnection } = await query<{ datasetsConnection: Connection<DatasetRow> }>(DATASETS, { name: text || null });
      return datasetsConnection.edges.map(
        ({ node: d }) => [d.id, `${d.name} (${d.imageCount} images, ${d.captionCount} captions)`] as const,
      );
    },
    onChange: (value) => void (button.disabled = value === ''),
    onError: (error) => void (message.textContent = error.message),
  });
  const datasetSelect = dataset.select;
  const [ready, schema] = await Promise.all([
    dataset.refresh(),
    query<{ training: { inputFields: InputField[] }; encoder: { inputFields: InputField[] } }>(FIELDS),
  ]);
  const settings = (fields: InputField[]) =>
    fields.flatMap((f) => {
      const kind = kindOf(f);
      return kind ? [settingInput(f, kind)] : [];
    });
  const training = settings(schema.training.inputFields);
  const encoder = settings(schema.encoder.inputFields);
  const backbone = h('input', { name: 'backbone', size: '60', placeholder: 'none: a small CNN trained from scratch' }) as HTMLInputElement;
  const form = h(
    'form',
    { class: 'start-form', novalidate: '' },
    h('h2', {}, 'Start a run'),
    ready
      ? h('label', {}, 'dataset ', dataset.search, ' ', datasetSelect)
      : h('p', {}, 'No READY dataset yet: create one on the ', h('a', { href: '#/datasets' }, 'Datasets'), ' page.'),
    h('div', { class: 'fields' }, ...training.map((i) => i.label)),
    h('div', { class: 'fields encoder' }, h('span', {}, 'encoder: '), ...encoder.map((i) => i.label)),
    h('div', { class: 'fields' }, h('label', {}, 'pretrained backbone (TF.js model.json URL) ', backbone)),
    h('p', {}, button, ' ', message),
  );
  button.disabled = !ready;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    message.textContent = '';
    const collect = (inputs: SettingInput[], into: Record<string, unknown>): boolean => {
      for (const setting of inputs) {
        if (setting.kind !== 'bool' && setting.input.value.trim() === '') continue;
        const value = read(setting);
        if (typeof value === 'string') {
          message.textContent = value;
          return false;
        }
        into[setting.name] = value;
      }
      return true;
    };
    const input: Record<string, unknown> = { datasetId: datasetSelect.value };
    const enc: Record<string, unknown> = {};
    if (!collect(training, input) || !collect(encoder, enc)) return;
    if (backbone.value.trim()) enc.backbone = backbone.value.trim();
    if (Object.keys(enc).length) input.encoder = enc;
    button.disabled = true;
    try {
      const { startTraining } = await query<{ startTraining: { id: string } }>(START, { input });
      location.hash = `#/runs/${startTraining.id}`;
    } catch (error) {
      message.textContent = (error as Error).message;
    } finally {
      button.disabled = false;
    }
  });
  return form;
}
