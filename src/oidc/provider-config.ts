// Builds the oidc-provider configuration of one app: what every Provider shares
// (shared-configuration.ts) plus everything app-specific (issuer, client, keys, TTLs,
// cookie path, storage namespace, page texts), which comes from the AppRecord, so a
// change to the record means a new Provider (see tenancy/provider-registry.ts).
import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type { AppRecord, Stores } from '../storage/ports.ts';
import { openSigningKeys } from '../keys/open-keys.ts';
import { adapterFor } from './adapter.ts';
import { clientMetadataOf } from './client-metadata.ts';
import { DECLINE_SIGN_OUT_PATH } from './decline-sign-out.ts';
import { engineCookieKeys, EXTERNAL_SIGNING, interactionPolicyOf, jwksInPreferenceOrder } from './engine.ts';
import { findAccountIn } from './find-account.ts';
import { accessTokenTtl, recordJwtAccessTokens, resourceIndicatorsOf } from './resource-indicators.ts';
import { withNativeEs512 } from './native-es512-keys.ts';
import { CLIENT_AUTH_METHODS, sharedConfiguration } from './shared-configuration.ts';
import type { Logger } from '../log.ts';
import { appPath } from '../apps/app-paths.ts';
import { settingsOf } from '../apps/app-settings.ts';
import { clientSigningAlgs, requirePkceOf, signedResponseDefaults, signingOf } from '../apps/client-options.ts';
import type { Clock } from '../clock.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { ErrorPage } from '../http/error-handler.ts';
import type { ClientsService } from '../apps/clients-service.ts';
import type { InputRules } from '../admin/app-input.ts';
import { clientAdapter, initialAccessTokenAdapter, type ClientModelDeps } from './client-models.ts';
import { CLIENT_MODEL, INITIAL_ACCESS_TOKEN_MODEL, REGISTRATION_ACCESS_TOKEN_MODEL, REVOCABLE_TOKEN_MODELS } from './engine.ts';
import { registrationTokenAdapter } from './registration-token-order.ts';
import { revocationOrderAdapter } from './revocation-order.ts';
import { registrationFeatures } from './registration.ts';
import type { Es512Signer } from '../keys/native-signer.ts';
import type * as PageViews from '../../interactions/views/pages.ts';
import { allowLogo, presentationFor } from '../http/page-response.ts';
import { messagesFor } from '../text/language.ts';
import { engineErrorText } from './engine-error-text.ts';

export interface ProviderDeps {
  readonly stores: Stores;
  readonly kek: Buffer;
  readonly cookieSecrets: readonly string[];
  readonly secureCookies: boolean;
  readonly logger: Logger;
  /** Store expiry and key retirement run on this clock, so the engine's TTLs must too. */
  readonly clock: Clock;
  /** Tokens issued and refresh-token replays are counted here. */
  readonly metrics: Metrics;
  /** The apps' further clients and initial access tokens (registration.ts, client-models.ts). */
  readonly clients: ClientsService;
  /** The rules for the URIs a registered client gives, the same as the admin API's. */
  readonly rules: InputRules;
  /** The hosted pages' look for the engine's own pages (HTML; the views escape). */
  readonly pages: Pick<typeof PageViews, 'errorPage' | 'logoutPage' | 'signedOutPage' | 'formPostPage'>;
  /**
   * Outside production, an error page also shows the engine's error code and description,
   * folded away under "Details for the app's developer"; in production never.
   */
  readonly showEngineErrors: boolean;
  /** The process's ES512 signer (unset: the engine signs ES512 itself, as under the fallback). */
  readonly es512?: Es512Signer | undefined;
}

export const ACCESS_TOKEN_TTL = 10 * 60;
export const AUTHORIZATION_CODE_TTL = 60;
export const SESSION_TTL = 14 * 24 * 60 * 60;
export const REVOKE_ALL_PATH = '/token/revoke_all';

