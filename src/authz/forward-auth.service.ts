import type { Principal } from '../accounts/principal.js';
import type { Config, ForwardAuthRule } from '../config.js';
import { hostnameOf, matchesAnyHostPattern, mostSpecificMatch, normalizedHostname } from './host-patterns.js';

/** A host forward authentication protects: its normalized name and the role FORWARD_AUTH_RULES asks of it. */
export interface ProtectedHost {
  hostname: string;
  requiredRole: ForwardAuthRule['role'];
}

/** What forward authentication answers for a protected host, once the credential is read. */
export type ForwardAuthVerdict = 'allow' | 'signed_out' | 'role_refused';

/** The identity headers a proxy copies to the app it protects, on a 200 only. */
export type IdentityHeaders = Record<'remote-user' | 'remote-email' | 'remote-groups' | 'remote-user-id', string>;

/** Distinct X-Forwarded-Host values remembered with their answer, so the usual few skip the URL parser. */
const HOST_CACHE_SIZE = 256;

/**
 * The decisions of forward authentication (docs/forward-auth.md), from FORWARD_AUTH_HOSTS and
 * FORWARD_AUTH_RULES alone: which hosts are protected, what role each asks, and the verdict for a
 * principal. It never sees a request and reads no database: the routes (authz.routes.ts) read
 * the proxy's headers and the credential, through the same session and token caches as every
 * other check.
 */
export class ForwardAuthPolicy {
  readonly #hosts: readonly string[];
  readonly #rules: ReadonlyMap<string, ForwardAuthRule['role']>;
  readonly #rulePatterns: readonly string[];
  readonly #byHostHeader = new Map<string, ProtectedHost | null>();

  constructor(config: Pick<Config, 'forwardAuthHosts' | 'forwardAuthRules'>) {
    this.#hosts = config.forwardAuthHosts;
    this.#rules = new Map(config.forwardAuthRules.map((rule) => [rule.host, rule.role]));
    this.#rulePatterns = config.forwardAuthRules.map((rule) => rule.host);
  }

  /**
   * The protected host an `X-Forwarded-Host` value names, or null when it is missing, does not
   * parse as one `host[:port]`, or is not in FORWARD_AUTH_HOSTS (the port is ignored).
   *
   * @example policy.hostFromAuthority('App.Example.com:8443') // { hostname: 'app.example.com', requiredRole: 'user' }
   */
  hostFromAuthority(authority: string | undefined): ProtectedHost | null {
    if (authority === undefined) return null;
    const cached = this.#byHostHeader.get(authority);
    if (cached !== undefined) return cached;
    const hostname = hostnameOf(authority);
    const host = hostname === null ? null : this.#protect(hostname);
    if (this.#byHostHeader.size >= HOST_CACHE_SIZE) this.#byHostHeader.clear();
    this.#byHostHeader.set(authority, host);
    return host;
  }

  /** The protected host of a parsed URL (`X-Original-URL`), or null as above. */
  hostFromUrl(url: URL): ProtectedHost | null {
    const hostname = normalizedHostname(url);
    return hostname === null ? null : this.#protect(hostname);
  }

  /** Signed out (no principal), refused for want of the host's role, or allowed. */
  verdict(host: ProtectedHost, principal: Principal | null): ForwardAuthVerdict {
    if (principal === null) return 'signed_out';
    if (host.requiredRole === 'admin' && principal.role !== 'admin') return 'role_refused';
    return 'allow';
  }

  /** The headers an allowed answer carries: username, email (empty when none), role, id. */
  identityHeaders(principal: Principal): IdentityHeaders {
    return {
      'remote-user': principal.username,
      'remote-email': principal.email ?? '',
      'remote-groups': principal.role,
      'remote-user-id': String(principal.id),
    };
  }

  #protect(hostname: string): ProtectedHost | null {
    if (!matchesAnyHostPattern(this.#hosts, hostname)) return null;
    const rule = mostSpecificMatch(this.#rulePatterns, hostname);
    return { hostname, requiredRole: (rule !== null ? this.#rules.get(rule) : undefined) ?? 'user' };
  }
}
