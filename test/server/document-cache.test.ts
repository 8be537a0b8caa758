// Validated documents by query text (src/server/document-cache.ts): a text that passed the limit rules is not
// parsed or validated again; a refused text is checked every time; the cache keeps the most recently used texts.
import { buildSchema, GraphQLError, type ValidationContext } from 'graphql';
import { describe, expect, it } from 'vitest';
import { DocumentCache } from '../../src/server/document-cache.ts';
import { precheck } from '../../src/server/limits.ts';

const schema = buildSchema('type Query { a: Int, b: Int }');
const limits = { maxLength: 1000, maxTokens: 100, maxDepth: 5, maxAliases: 5, maxDirectives: 5, maxCost: 100 };

describe('DocumentCache', () => {
  it('answers a text that passed from the cache; checks a refused one each time', () => {
    let validations = 0;
    // a rule that counts its runs and refuses documents asking for `b`
    const rule = (context: ValidationContext) => {
      validations++;
      return {
        Field(node: { name: { value: string } }) {
          if (node.name.value === 'b') context.reportError(new GraphQLError('no b'));
        },
      };
    };
    const cache = new DocumentCache();
    const first = precheck(schema, '{ a }', limits, [rule as never], cache);
    const again = precheck(schema, '{ a }', limits, [rule as never], cache);
    expect(first.errors).toBeUndefined();
    expect(again.document).toBe(first.document);
    expect(validations).toBe(1);
    expect(precheck(schema, '{ b }', limits, [rule as never], cache).errors).toHaveLength(1);
    expect(precheck(schema, '{ b }', limits, [rule as never], cache).errors).toHaveLength(1);
    expect(validations).toBe(3);
    // the length limit still comes first
    expect(precheck(schema, `{ a ${' '.repeat(2000)}}`, limits, [rule as never], cache).errors?.[0]?.extensions.code).toBe(
      'QUERY_TOO_LARGE',
    );
  });

  it('keeps the most recently used texts up to its size', () => {
    const cache = new DocumentCache(2);
    const doc = (n: number) => ({ kind: 'Document', definitions: [], n }) as never;
    cache.add('one', doc(1));
    cache.add('two', doc(2));
    expect(cache.get('one')).toBeDefined(); // used: now the newest
    cache.add('three', doc(3));
    expect(cache.get('two')).toBeUndefined();
    expect(cache.get('one')).toBeDefined();
    expect(cache.get('three')).toBeDefined();
  });
});
