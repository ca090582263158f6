// One app's oidc-provider on its own: a real Provider with Postern's configuration of a
// freshly made app (real keys, memory or Redis stores), mounted under the app's path on a
// loopback port behind Postern's security headers, and nothing else of Postern. Sign-in
// ends through the engine's documented interaction API, so the tests in this folder see
// the engine, not the hosted login.
import { systemClock } from '../../src/clock.ts';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa, { type Context, type Middleware } from 'koa';
import mount from 'koa-mount';
import Provider, { type Configuration } from 'oidc-provider';
import * as oidc from 'openid-client';
import { loginResult } from '../../interactions/consent.ts';
import { errorPage, formPostPage, logoutPage, signedOutPage } from '../../interactions/views/pages.ts';
import { appPath } from '../../src/apps/app-paths.ts';
import { securityHeaders } from '../../src/http/request-context.ts';
import { cookieKeysFor } from '../../src/keys/cookie-keys.ts';
import { clientSecretContext, encryptSecret } from '../../src/keys/encryption.ts';
import { generateKey } from '../../src/keys/generate-keys.ts';
import { initialKeys } from '../../src/keys/key-ring.ts';
import { DEFAULT_ID_TOKEN_ALG } from '../../src/apps/client-options.ts';
import { createLogger } from '../../src/log.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { AppsService } from '../../src/apps/apps-service.ts';
import { ClientsService } from '../../src/apps/clients-service.ts';
import { validateClientMetadata } from '../../src/oidc/engine.ts';
import { offlineAccessImpliesConsent } from '../../src/oidc/offline-access.ts';
import { providerConfiguration, type ProviderDeps } from '../../src/oidc/provider-config.ts';
import { removePresentedTokenLast } from '../../src/oidc/revocation-order.ts';
import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import type { AppRecord, AppSettings, Stores, TokenEndpointAuthMethod } from '../../src/storage/ports.ts';
import { Browser } from '../helpers/browser.ts';
import { REDIRECT_URI } from '../helpers/harness.ts';

export const KEK = randomBytes(32);

/** Runs the request through the app's engine (mounted under the app's path). */
export type RunEngine = (ctx: Context) => Promise<void>;

export interface EngineOptions {
  /** Default: memory stores of their own. */
  readonly stores?: Stores;
  readonly tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
  /** Changes the app's settings (e.g. the refresh token reuse interval). */
  readonly settings?: Partial<AppSettings>;
  /** Changes Postern's configuration of the app before the Provider is built. */
  readonly configure?: (configuration: Configuration) => Configuration;
  /** What stands in front of the engine (default: nothing). */
  readonly front?: (engine: RunEngine) => Middleware;
  /** Middleware for `provider.use`, ahead of Postern's own (the engine is mounted with what it has then). */
  readonly use?: readonly Middleware[];
  /** false: without Postern's offline_access rewrite (A9), to see the engine on its own. */
  readonly offlineAccessRewrite?: false;
}

/** An app record as the admin API would create it. */
export async function makeApp(
  tokenEndpointAuthMethod: TokenEndpointAuthMethod = 'none',
  overrides: Partial<AppSettings> = {},
): Promise<{ app: AppRecord; secret: string | undefined }> {
  const id = randomUUID();
  const now = Date.now();
  const secret = tokenEndpointAuthMethod === 'none' ? undefined : randomBytes(32).toString('base64url');
  const settings = { id_token_ttl: 3600, magic_link_ttl: 600, refresh_token_idle_ttl: 3600, refresh_token_max_ttl: 7200, ...overrides };
  const app: AppRecord = {
    id,
    name: 'Engine App',
    redirectUris: [REDIRECT_URI],
    postLogoutRedirectUris: [],
    tokenEndpointAuthMethod,
    encryptedClientSecret: secret && encryptSecret(KEK, secret, clientSecretContext(id)),
    settings,
    // As a new app with the default ID token algorithm: keys for it alone.
    keys: await initialKeys((alg) => generateKey(id, KEK, alg), now, settings.id_token_ttl, [DEFAULT_ID_TOKEN_ALG]),
    createdAt: now,
    updatedAt: now,
  };
  return { app, secret };
}

/** One for every engine of the file: the engine only counts into it, and nothing reads it here. */
const metrics = new Metrics({ lag: { lagMs: () => 0 }, outboxes: {} });

export function providerDeps(stores: Stores): ProviderDeps {
  const apps = new AppsService({ stores, clock: systemClock, kek: KEK, validateClient: async () => {}, changed: async () => {} });
  return {
    rules: { httpLoopbackEndpoints: true },
    clients: new ClientsService({ apps, clock: systemClock, kek: KEK, validateMetadata: (m) => validateClientMetadata(m as Parameters<typeof validateClientMetadata>[0]) }),
    metrics,
    stores,
    kek: KEK,
    cookieSecrets: ['engine-test-cookie-secret-0123456789abcdef'],
    secureCookies: false,
    logger: createLogger('silent'),
    clock: systemClock,
    pages: { errorPage, logoutPage, signedOutPage, formPostPage },
    showEngineErrors: false,
  };
}

