// Input checks shared by the mutations; each failure names the offending field.
import { checkBackboneUrl, SourceRefusedError } from '../../sources/backbone-url.ts';
import { OutsideRootsError, pathUnderRoots } from '../../sources/roots.ts';
import type { SourcePolicy } from './api-context.ts';
import { BadUserInputError } from './api-errors.ts';

export function checkRange(field: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new BadUserInputError(field, `must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

export function checkName(field: string, value: string, maxLength: number): string {
  const name = value.trim();
  if (name === '') throw new BadUserInputError(field, 'must not be empty');
  if (name.length > maxLength) throw new BadUserInputError(field, `must be at most ${maxLength} characters`);
  return name;
}

/** Exactly one of the named optional fields must be present; returns its name. */
export function exactlyOne<K extends string>(prefix: string, fields: Record<K, unknown>): K {
  const given = (Object.keys(fields) as K[]).filter((k) => fields[k] !== undefined && fields[k] !== null);
  if (given.length !== 1) {
    const names = Object.keys(fields).map((k) => `${prefix}.${k}`);
    throw new BadUserInputError(prefix, `exactly one of ${names.join(', ')} must be given (got ${given.length})`);
  }
  return given[0]!;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/**
 * A model location the worker can read: an http(s) URL, or an absolute path on the server.
 * Relative paths and other schemes (file:, ftp:, data:, …) are refused.
 */
export function checkModelLocation(field: string, value: string, maxLength = 2048): string {
  const location = checkName(field, value, maxLength);
  if (/[\u0000-\u001f\u007f]/.test(location)) throw new BadUserInputError(field, 'must not contain control characters');
  const hasScheme = /^[a-z][a-z0-9+.-]*:/i.test(location);
  if (hasScheme ? !isHttpUrl(location) : !location.startsWith('/')) {
    throw new BadUserInputError(field, `must be an http(s):// URL or an absolute path on the server, got ${JSON.stringify(location)}`);
  }
  return location;
}

/** BAD_USER_INPUT for a server path outside the dataset roots, naming the roots; the real path otherwise. */
export async function checkServerPath(field: string, path: string, roots: readonly string[]): Promise<string> {
  try {
    return await pathUnderRoots(path, roots);
  } catch (error) {
    if (!(error instanceof OutsideRootsError)) throw error;
    const where = roots.length === 1 ? `the dataset root ${roots[0]}` : `one of the dataset roots ${roots.join(', ')}`;
    throw new BadUserInputError(field, `must be an absolute path under ${where} (GLIMPSE_DATASET_ROOTS)`);
  }
}

/**
 * A backbone the policy allows, checked when the run is started (the worker checks again, and
 * resolves host names, when it downloads): a URL on the GLIMPSE_BACKBONE_HOSTS allow-list that is
 * not an IP literal of a non-public range, or a server path under the dataset roots.
 */
export async function checkBackboneSource(field: string, location: string, policy: SourcePolicy): Promise<string> {
  if (location.startsWith('/')) {
    await checkServerPath(field, location, policy.datasetRoots);
    return location;
  }
  try {
    checkBackboneUrl(location, policy);
  } catch (error) {
    if (error instanceof SourceRefusedError) throw new BadUserInputError(field, error.message);
    throw error;
  }
  return location;
}
