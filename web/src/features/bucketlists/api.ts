import { apiRequest } from '../../lib/api';
import type { Bucketlist, BucketlistWithItems, Item, Page } from '../../lib/types';

/** The contract's /api/bucketlists routes, typed. */

export interface ListQuery {
  q?: string;
  page: number;
  limit: number;
}

export function listBucketlists({ q, page, limit }: ListQuery, signal?: AbortSignal): Promise<Page<Bucketlist>> {
  const params = new URLSearchParams({ page: String(page), limit: String(limit) });
  if (q) params.set('q', q);
  return apiRequest('GET', `/api/bucketlists?${params.toString()}`, undefined, signal ? { signal } : {});
}

export function getBucketlist(id: number, signal?: AbortSignal): Promise<BucketlistWithItems> {
  return apiRequest('GET', `/api/bucketlists/${id}`, undefined, signal ? { signal } : {});
}

export function createBucketlist(name: string): Promise<Bucketlist> {
  return apiRequest('POST', '/api/bucketlists', { name });
}

export function renameBucketlist(id: number, name: string): Promise<Bucketlist> {
  return apiRequest('PATCH', `/api/bucketlists/${id}`, { name });
}

export function deleteBucketlist(id: number): Promise<void> {
  return apiRequest('DELETE', `/api/bucketlists/${id}`);
}

export function addItem(bucketlistId: number, name: string): Promise<Item> {
  return apiRequest('POST', `/api/bucketlists/${bucketlistId}/items`, { name });
}

export function updateItem(bucketlistId: number, itemId: number, change: { name?: string; done?: boolean }): Promise<Item> {
  return apiRequest('PATCH', `/api/bucketlists/${bucketlistId}/items/${itemId}`, change);
}

export function deleteItem(bucketlistId: number, itemId: number): Promise<void> {
  return apiRequest('DELETE', `/api/bucketlists/${bucketlistId}/items/${itemId}`);
}
