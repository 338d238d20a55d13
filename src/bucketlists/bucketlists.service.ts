import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import { isoNow } from '../storage/database.js';
import type { Db, DialectName } from '../storage/database.js';
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

export interface BucketlistServiceDeps {
  db: Db;
  dialect: DialectName;
  clock: () => number;
}

/** Bucketlists and their items, always scoped to their owner: another user's ids are 404. */
export class BucketlistService {
  constructor(private readonly deps: BucketlistServiceDeps) {}

  /** The owner's bucketlists, oldest first; `q` matches names case-insensitively anywhere. */
  async listBucketlists(ownerId: number, query: { q?: string | undefined; limit: number; page: number }): Promise<Page<BucketlistRecord>> {
    const q = query.q?.trim() || undefined;
    const { items, total } = await repo.listBucketlists(this.deps.db, ownerId, { q, limit: query.limit, page: query.page });
    return { items, total, page: query.page, limit: query.limit };
  }

  async getBucketlist(ownerId: number, id: number): Promise<{ bucketlist: BucketlistRecord; items: ItemRecord[] }> {
    const bucketlist = await repo.findBucketlist(this.deps.db, ownerId, id);
    if (!bucketlist) throw new NotFoundError('No such bucketlist.');
    return { bucketlist, items: await repo.listItems(this.deps.db, ownerId, id) };
  }


  /** Create a bucketlist. Its name must differ from the owner's other bucketlists (409 `conflict`). */
  async createBucketlist(ownerId: number, name: string): Promise<BucketlistRecord> {
    const created = await repo.insertBucketlist(this.deps.db, this.deps.dialect, ownerId, validName(name), isoNow(this.deps.clock));
    if (!created) throw nameTaken();
    return created;
  }

  async renameBucketlist(ownerId: number, id: number, name: string): Promise<BucketlistRecord> {
    const result = await repo.renameBucketlist(this.deps.db, this.deps.dialect, ownerId, id, validName(name), isoNow(this.deps.clock));
    if (result === 'not_found') throw new NotFoundError('No such bucketlist.');
    if (result === 'taken') throw nameTaken();
    return result;
  }

  async deleteBucketlist(ownerId: number, id: number): Promise<void> {
    if (!(await repo.deleteBucketlist(this.deps.db, ownerId, id))) throw new NotFoundError('No such bucketlist.');
  }

  async listItems(ownerId: number, bucketlistId: number): Promise<ItemRecord[]> {
    return (await this.getBucketlist(ownerId, bucketlistId)).items;
  }

  async addItem(ownerId: number, bucketlistId: number, input: ItemInput): Promise<ItemRecord> {
    const item = await repo.insertItem(this.deps.db, ownerId, bucketlistId, { name: validName(input.name), done: input.done }, isoNow(this.deps.clock));
    if (!item) throw new NotFoundError('No such bucketlist.');
    return item;
  }

  /** Change an item. Its bucketlist's `updated_at` stays: that is the list's own name and lifetime. */
  async updateItem(ownerId: number, bucketlistId: number, itemId: number, patch: Partial<ItemInput>): Promise<ItemRecord> {
    const item = await repo.updateItem(this.deps.db, ownerId, bucketlistId, itemId, itemPatch(patch), isoNow(this.deps.clock));
    if (!item) throw new NotFoundError('No such item.');
    return item;
  }

  async deleteItem(ownerId: number, bucketlistId: number, itemId: number): Promise<void> {
    if (!(await repo.deleteItem(this.deps.db, ownerId, bucketlistId, itemId))) throw new NotFoundError('No such item.');
  }
}

function nameTaken(): ConflictError {
  const message = 'You already have a bucketlist with this name.';
  return new ConflictError('conflict', message, { name: message });
}

/** The contract's bucketlist JSON. */
export function bucketlistJson(list: BucketlistRecord) {
  return { id: list.id, name: list.name, created_at: list.createdAt, updated_at: list.updatedAt };
}

/** The contract's item JSON. */
export function itemJson(item: ItemRecord) {
  return { id: item.id, name: item.name, done: item.done, created_at: item.createdAt, updated_at: item.updatedAt };
}
