/**
 * The part of oidc-provider 8's API that Gatehouse uses, typed (the package ships no types).
 * Names and shapes follow its documentation (docs/README.md of the v8 branch).
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export type AdapterPayload = Record<string, unknown> & {
    jti?: string;
    kind?: string;
    exp?: number;
    iat?: number;
    accountId?: string;
    clientId?: string;
    grantId?: string;
    uid?: string;
    userCode?: string;
    consumed?: number | boolean;
  };

  /** The storage adapter interface (example/my_adapter.js). */
  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface CookieOptions {
    signed?: boolean;
    httpOnly?: boolean;
    sameSite?: 'lax' | 'strict' | 'none';
    path?: string;
    secure?: boolean;
    maxAge?: number;
    overwrite?: boolean;
  }

  export interface KoaCookies {
    get(name: string, options?: { signed?: boolean }): string | undefined;
    set(name: string, value: string | null, options?: CookieOptions): void;
  }

  export interface ClientInstance {
    clientId: string;
    clientName?: string;
    clientSecret?: string;
    clientAuthMethod: string;
    redirectUris: string[];
    postLogoutRedirectUris?: string[];
    [property: string]: unknown;
    grantTypeAllowed(type: string): boolean;
  }

  export interface GrantInstance {
    jti?: string;
    accountId: string;
    clientId: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    getOIDCScope(): string;
    save(ttl?: number): Promise<string>;
    destroy(): Promise<void>;
  }

  export interface SessionInstance {
    jti: string;
    uid: string;
    accountId?: string;
    loginTs?: number;
    amr?: string[];
    transient?: boolean;
    exp?: number;
    destroyed?: boolean;
    state?: { secret?: string; clientId?: string; postLogoutRedirectUri?: string; state?: string };
    loginAccount(details: { accountId: string; loginTs?: number; amr?: string[]; acr?: string; transient?: boolean }): void;
    grantIdFor(clientId: string): string | undefined;
    save(ttl: number): Promise<string>;
    persist(): Promise<string>;
    destroy(): Promise<void>;
  }

  export interface OIDCContext {
    provider: Provider;
    client?: ClientInstance;
    session: SessionInstance;
    params: Record<string, unknown>;
    result?: { consent?: { grantId?: string }; [key: string]: unknown };
    requestParamOIDCScopes: Set<string>;
    route?: string;
    urlFor(name: string, options?: Record<string, string>): string;
  }

  export interface KoaContext {
    req: IncomingMessage;
    res: ServerResponse;
    path: string;
    method: string;
    originalUrl: string;
    url: string;
    query: Record<string, string | string[] | undefined>;
    cookies: KoaCookies;
    /** The client's address: the X-Forwarded-For Gatehouse sets from Fastify's (TRUST_PROXY applied). */
    ip: string;
    get(header: string): string;
    status: number;
    type: string;
    body: unknown;
    secure: boolean;
    oidc: OIDCContext;
    set(header: string, value: string): void;
    redirect(url: string): void;
  }

  export type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

  export interface Account {
    accountId: string;
    claims(use: string, scope: string): Promise<Record<string, unknown>>;
  }

  /** The token (or code) an account is looked up for; undefined at the authorization endpoint. */
  export interface AccountLookupToken {
    kind?: string;
    iat?: number;
    authTime?: number;
    grantId?: string;
  }

  export interface InteractionDetails {
    uid: string;
    /** When the interaction began (seconds). */
    iat?: number;
    returnTo: string;
    prompt: { name: string; reasons: string[]; details: { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; [key: string]: unknown } };
    params: Record<string, string | undefined>;
    session?: { uid?: string; accountId?: string; cookie?: string };
    grantId?: string;
    lastSubmission?: Record<string, unknown>;
  }

  export interface InteractionResults {
    login?: { accountId: string; amr?: string[]; acr?: string; remember?: boolean; ts?: number };
    consent?: { grantId?: string };
    error?: string;
    error_description?: string;
  }

  export type Configuration = Record<string, unknown>;

  export interface ClientStatic {
    find(id: string): Promise<ClientInstance | undefined>;
    validate(metadata: Record<string, unknown>): Promise<void>;
    prototype: { compareClientSecret(this: ClientInstance, actual: string): boolean | Promise<boolean> };
  }

  export interface GrantStatic {
    new (properties: { accountId: string; clientId: string }): GrantInstance;
    find(id: string): Promise<GrantInstance | undefined>;
  }

  /** A pending sign-in request's interaction, as stored. */
  export interface InteractionInstance {
    iat?: number;
    params: Record<string, string | undefined>;
  }

  export interface InteractionStatic {
    find(id: string): Promise<InteractionInstance | undefined>;
  }

  export interface SessionStatic {
    new (): SessionInstance;
    find(id: string): Promise<SessionInstance | undefined>;
    findByUid(uid: string): Promise<SessionInstance | undefined>;
  }

  export interface KoaApplication {
    keys: unknown;
    createContext(req: IncomingMessage, res: ServerResponse): KoaContext;
    on(event: 'error', listener: (error: unknown, ctx?: KoaContext) => void): void;
  }

  export default class Provider {
    constructor(issuer: string, configuration: Configuration);
    readonly issuer: string;
    proxy: boolean;
    readonly app: KoaApplication;
    readonly Client: ClientStatic;
    readonly Grant: GrantStatic;
    readonly Session: SessionStatic;
    readonly Interaction: InteractionStatic;
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    use(middleware: KoaMiddleware): void;
    on(event: string, listener: (...args: unknown[]) => void): this;
    cookieName(type: 'session' | 'interaction' | 'resume'): string;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionResult(req: IncomingMessage, res: ServerResponse, result: InteractionResults, options?: { mergeWithLastSubmission?: boolean }): Promise<string>;
  }

  export class OIDCProviderError extends Error {
    constructor(status: number, message: string);
    status: number;
    error: string;
    error_description?: string;
  }

  export const errors: {
    OIDCProviderError: typeof OIDCProviderError;
    InvalidGrant: new (description?: string, detail?: string) => OIDCProviderError;
    InvalidClientMetadata: new (description?: string, detail?: string) => OIDCProviderError;
    SessionNotFound: new (description?: string) => OIDCProviderError;
  };
}
