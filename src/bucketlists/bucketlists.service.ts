import type { AppContext } from '../context.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { isoNow } from '../storage/database.js';
import type { BucketlistRecord, ItemRecord } from './bucketlists.repo.js';
import * as repo from './bucketlists.repo.js';

/** Longest name, in Unicode code points after trimming (an emoji is one). */
export const NAME_MAX_LENGTH = 200;

/** Control characters (newline, tab, NUL…) and lone surrogates: never part of a name a person typed. */
const UNTYPABLE = /[\p{Cc}\p{Cs}]/u;

/**
 * A name as it is stored: trimmed, 1–200 code points, well-formed Unicode, no control characters.
 * Throws ValidationError (422) naming `field` otherwise.
 *
 * @example validName('  Travel ') // 'Travel'
 */
export function validName(raw: string, field = 'name'): string {
  const name = raw.trim();
  const length = [...name].length;
  if (length === 0) throw new ValidationError({ [field]: 'Must not be empty.' });
  if (length > NAME_MAX_LENGTH) throw new ValidationError({ [field]: `Must be at most ${NAME_MAX_LENGTH} characters.` });
  if (UNTYPABLE.test(name)) throw new ValidationError({ [field]: 'Must not contain control characters or broken Unicode.' });
  return name;
}

export interface ItemInput {
  name: string;
  done: boolean;
}

/** The fields of an item update that were sent; at least one must be. */
export function itemPatch(body: { name?: string | undefined; done?: boolean | undefined }): Partial<ItemInput> {
  if (body.name === undefined && body.done === undefined) throw new ValidationError({ body: 'Send name, done or both.' });
  return { ...(body.name !== undefined ? { name: validName(body.name) } : {}), ...(body.done !== undefined ? { done: body.done } : {}) };
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
}

/** The owner's bucketlists, oldest first; `q` matches names case-insensitively anywhere. */
export async function listBucketlists(
  ctx: AppContext,
  ownerId: number,
  query: { q?: string | undefined; limit: number; page: number },
): Promise<Page<BucketlistRecord>> {
  const q = query.q?.trim() || undefined;
  const { items, total } = await repo.listBucketlists(ctx.db, ownerId, { q, limit: query.limit, page: query.page });
  return { items, total, page: query.page, limit: query.limit };
}

export async function getBucketlist(ctx: AppContext, ownerId: number, id: number): Promise<{ bucketlist: BucketlistRecord; items: ItemRecord[] }> {
  const bucketlist = await repo.findBucketlist(ctx.db, ownerId, id);
  if (!bucketlist) throw new NotFoundError('No such bucketlist.');
  return { bucketlist, items: await repo.listItems(ctx.db, ownerId, id) };
}

function nameTaken(): ConflictError {
  const message = 'You already have a bucketlist with this name.';
  return new ConflictError('conflict', message, { name: message });
}

/** Create a bucketlist. Its name must differ from the owner's other bucketlists (409 `conflict`). */
export async function createBucketlist(ctx: AppContext, ownerId: number, name: string): Promise<BucketlistRecord> {
  const created = await repo.insertBucketlist(ctx.db, ctx.storage.dialect, ownerId, validName(name), isoNow(ctx.clock));
  if (!created) throw nameTaken();
  return created;
}

export async function renameBucketlist(ctx: AppContext, ownerId: number, id: number, name: string): Promise<BucketlistRecord> {
  const result = await repo.renameBucketlist(ctx.db, ctx.storage.dialect, ownerId, id, validName(name), isoNow(ctx.clock));
  if (result === 'not_found') throw new NotFoundError('No such bucketlist.');
  if (result === 'taken') throw nameTaken();
  return result;
}

export async function deleteBucketlist(ctx: AppContext, ownerId: number, id: number): Promise<void> {
  if (!(await repo.deleteBucketlist(ctx.db, ownerId, id))) throw new NotFoundError('No such bucketlist.');
}

export async function listItems(ctx: AppContext, ownerId: number, bucketlistId: number): Promise<ItemRecord[]> {
  return (await getBucketlist(ctx, ownerId, bucketlistId)).items;
}

export async function addItem(ctx: AppContext, ownerId: number, bucketlistId: number, input: ItemInput): Promise<ItemRecord> {
  const item = await repo.insertItem(ctx.db, ownerId, bucketlistId, { name: validName(input.name), done: input.done }, isoNow(ctx.clock));
  if (!item) throw new NotFoundError('No such bucketlist.');
  return item;
}

/** Change an item. Its bucketlist's `updated_at` stays: that is the list's own name and lifetime. */
export async function updateItem(ctx: AppContext, ownerId: number, bucketlistId: number, itemId: number, patch: Partial<ItemInput>): Promise<ItemRecord> {
  const item = await repo.updateItem(ctx.db, ownerId, bucketlistId, itemId, itemPatch(patch), isoNow(ctx.clock));
  if (!item) throw new NotFoundError('No such item.');
  return item;
}

export async function deleteItem(ctx: AppContext, ownerId: number, bucketlistId: number, itemId: number): Promise<void> {
  if (!(await repo.deleteItem(ctx.db, ownerId, bucketlistId, itemId))) throw new NotFoundError('No such item.');
}

/** The contract's bucketlist JSON. */
export function bucketlistJson(list: BucketlistRecord) {
  return { id: list.id, name: list.name, created_at: list.createdAt, updated_at: list.updatedAt };
}

/** The contract's item JSON. */
export function itemJson(item: ItemRecord) {
  return { id: item.id, name: item.name, done: item.done, created_at: item.createdAt, updated_at: item.updatedAt };
}
