/** The contract's user JSON. */
export interface User {
  id: number | string;
  username: string;
  email: string | null;
  /** The address is proven the user's; false when there is none. */
  email_verified: boolean;
  role: 'user' | 'admin';
  created_at: string;
}

export interface Bucketlist {
  id: number;
  name: string;
  created_at: string;
  updated_at: string;
}

export interface Item {
  id: number;
  name: string;
  done: boolean;
  created_at: string;
  updated_at: string;
}

export interface BucketlistWithItems extends Bucketlist {
  items: Item[];
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  limit: number;
}
