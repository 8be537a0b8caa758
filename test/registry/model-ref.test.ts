// The model reference grammar (src/registry/model-ref.ts): the three forms, names holding "@" or ":", and what is refused.
import { describe, expect, it } from 'vitest';
import { aliasProblem, formatModelRef, MAX_MODEL_REF, ModelRefSyntaxError, parseModelRef } from '../../src/registry/model-ref.ts';

describe('parseModelRef', () => {
  it('reads name@alias, name:version and a model id', () => {
    expect(parseModelRef('captioner@production')).toEqual({ kind: 'alias', name: 'captioner', alias: 'production' });
    expect(parseModelRef(' captioner:3 ')).toEqual({ kind: 'version', name: 'captioner', version: 3 });
    expect(parseModelRef('3F0C1A2B-0000-4000-8000-000000000001')).toEqual({ kind: 'id', id: '3f0c1a2b-0000-4000-8000-000000000001' });
  });

  it('splits at the last "@" or ":", so names may hold them', () => {
    expect(parseModelRef('shapes, run 1: big@champion')).toEqual({ kind: 'alias', name: 'shapes, run 1: big', alias: 'champion' });
    expect(parseModelRef('team@site:12')).toEqual({ kind: 'version', name: 'team@site', version: 12 });
    expect(formatModelRef('team@site', 12)).toBe('team@site:12');
    expect(formatModelRef('a', 'prod')).toBe('a@prod');
  });

  it('refuses anything else with a ModelRefSyntaxError that says what was expected', () => {
    for (const bad of [
      '',
      '   ',
      'captioner',
      '@prod',
      ':3',
      'c@Prod',
      'c@1x',
      'c:0',
      'c:03',
      'c:-1',
      'c:1.5',
      'c:99999999999',
      `${'x'.repeat(MAX_MODEL_REF)}:1`,
      // NUL: no model name holds it (Postgres text cannot), and the lookup must not send it
      'cap\u0000tioner@production',
      'captioner:1\u0000',
    ]) {
      expect(() => parseModelRef(bad), JSON.stringify(bad)).toThrow(ModelRefSyntaxError);
    }
    expect(() => parseModelRef('captioner')).toThrow(/name@alias/);
  });

  it('bounds alias names: a lower-case letter, then up to 31 of a-z 0-9 _ -', () => {
    expect(aliasProblem('production')).toBeNull();
    expect(aliasProblem(`p${'a'.repeat(31)}`)).toBeNull();
    for (const bad of ['', 'Production', '1st', `p${'a'.repeat(32)}`, 'a b', 'a.b', 'é']) expect(aliasProblem(bad), bad).not.toBeNull();
  });
});