export class Engine {
  app!: AppRecord;
  secret: string | undefined;
  stores!: Stores;
  provider!: Provider;
  /** Base URL of the server, and the app's issuer under it. */
  url = '';
  issuer = '';
  #http: Server | undefined;
  #ownStores = false;

  async start(options: EngineOptions = {}): Promise<this> {
    ({ app: this.app, secret: this.secret } = await makeApp(options.tokenEndpointAuthMethod, options.settings));
    this.#ownStores = !options.stores;
    this.stores = options.stores ?? openMemoryStores();
    // Stored, as in Postern: further clients and initial access tokens live in the app's record (A21, A22).
    await this.stores.apps.insert(this.app);
    const http = createServer();
    this.#http = http;
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    this.url = `http://localhost:${(http.address() as AddressInfo).port}`;
    const path = appPath(this.app.id);
    this.issuer = `${this.url}${path}`;
    const deps = providerDeps(this.stores);
    const configuration = providerConfiguration(this.app, this.issuer, deps);
    this.provider = new Provider(this.issuer, options.configure ? options.configure(configuration) : configuration);
    for (const middleware of options.use ?? []) this.provider.use(middleware);
    if (options.offlineAccessRewrite !== false) this.provider.use(offlineAccessImpliesConsent);
    // The configuration's adapter leaves a revocation's presented token to it (A71).
    this.provider.use(removePresentedTokenLast);

    const mounted = mount(path, this.provider as never);
    const engine: RunEngine = (ctx) => mounted(ctx, async () => {});
    // The engine runs on the mounting app's context, so its cookies are signed with that app's keys, as in server.ts.
    const koa = new Koa({ proxy: true });
    koa.keys = cookieKeysFor(deps.cookieSecrets);
    koa.use(securityHeaders(false));
    koa.use(this.#interaction(`${path}/interaction/`));
    koa.use(options.front ? options.front(engine) : (ctx) => engine(ctx));
    http.on('request', koa.callback());
    return this;
  }

  async stop(): Promise<void> {
    const http = this.#http;
    if (http) {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
    if (this.#ownStores) await this.stores.close();
  }

  /** The person signs in as the login_hint, without any page: the engine's documented interactionResult. */
  #interaction(prefix: string): Middleware {
    return async (ctx, next) => {
      if (ctx.method !== 'GET' || !ctx.path.startsWith(prefix)) return next();
      const details = await this.provider.interactionDetails(ctx.req, ctx.res);
      const email = String(details.params.login_hint);
      await this.stores.accounts.recordLogin(this.app.id, email, Date.now());
      ctx.redirect(await this.provider.interactionResult(ctx.req, ctx.res, loginResult(email), { mergeWithLastSubmission: false }));
    };
  }

  /** openid-client for the app's client. */
  client(): Promise<oidc.Configuration> {
    const auth = !this.secret
      ? oidc.None()
      : this.app.tokenEndpointAuthMethod === 'client_secret_post'
        ? oidc.ClientSecretPost(this.secret)
        : oidc.ClientSecretBasic(this.secret);
    return oidc.discovery(new URL(this.issuer), this.app.id, undefined, auth, { execute: [oidc.allowInsecureRequests] });
  }

  /**
   * Authorization request and sign-in, up to the callback with its code; `browser` keeps
   * the session. `par`: the parameters go by a pushed authorization request. `respell`
   * changes the request's URL (another spelling of the endpoint).
   */
  async authorize(email: string, scope = 'openid email', browser = new Browser(), options: { par?: boolean; respell?: (url: string) => string } = {}) {
    const config = await this.client();
    const verifier = oidc.randomPKCECodeVerifier();
    const nonce = oidc.randomNonce();
    const params = {
      redirect_uri: REDIRECT_URI,
      scope,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      nonce,
      login_hint: email,
    };
    const url = options.par ? await oidc.buildAuthorizationUrlWithPAR(config, params) : oidc.buildAuthorizationUrl(config, params);
    const callback = await browser.navigate((options.respell ?? ((u: string) => u))(url.href), {}, REDIRECT_URI);
    if (!callback.url.startsWith(REDIRECT_URI)) throw new Error(`sign-in did not reach the redirect URI: ${callback.status} ${callback.body.slice(0, 300)}`);
    // `parameters` go with the token request (e.g. `resource`).
    const exchange = (parameters?: Record<string, string>) =>
      oidc.authorizationCodeGrant(config, new URL(callback.url), { pkceCodeVerifier: verifier, expectedNonce: nonce }, parameters);
    return { config, browser, exchange };
  }

  /** Authorization request, sign-in and code exchange; `browser` keeps the session. */
  async signIn(email: string, scope = 'openid email', browser = new Browser(), options: { par?: boolean; respell?: (url: string) => string } = {}) {
    const { config, exchange } = await this.authorize(email, scope, browser, options);
    return { config, tokens: await exchange(), browser };
  }

  /** A form POST to a path under the issuer. */
  post(path: string, form: Record<string, string>, headers: Record<string, string> = {}) {
    return fetch(`${this.issuer}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form),
    });
  }
}
