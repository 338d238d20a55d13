import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../sessions/tokens.js';

/** How many codes a set has. */
export const RECOVERY_CODE_COUNT = 10;
/** Crockford-style: no I, L, O, U, so a code read aloud or copied by hand survives. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A new code: 24 characters of 5 bits (120 random bits), shown as `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`.
 * At 112 bits or more a plain SHA-256 of it is safe to store (ASVS 5.0 6.5.2: below that, lookup
 * secrets need a salted password hash), so a code can be found, and spent, by its hash alone.
 */
export function newRecoveryCode(): string {
  const bytes = randomBytes(24);
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