export function providerConfiguration(app: AppRecord, issuer: string, deps: ProviderDeps): Configuration {
  const settings = settingsOf(app.settings);
  const cookieOptions = {
    // Scoped to the app's own path: one app's session cookie is never sent to another.
    path: appPath(app.id),
    httpOnly: true,
    sameSite: 'lax' as const,
    secure: deps.secureCookies,
  };

  const shared = sharedConfiguration();
  // Where the hosted sign-in page of an interaction is (interactions/login-routes.ts), made once.
  const interactionPath = `${appPath(app.id)}/interaction/`;
  const documents = adapterFor(
    deps.stores.oidc,
    app.id,
    deps.clock,
    { reuseInterval: settings.refresh_token_reuse_interval, maxLifetime: settings.refresh_token_max_ttl },
    () => deps.metrics.refreshReplayed(app.id),
  );
  const held = new Set(app.keys.map((k) => k.alg));
  const models: ClientModelDeps = {
    appId: app.id,
    kek: deps.kek,
    clock: deps.clock,
    clients: deps.clients,
    rules: deps.rules,
    storedApp: () => deps.stores.apps.get(app.id),
    canSignFor: (metadata) => clientSigningAlgs(metadata, signingOf(app).idToken).every((alg) => held.has(alg)),
  };
  const clients = clientAdapter(models);
  const initialAccessTokens = initialAccessTokenAdapter(models);
  return {
    // The app's further clients and its initial access tokens live in its record (client-models.ts).
    adapter: (model: string) =>
      model === CLIENT_MODEL ? clients
      : model === INITIAL_ACCESS_TOKEN_MODEL ? initialAccessTokens
      : model === REGISTRATION_ACCESS_TOKEN_MODEL ? registrationTokenAdapter(documents(model)) // written in a safe order
      : REVOCABLE_TOKEN_MODELS.includes(model) ? revocationOrderAdapter(documents(model), model) // removed last at a revocation
      : documents(model),
    // The default client (client_id = app id); the others come through the adapter (A21).
    clients: [clientMetadataOf(app, deps.kek)],
    jwks: jwksInPreferenceOrder(withNativeEs512(openSigningKeys(app, deps.kek, deps.clock.now()), deps.es512)),
    findAccount: findAccountIn(deps.stores.accounts, app.id),

    ...shared,
    // A signed response a client names no algorithm for is signed as the app's ID tokens
    // are, with a key the app always holds (client-options.ts, engine.ts A44).
    clientDefaults: { ...shared.clientDefaults, ...signedResponseDefaults(signingOf(app).idToken) },
    // A public client always sends PKCE; a confidential one unless the app says otherwise.
    // Further clients always do: a confidential one too (one rule, no per-client switch).
    pkce: { required: (_ctx, client) => (client.clientId === app.id ? requirePkceOf(app) : true) },
    features: {
      ...shared.features,
      // The app's APIs: JWT access tokens for a `resource` (resource-indicators.ts).
      resourceIndicators: resourceIndicatorsOf(app),
      ...registrationFeatures(models),
      // ES512 keys held by the native signer are ExternalSigningKeys (native-es512-keys.ts).
      externalSigningSupport: EXTERNAL_SIGNING,
      rpInitiatedLogout: {
        ...shared.features.rpInitiatedLogout,
        async logoutSource(ctx, form) {
          const presentation = presentationFor(ctx, app, { uiLocales: ctx.oidc.params?.ui_locales, clientId: ctx.oidc.client?.clientId });
          ctx.type = 'html';
          ctx.body = deps.pages.logoutPage({ presentation, form, decline: `${issuer}${DECLINE_SIGN_OUT_PATH}` });
          allowLogo(ctx, presentation.brand);
        },
        async postLogoutSuccessSource(ctx) {
          const presentation = presentationFor(ctx, app, { uiLocales: ctx.oidc.params?.ui_locales, clientId: ctx.oidc.client?.clientId });
          ctx.type = 'html';
          ctx.body = deps.pages.signedOutPage({ presentation });
          allowLogo(ctx, presentation.brand);
        },
      },
    },

    formats: { customizers: { jwt: recordJwtAccessTokens(deps.stores.oidc, app.id) } },

    ttl: {
      AccessToken: accessTokenTtl(ACCESS_TOKEN_TTL),
      AuthorizationCode: AUTHORIZATION_CODE_TTL,
      IdToken: settings.id_token_ttl,
      // Idle timeout on every rotation, capped by what is left of the absolute lifetime,
      // counted from the first token of the chain (`iiat`).
      RefreshToken(_ctx, token) {
        const now = Math.floor(deps.clock.now() / 1000);
        const left = settings.refresh_token_max_ttl - (now - (token.iiat ?? now));
        // A chain with nothing left never gets here: the adapter no longer finds its token.
        return Math.max(1, Math.min(settings.refresh_token_idle_ttl, left));
      },
      // Long enough for a link asked for at the start of the attempt; one asked for later
      // lives only until the attempt ends (src/sign-in/sign-in.ts, linkLifetime).
      Interaction: Math.max(60 * 60, settings.magic_link_ttl + 10 * 60),
      Session: SESSION_TTL,
      Grant: settings.refresh_token_max_ttl,
    },

    // Short-lived cookies carry no path of ours: the engine scopes the interaction cookie to
    // the interaction's own URL, so two sign-ins in one browser never overwrite each other.
    cookies: {
      // Keygrip's signatures, under keys imported once (A50).
      keys: engineCookieKeys(deps.cookieSecrets),
      long: cookieOptions,
      short: { httpOnly: true, sameSite: 'lax', secure: deps.secureCookies },
    },
    interactions: {
      policy: interactionPolicyOf(),
      url: (_ctx: KoaContextWithOIDC, interaction) => `${interactionPath}${interaction.uid}`,
    },
    discovery: {
      revoke_all_endpoint: `${issuer}${REVOKE_ALL_PATH}`,
      claim_types_supported: ['normal'],
      // RFC 8414 §2: without these, a client must assume client_secret_basic only, while
      // public clients authenticate with their client_id alone here too.
      revocation_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
      introspection_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
      // Back-Channel Logout 1.0 §2.1, delivered by Postern (logout/backchannel-logout.ts),
      // not by the engine's own sender, which makes one attempt while the person waits.
      backchannel_logout_supported: true,
      backchannel_logout_session_supported: true,
    },

    // The engine's description is for developers (and English): the person gets a
    // sentence chosen by the error code, the way back to the app, and a reference.
    async renderError(ctx, out, error) {
      const reference = ctx.state.requestId as string | undefined;
      const status = (error as { status?: number }).status ?? 500;
      if (status >= 500) deps.logger.error('oidc error', { app_id: app.id, reference, err: String(error) });
      const presentation = presentationFor(ctx, app, { uiLocales: ctx.oidc?.params?.ui_locales, clientId: ctx.oidc?.client?.clientId });
      const code = typeof out.error === 'string' ? out.error : undefined;
      const words = engineErrorText(messagesFor(presentation.language), { code, name: (error as Error).name, status });
      ctx.type = 'html';
      const developerDetails = deps.showEngineErrors ? `${String(out.error)}: ${String(out.error_description ?? '')}` : undefined;
      ctx.body = deps.pages.errorPage({ ...words, reference, presentation, developerDetails });
      allowLogo(ctx, presentation.brand);
    },
  };
}
