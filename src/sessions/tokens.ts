import { hash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 random bits, URL-safe: session cookies, CSRF tokens and refresh tokens. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Hex SHA-256 of the UTF-8 text. One-shot: no Hash object per call, on the path of every cookie check. */
export function sha256Hex(value: string): string {
  return hash('sha256', value, 'hex');
}

export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
