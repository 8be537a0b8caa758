// API key secrets: `glk_` + 43 base64url characters (32 random bytes, 256 bits). Only the sha256 of a
// secret is stored: for a random secret of that size a fast hash is the norm (as GitHub and Stripe do
// for their tokens): a slow password hash (bcrypt, argon2) guards low-entropy passwords against
// guessing, and there is nothing here to guess, while every request pays for the lookup.
import { createHash, randomBytes } from 'node:crypto';

const PREFIX = 'glk_';
/** characters of the secret kept for display: `glk_` and 8 more (48 of its 256 bits: useless to an attacker) */
export const DISPLAY_PREFIX_LENGTH = PREFIX.length + 8;

export function newSecret(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

/** sha256 (hex) of a presented token: the ApiKey row is found by it */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function displayPrefix(secret: string): string {
  return secret.slice(0, DISPLAY_PREFIX_LENGTH);
}
