import type { CreatedClient } from './clients.service.js';
import type { OidcClientRecord } from './oidc-clients.repo.js';

/** A client as the API shows it: never its secret (or its hash). */
export function clientJson(client: OidcClientRecord) {
  return {
    client_id: client.clientId,
    client_name: client.clientName,
    redirect_uris: client.redirectUris,
    post_logout_redirect_uris: client.postLogoutRedirectUris,
    token_endpoint_auth_method: client.tokenEndpointAuthMethod as 'client_secret_basic' | 'client_secret_post' | 'none',
    first_party: client.firstParty,
    created_at: client.createdAt,
  };
}

/** A client just made: its secret, shown this once (absent for a public client). The CLI prints the same JSON. */
export function newClientJson({ client, clientSecret }: CreatedClient) {
  const { client_id, ...rest } = clientJson(client);
  return { client_id, ...(clientSecret !== null ? { client_secret: clientSecret } : {}), ...rest };
}
