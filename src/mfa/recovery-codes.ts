import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../sessions/tokens.js';

/** How many codes a set has. */
export const RECOVERY_CODE_COUNT = 10;
/** Crockford-style: no I, L, O, U, so a code read aloud or copied by hand survives. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A new code: 16 characters of 5 bits (80 random bits), shown as `XXXX-XXXX-XXXX-XXXX`. 80 bits
 * make a plain SHA-256 of it safe to store: no guessing from the hash.
 */
export function newRecoveryCode(): string {
  const bytes = randomBytes(16);
  let code = '';
  for (const byte of bytes) code += ALPHABET[byte & 31];
  return code.match(/.{4}/g)?.join('-') ?? code;
}

/** Case, spaces and dashes do not count: `abcd efgh-…` is `ABCDEFGH…`. */
export function normalizeRecoveryCode(code: string): string {
  return code.replace(/[\s-]+/g, '').toUpperCase();
}

export function hashRecoveryCode(code: string): string {
  return sha256Hex(normalizeRecoveryCode(code));
}
