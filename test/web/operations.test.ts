// Every GraphQL operation the dashboard sends and the IDE preloads is valid against the schema and uses
// no deprecated field (the unpaged `models` / `datasets` lists): checked here in milliseconds instead
// of in a browser.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type GraphQLSchema, NoDeprecatedCustomRule, parse, specifiedRules, validate } from 'graphql';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildApiSchema } from '../../src/resolvers/schema.ts';
import { PAGE_FIELDS } from '../../src/web/dashboard/api.ts';
import { EXAMPLE_TABS } from '../../src/web/ide/examples.ts';

const DASHBOARD = new URL('../../src/web/dashboard/', import.meta.url).pathname;

/** the one interpolation the dashboard's operations may hold */
const PAGE_FIELDS_SLOT = ['$', '{PAGE_FIELDS}'].join('');

/** The operation texts of a dashboard module: template literals opening with query/mutation/subscription. */
function operationsIn(file: string): string[] {
  const source = readFileSync(join(DASHBOARD, file), 'utf8');
  const operations = [...source.matchAll(/`\s*((?:query|mutation|subscription)\b[^`]*)`/g)];
  return operations.map((m) => m[1]!.replaceAll(PAGE_FIELDS_SLOT, PAGE_FIELDS));
}

let schema: GraphQLSchema;
beforeAll(async () => {
  schema = await buildApiSchema();
});

const problems = (text: string) => validate(schema, parse(text), [...specifiedRules, NoDeprecatedCustomRule]).map((e) => e.message);

describe('dashboard operations', () => {
  const files = readdirSync(DASHBOARD).filter((f) => f.endsWith('.ts'));
  it.each(files)('%s', (file) => {
    for (const text of operationsIn(file)) {
      expect(text, `only ${PAGE_FIELDS_SLOT} is interpolated`).not.toContain(['$', '{'].join(''));
      expect(problems(text), text).toEqual([]);
    }
  });

  it('are found: the list pages ask paginated lists', () => {
    const all = files.flatMap(operationsIn).join('\n');
    for (const list of ['modelsConnection', 'datasetsConnection', 'trainingRuns']) expect(all).toContain(list);
  });
});

it('the IDE examples are valid and use no deprecated field', () => {
  for (const tab of EXAMPLE_TABS) expect(problems(tab.query), tab.query).toEqual([]);
});
