// An app's clients: the default one (client_id = app id, edited through the app as it
// always was) and the further ones (ClientRecord, kept in the app's record). What every
// part of Postern reads of them: the metadata the engine gets, the secrets a client may
// present, the name and logo the hosted pages show, the initial access tokens.
import type { ClientDisplay } from './branding.ts';
import { clientSecretContext, decryptSecret, deriveKey, keyedHash } from '../keys/encryption.ts';
import type { AppRecord, ClientRecord, InitialAccessTokenRecord, TokenEndpointAuthMethod } from '../storage/ports.ts';
import { DEFAULT_ID_TOKEN_ALG } from './client-options.ts';

/** Clients beyond the default one: every client lives in its app's record, which stays small. */
export const MAX_CLIENTS_PER_APP = 50;
/** Initial access tokens an app keeps at once (expired and used-up ones are dropped on the next write). */
export const MAX_INITIAL_ACCESS_TOKENS = 50;
/** How long a rotated secret keeps working unless the admin says otherwise, and at most. */
export const DEFAULT_SECRET_GRACE_SECONDS = 24 * 60 * 60;
export const MAX_SECRET_GRACE_SECONDS = 30 * 24 * 60 * 60;
/** Initial access tokens live at most 30 days (1 hour unless asked otherwise) and register at most 1000 clients each. */
export const IAT_DEFAULT_EXPIRES_IN = 60 * 60;
export const IAT_MAX_EXPIRES_IN = 30 * 24 * 60 * 60;
export const IAT_MAX_USES = 1000;

export function isDefaultClient(app: AppRecord, clientId: string): boolean {
  return clientId === app.id;
}

export function findClient(app: AppRecord, clientId: string): ClientRecord | undefined {
  return app.clients?.find((c) => c.clientId === clientId);
}

/** A further client as engine metadata: its stored metadata, its id and its secret in clear. */
export function registeredMetadataOf(app: AppRecord, client: ClientRecord, kek: Buffer): Record<string, unknown> {
  return {
    ...client.metadata,
    client_id: client.clientId,
    ...(client.encryptedClientSecret && {
      client_secret: decryptSecret(kek, client.encryptedClientSecret, clientSecretContext(app.id, client.clientId)),
    }),
  };
}

/** What a client authenticates with: its method and the secrets accepted now (the previous one during its grace period). */
export interface ClientCredentials {
  readonly method: TokenEndpointAuthMethod;
  readonly secret: string | undefined;
  readonly previousSecret: string | undefined;
}

export function credentialsOf(app: AppRecord, clientId: string, kek: Buffer, now: number): ClientCredentials | undefined {
  const context = clientSecretContext(app.id, clientId);
  const open = (sealed: string | undefined) => (sealed ? decryptSecret(kek, sealed, context) : undefined);
  const stillValid = (until: number | undefined) => until !== undefined && now < until;
  if (isDefaultClient(app, clientId)) {
    return {
      method: app.tokenEndpointAuthMethod,
      secret: open(app.encryptedClientSecret),
      previousSecret: stillValid(app.previousClientSecretExpiresAt) ? open(app.previousEncryptedClientSecret) : undefined,
    };
  }
  const client = findClient(app, clientId);
  if (!client) return undefined;
  return {
    method: (client.metadata.token_endpoint_auth_method as TokenEndpointAuthMethod | undefined) ?? 'none',
    secret: open(client.encryptedClientSecret),
    previousSecret: stillValid(client.previousSecretExpiresAt) ? open(client.previousEncryptedSecret) : undefined,
  };
}

/** Where a client hears of ended sessions (Back-Channel Logout 1.0), as registered now; undefined: no such client. */
export interface BackchannelTarget {
  readonly uri: string | undefined;
  readonly sessionRequired: boolean;
}

export function backchannelTargetOf(app: AppRecord, clientId: string): BackchannelTarget | undefined {
  if (isDefaultClient(app, clientId)) return { uri: app.backchannelLogoutUri, sessionRequired: app.backchannelLogoutSessionRequired === true };
  const metadata = findClient(app, clientId)?.metadata;
  if (!metadata) return undefined;
  const uri = metadata.backchannel_logout_uri;
  return { uri: typeof uri === 'string' ? uri : undefined, sessionRequired: metadata.backchannel_logout_session_required === true };
}

/** The algorithm a further client's ID tokens are signed with: its own choice, or the engine's default for clients. */
export function idTokenAlgOf(client: ClientRecord): string {
  const alg = client.metadata.id_token_signed_response_alg;
  return typeof alg === 'string' ? alg : DEFAULT_ID_TOKEN_ALG;
}

/**
 * What a further client registered to be shown as (name, logo, links) for a sign-in by
 * `clientId`; nothing for the default client or an unknown id, so the app's branding
 * stands (brandingFor). For the page's look only: never a decision.
 *
 * Anyone may register a client where the app allows open registration, so such a
 * client's name never stands in for the app's: not in the sign-in mail's subject, not on
 * a page. A client registered under a host policy shows only links on the policy's hosts
 * (the write refuses others: admin/client-input.ts; this also holds for records stored
 * before that rule).
 */
export function clientDisplayOf(app: AppRecord, clientId: unknown): ClientDisplay {
  const client = typeof clientId === 'string' ? findClient(app, clientId) : undefined;
  if (!client) return {};
  const { metadata, redirectUriHosts: hosts } = client;
  const text = (key: keyof ClientDisplay) => {
    const value = metadata[key];
    return typeof value === 'string' && value ? value : undefined;
  };
  const uri = (key: keyof ClientDisplay) => {
    const value = text(key);
    return value !== undefined && (!hosts || onAllowedHost(value, hosts)) ? value : undefined;
  };
  return {
    client_name: client.origin === 'open_registration' ? undefined : text('client_name'),
    logo_uri: uri('logo_uri'),
    client_uri: uri('client_uri'),
    policy_uri: uri('policy_uri'),
    tos_uri: uri('tos_uri'),
  };
}

/** The stored form of an initial access token: a keyed hash, so a store dump holds no usable token. */
export function initialAccessTokenHash(kek: Buffer, token: string): string {
  return keyedHash(deriveKey(kek, 'postern:initial-access-tokens'), token);
}

/** An initial access token that may register a client now: known, unexpired, with a use left. */
export function usableInitialAccessToken(app: AppRecord, tokenHash: string, now: number): InitialAccessTokenRecord | undefined {
  const found = app.initialAccessTokens?.find((t) => t.tokenHash === tokenHash);
  return found && now < found.expiresAt && found.uses < found.maxUses ? found : undefined;
}

/** Whether `uri`'s host is one of `hosts` (the policy of an initial access token); a URI without a host is not. */
export function onAllowedHost(uri: string, hosts: readonly string[]): boolean {
  const host = URL.parse(uri)?.hostname;
  return !!host && hosts.includes(host);
}
