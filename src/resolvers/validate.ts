// Input checks shared by the mutations; each failure names the offending field.
import { BadUserInputError } from './errors.ts';

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
