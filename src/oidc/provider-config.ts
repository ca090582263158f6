// Builds the oidc-provider configuration of one app. Everything app-specific (issuer,
// client, keys, TTLs, cookie path, storage namespace) comes from the AppRecord, so a
// change to the record means a new Provider (see tenancy/provider-registry.ts).
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { AppRecord, Stores } from '../storage/ports.ts';
import { openSigningKeys } from '../keys/open-keys.ts';
import { adapterFor } from './adapter.ts';
import { clientMetadataOf } from './client-metadata.ts';
import { findAccountIn } from './find-account.ts';
import { errorPage, logoutPage, signedOutPage } from '../../interactions/views/pages.ts';
import type { Logger } from '../log.ts';

export interface ProviderDeps {
  readonly stores: Stores;
  readonly kek: Buffer;
  readonly cookieSecrets: readonly string[];
  readonly secureCookies: boolean;
  readonly logger: Logger;
}

export const ACCESS_TOKEN_TTL = 10 * 60;
export const AUTHORIZATION_CODE_TTL = 60;
export const SESSION_TTL = 14 * 24 * 60 * 60;
export const REVOKE_ALL_PATH = '/token/revoke_all';

const epoch = () => Math.floor(Date.now() / 1000);

export function appPath(appId: string): string {
  return `/apps/${appId}`;
}

export function providerConfiguration(app: AppRecord, issuer: string, deps: ProviderDeps): Configuration {
  const { settings } = app;
  const cookieOptions = {
    // Scoped to the app's own path: one app's session cookie is never sent to another.
    path: appPath(app.id),
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: deps.secureCookies,
  };

  return {
    adapter: adapterFor(deps.stores.oidc, app.id),
    clients: [clientMetadataOf(app, deps.kek)],
    jwks: { keys: openSigningKeys(app, deps.kek) as never },
    findAccount: findAccountIn(deps.stores.accounts, app.id),

    // `sub`, `email` and `email_verified` belong to every ID token (product.md), so they sit
    // under `openid`; jti/token_use/nbf/at_hash/sid are only produced for ID tokens (find-account.ts).
    claims: {
      openid: ['sub', 'email', 'email_verified', 'jti', 'token_use', 'nbf', 'at_hash', 'sid'],
      email: ['email', 'email_verified'],
    },
    scopes: ['openid', 'email', 'offline_access'],
    conformIdTokenClaims: false,

    responseTypes: ['code'],
    pkce: { required: () => true },
    clientAuthMethods: ['none', 'client_secret_basic', 'client_secret_post'],
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES512',
      token_endpoint_auth_method: 'none',
    },
    enabledJWA: {
      idTokenSigningAlgValues: ['ES512', 'RS256'],
      userinfoSigningAlgValues: ['ES512', 'RS256'],
      introspectionSigningAlgValues: ['ES512', 'RS256'],
      authorizationSigningAlgValues: ['ES512', 'RS256'],
      requestObjectSigningAlgValues: ['ES512', 'RS256'],
    },

    features: {
      devInteractions: { enabled: false },
      // A client may only introspect or revoke tokens issued to itself.
      revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
      userinfo: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        async logoutSource(ctx, form) {
          ctx.type = 'html';
          ctx.body = logoutPage({ appName: app.name, form });
        },
        async postLogoutSuccessSource(ctx) {
          ctx.type = 'html';
          ctx.body = signedOutPage({ appName: app.name });
        },
      },
    },

    // Browser apps (public clients) may call the token, userinfo and revocation endpoints
    // from the origins of their own redirect URIs, and from nowhere else.
    clientBasedCORS(ctx, origin, client) {
      if (origin === 'null') return false;
      if (ctx.oidc.route !== 'userinfo' && client.clientAuthMethod !== 'none') return false;
      return (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin);
    },

    rotateRefreshToken: true,
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL,
      AuthorizationCode: AUTHORIZATION_CODE_TTL,
      IdToken: settings.id_token_ttl,
      // Idle timeout on every rotation, capped by what is left of the absolute lifetime,
      // counted from the first token of the chain (`iiat`).
      RefreshToken(_ctx, token) {
        const first = token.iiat ?? epoch();
        const left = settings.refresh_token_max_ttl - (epoch() - first);
        return Math.max(1, Math.min(settings.refresh_token_idle_ttl, left));
      },
      // The login attempt must outlive its link.
      Interaction: Math.max(60 * 60, settings.magic_link_ttl + 10 * 60),
      Session: SESSION_TTL,
      Grant: settings.refresh_token_max_ttl,
    },

    // Short-lived cookies carry no path of ours: the engine scopes the interaction cookie to
    // the interaction's own URL, so two sign-ins in one browser never overwrite each other.
    cookies: {
      keys: [...deps.cookieSecrets],
      long: cookieOptions,
      short: { httpOnly: true, sameSite: 'lax', secure: deps.secureCookies },
    },
    interactions: {
      url: (_ctx: KoaContextWithOIDC, interaction) => `${appPath(app.id)}/interaction/${interaction.uid}`,
    },
    discovery: {
      revoke_all_endpoint: `${issuer}${REVOKE_ALL_PATH}`,
      claim_types_supported: ['normal'],
    },

    async renderError(ctx, out, error) {
      const reference = ctx.state.requestId as string | undefined;
      const status = (error as { status?: number }).status ?? 500;
      if (status >= 500) deps.logger.error('oidc error', { app_id: app.id, reference, err: String(error) });
      ctx.type = 'html';
      ctx.body = errorPage({
        title: status >= 500 ? 'Something went wrong' : 'This sign-in request cannot continue',
        message: status >= 500 ? 'An unexpected error stopped the sign-in.' : String(out.error_description ?? out.error),
        reference: status >= 500 ? reference : undefined,
      });
    },
  };
}
