import { api, call } from '../../lib/api';
import type { Bucketlist, BucketlistWithItems, Item, Page } from '../../lib/types';

/** The contract's /api/bucketlists routes, through the typed client. */

export interface ListQuery {
  q?: string;
  page: number;
  limit: number;
}

export function listBucketlists({ q, page, limit }: ListQuery, signal?: AbortSignal): Promise<Page<Bucketlist>> {
  return call(api.GET('/api/bucketlists', { params: { query: { page, limit, ...(q ? { q } : {}) } }, signal }));
}

export function getBucketlist(id: number, signal?: AbortSignal): Promise<BucketlistWithItems> {
  return call(api.GET('/api/bucketlists/{id}', { params: { path: { id: String(id) } }, signal }));
}

export function createBucketlist(name: string): Promise<Bucketlist> {
  return call(api.POST('/api/bucketlists', { body: { name } }));
}

export function renameBucketlist(id: number, name: string): Promise<Bucketlist> {
  return call(api.PATCH('/api/bucketlists/{id}', { params: { path: { id: String(id) } }, body: { name } }));
}

export function deleteBucketlist(id: number): Promise<void> {
  return call(api.DELETE('/api/bucketlists/{id}', { params: { path: { id: String(id) } } }));
}

export function addItem(bucketlistId: number, name: string): Promise<Item> {
  return call(api.POST('/api/bucketlists/{id}/items', { params: { path: { id: String(bucketlistId) } }, body: { name } }));
}

export function updateItem(bucketlistId: number, itemId: number, change: { name?: string; done?: boolean }): Promise<Item> {
  return call(api.PATCH('/api/bucketlists/{id}/items/{item_id}', { params: { path: { id: String(bucketlistId), item_id: String(itemId) } }, body: change }));
}

export function deleteItem(bucketlistId: number, itemId: number): Promise<void> {
  return call(api.DELETE('/api/bucketlists/{id}/items/{item_id}', { params: { path: { id: String(bucketlistId), item_id: String(itemId) } } }));
}
