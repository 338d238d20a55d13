import { NotFoundError } from '../errors.js';

/** The largest id any table can hold: PostgreSQL `serial` is a 32-bit integer. */
export const MAX_ID = 2_147_483_647;

/**
 * A resource id from the path, in its one canonical spelling: a positive decimal integer without
 * sign, leading zeros, spaces or fraction ("1", "42"; not "01", "+1", "1.0", "1e3", "abc").
 * Anything else names no resource, so it is a 404 like an unknown id, never a 400 or 422;
 * ids beyond MAX_ID are 404 too, so they never reach the database as an out-of-range value.
 *
 * @example resourceId('42') // 42
 */
export function resourceId(raw: string | undefined): number {
  if (raw === undefined || !/^[1-9][0-9]{0,9}$/.test(raw)) throw new NotFoundError();
  const id = Number(raw);
  if (id > MAX_ID) throw new NotFoundError();
  return id;
}
