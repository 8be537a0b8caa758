// No client string may hold NUL (src/server/nul-bytes.ts): variables at any depth and document literals are
// refused with BAD_USER_INPUT naming where; uploads (class instances) and other values pass.
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { nulRefusal } from '../../src/server/nul-bytes.ts';

const DOC = parse('query($id: ID!) { trainingRun(id: $id) { id } }');

describe('nulRefusal', () => {
  it('names the first variable path holding NUL', () => {
    expect(nulRefusal(DOC, { id: 'a\u0000b' })?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: '$id' });
    const deep = nulRefusal(DOC, { input: { ok: 'x', list: [1, 'fine', { name: '\u0000' }] } });
    expect(deep?.extensions.field).toBe('$input.list[2].name');
    expect(deep?.message).toMatch(/NUL/);
  });

  it('refuses a string literal holding NUL in the document', () => {
    const doc = parse('{ trainingRun(id: "x\\u0000") { id } }');
    expect(nulRefusal(doc, undefined)?.extensions).toEqual({ code: 'BAD_USER_INPUT', field: 'document' });
  });

  it('passes ordinary values, other control characters and uploads', () => {
    class Upload {
      value = '\u0000';
    }
    expect(nulRefusal(DOC, { id: 'a\tb', n: 3, flag: true, none: null, list: ['x'], upload: new Upload() })).toBeUndefined();
    expect(nulRefusal(parse('{ trainingRun(id: "x") { id } }'), undefined)).toBeUndefined();
  });
});
