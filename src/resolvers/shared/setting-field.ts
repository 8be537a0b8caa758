// A GraphQL input field derived from a setting of the schema (src/ml/settings): its type, its default
// (shown in schema.graphql and the IDE's docs) and its description with the bounds. Validation goes
// through the same schema (`settingsFrom`), so bounds and defaults live in one place.
import { Field, Float, Int } from 'type-graphql';
import { describeBounds, resolveSettings, SettingError, type Setting, type SettingTable } from '../../ml/settings/index.ts';
import { BadUserInputError } from './api-errors.ts';

/** @Field for a numeric, boolean or list setting: nullable (absent or null → the default), defaultValue when fixed. */
export function SettingField(setting: Setting, extra = ''): PropertyDecorator {
  if (setting.kind === 'enum') throw new Error('SettingField: enums need their GraphQL enum type');
  const type = setting.kind === 'int' ? Int : setting.kind === 'float' ? Float : setting.kind === 'bool' ? Boolean : [Int];
  const auto = setting.default === null ? `; default: ${setting.auto ?? 'automatic'}` : '';
  return Field(() => type, {
    nullable: true,
    description: `${setting.description}; ${describeBounds(setting)}${auto}${extra}`,
    ...(setting.default !== null ? { defaultValue: setting.default } : {}),
  });
}

/** The table's settings read from a GraphQL input object; bad values → BAD_USER_INPUT naming `prefix.field`. */
export function settingsFrom<V>(table: SettingTable<V>, input: object | null | undefined, prefix: string): V {
  const given: Record<string, unknown> = {};
  for (const key of Object.keys(table)) given[key] = (input as Record<string, unknown> | null | undefined)?.[key];
  try {
    return resolveSettings(table, given, `${prefix}.`);
  } catch (error) {
    if (error instanceof SettingError) throw new BadUserInputError(error.setting, error.message.slice(error.setting.length + 2));
    throw error;
  }
}
