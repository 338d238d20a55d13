import type { Generated } from 'kysely';

export interface BucketlistsTable {
  id: Generated<number>;
  owner_id: number;
  name: string;
  created_at: string;
  updated_at: string;
}

export interface ItemsTable {
  id: Generated<number>;
  bucketlist_id: number;
  name: string;
  done: boolean;
  created_at: string;
  updated_at: string;
}
