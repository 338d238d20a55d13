import type { FastifyRequest } from 'fastify';
import type { Config } from '../../config.js';
import { RateLimitedError } from '../../errors.js';
import { addressKey } from '../../limits/address.js';

/**
 * RATE_LIMIT_PER_IP: POSTs per client address (an IPv6 client per /64, see addressKey) per route
 * per minute, on the routes that take credentials. `false` (RATE_LIMITS=off) turns it off for
 * benchmarks.
 */
export function ipRateLimit(config: Pick<Config, 'rateLimits' | 'rateLimitPerIp'>) {
  if (!config.rateLimits) return false as const;
  return {
    max: config.rateLimitPerIp,
    timeWindow: 60_000,
    keyGenerator: (request: FastifyRequest) => `${addressKey(request.ip)}|${request.routeOptions.url ?? ''}`,
    errorResponseBuilder: (_request: FastifyRequest, context: { ttl: number }) => new RateLimitedError(Math.max(1, Math.ceil(context.ttl / 1000))),
  };
}
