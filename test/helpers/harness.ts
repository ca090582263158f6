// Starts a real Postern server in this process on a free port, with a real SMTP server
// capturing its mail, and gives tests an admin client and a full sign-in helper driven by
// openid-client (the app) and a cookie-keeping Browser (the person).
import type { AddressInfo } from 'node:net';
import { createServer, type Server as HttpServer } from 'node:http';
import * as oidc from 'openid-client';
import { loadConfig, type Config } from '../../config/load.ts';
import type { LagSource } from '../../src/http/event-loop-lag.ts';
import { loadEs512Signer } from '../../src/keys/native-signer.ts';
import { createLogger, type Logger } from '../../src/log.ts';
import { DevMailbox } from '../../src/mail/dev-mailbox.ts';
import type { MailQueueOptions } from '../../src/mail/mail-queue.ts';
import type { DeliveryQueueOptions } from '../../src/delivery/delivery-queue.ts';
import type { Mailer } from '../../src/mail/mailer.ts';
import { createSmtpMailer, dkimKeyOf, type SmtpTimeouts } from '../../src/mail/smtp-mailer.ts';
import { buildServer, type Server } from '../../src/server.ts';
import { openStores } from '../../src/storage/open-stores.ts';
import type { Stores } from '../../src/storage/ports.ts';
import { recordAdminResponses } from './admin-responses.ts';
import { Browser, type Page } from './browser.ts';
import { TestClock } from './clock.ts';
import { SmtpCapture, linkIn } from './smtp-capture.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123456789';
export const REDIRECT_URI = 'http://localhost:8080/callback';

export interface AppJson {
  app_id: string;
  client_id: string;
  issuer: string;
  client_secret?: string;
  name: string;
  redirect_uris: string[];
  [key: string]: unknown;
}

export interface LoginOptions {
  readonly scope?: string;
  readonly redirectUri?: string;
  readonly par?: boolean;
  readonly pkce?: false;
  /** Adds to or overrides the authorization request's parameters (e.g. `resource`). */
  readonly params?: Record<string, string>;
}

export class Harness {
  readonly smtp = new SmtpCapture();
  /** The server's time; `h.clock.travel(s)` moves it for expiry tests. */
  readonly clock = new TestClock();
  stores!: Stores;
  server!: Server;
  url = '';
  logs: string[] = [];
  #http: HttpServer | undefined;
  #mailer: Mailer | undefined;

  /** `devMailbox` wires the development mailbox in instead of the SMTP capture, whatever the environment. */
  async start(
    env: Record<string, string> = {},
    options: {
      adminAuthFailuresPerIp?: number;
      devMailbox?: boolean;
      mail?: MailQueueOptions;
      backchannel?: DeliveryQueueOptions;
      smtpTimeouts?: SmtpTimeouts;
      eventLoopLag?: LagSource;
      /** The native ES512 signer's file (default: where `npm run build:native` puts it). */
      es512Addon?: string;
      /** Opens the stores instead of `openStores` (e.g. a split over two real Redis servers). */
      openStores?: (config: Config, logger: Logger) => Promise<Stores>;
    } = {},
  ): Promise<this> {
    await this.smtp.start();
    const http = createServer();
    this.#http = http;
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const port = (http.address() as AddressInfo).port;
    const config = loadConfig({
      NODE_ENV: 'test',
      PORT: String(port),
      ADMIN_TOKEN,
      SMTP_URL: this.smtp.url,
      COOKIE_SECRETS: 'test-cookie-secret-0123456789abcdef0123456789',
      KEY_ENCRYPTION_KEY: '9cc548cd456ea76f7135923b46bb51b64db235af426618fffc8fcf94947c38e2',
      LOG_LEVEL: 'debug',
      // No load shedding unless a test asks for it: the tests share the server's event
      // loop, so their own work would count as the server's lag.
      MAX_EVENT_LOOP_LAG_MS: '0',
      ...env,
    });
    const logger = createLogger(config.logLevel, (line) => void this.logs.push(line), { format: config.logFormat });
    // ES512_SIGNER as main.ts reads it (auto unless `env` says otherwise).
    const es512 = await loadEs512Signer(config.es512Signer, logger, options.es512Addon);
    // Memory unless the env names REDIS_URL / MONGODB_URI, exactly as main.ts decides.
    this.stores = options.openStores ? await options.openStores(config, logger) : await openStores(config, logger, this.clock);
    // SMTP_URL from `env` wins (e.g. a mail server that never answers); else the capture.
    this.#mailer = options.devMailbox
      ? new DevMailbox(() => {}, this.clock)
      : createSmtpMailer(config.smtpUrl ?? this.smtp.url, config.mailFrom, options.smtpTimeouts, dkimKeyOf(config));
    this.server = buildServer({
      config,
      stores: this.stores,
      mailer: this.#mailer,
      logger,
      clock: this.clock,
      mail: { retryDelaysMs: [20, 50], ...options.mail },
      backchannel: { retryDelaysMs: [20, 50], ...options.backchannel },
      ...(options.adminAuthFailuresPerIp ? { adminAuthFailuresPerIp: options.adminAuthFailuresPerIp } : {}),
      ...(options.eventLoopLag ? { eventLoopLag: options.eventLoopLag } : {}),
      es512,
    });
    // Every admin answer is checked against the OpenAPI document at the end of the run.
    recordAdminResponses(this.server.app);
    http.on('request', this.server.app.callback());
    this.server.phase = 'ready';
    this.url = `http://localhost:${port}`;
    return this;
  }

  /** Only the SMTP capture and the client helpers, for Postern processes started elsewhere. */
  async attach(url: string): Promise<this> {
    await this.smtp.start();
    this.url = url;
    return this;
  }

  async stop(): Promise<void> {
    await this.server?.mailQueue.stop();
    await this.server?.backchannel.stop();
    const http = this.#http;
    if (http) {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
    // Its pooled connections would otherwise keep the capture server open.
    await this.#mailer?.close();
    await this.smtp.stop();
    this.server?.readiness.close();
    await this.stores?.close();
  }

  /** Waits (up to `ms`) until /readyz answers 200, e.g. after a store came back. */
  async untilReady(ms = 10_000): Promise<void> {
    for (const until = Date.now() + ms; (await fetch(`${this.url}/readyz`)).status !== 200; ) {
      if (Date.now() > until) throw new Error(`not ready within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * Waits (up to `ms`) until /readyz answers 503, e.g. after a store froze or stopped: the
   * background probe reports it within READINESS_BOUND_MS (readiness-probe.ts). Resolves
   * with the last answer's body.
   */
  async untilNotReady(ms = 5_000): Promise<{ readonly status: string; readonly unavailable: string; readonly retryAfter: string | null }> {
    for (const until = Date.now() + ms; ; ) {
      const res = await fetch(`${this.url}/readyz`);
      if (res.status === 503) return { ...((await res.json()) as { status: string; unavailable: string }), retryAfter: res.headers.get('retry-after') };
      await res.body?.cancel();
      if (Date.now() > until) throw new Error(`still ready ${ms} ms later`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async admin(method: string, path: string, body?: unknown, token = ADMIN_TOKEN) {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }

  async createApp(overrides: Record<string, unknown> = {}): Promise<AppJson> {
    const res = await this.admin('POST', '/admin/apps', { name: 'Test App', redirect_uris: [REDIRECT_URI], ...overrides });
    if (res.status !== 201) throw new Error(`createApp failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as AppJson;
  }

  /** openid-client configured for the app's own client, from discovery. */
  async client(app: AppJson): Promise<oidc.Configuration> {
    const auth = app.client_secret
      ? app.token_endpoint_auth_method === 'client_secret_post'
        ? oidc.ClientSecretPost(app.client_secret)
        : oidc.ClientSecretBasic(app.client_secret)
      : oidc.None();
    return oidc.discovery(new URL(app.issuer), app.client_id, undefined, auth, { execute: [oidc.allowInsecureRequests] });
  }

  /**
   * An authorization request as openid-client builds it (PKCE unless `pkce: false`, state,
   * nonce), not sent yet; `params` adds to or overrides it; `par`: the parameters go by a
   * pushed authorization request (RFC 9126), as openid-client sends it.
   */
  async authorizationRequest(app: AppJson, opts: LoginOptions = {}) {
    const config = await this.client(app);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const redirectUri = opts.redirectUri ?? app.redirect_uris[0]!;
    const params = {
      redirect_uri: redirectUri,
      scope: opts.scope ?? 'openid email',
      ...(opts.pkce !== false && { code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }),
      state,
      nonce,
      ...opts.params,
    };
    const url = opts.par ? await oidc.buildAuthorizationUrlWithPAR(config, params) : oidc.buildAuthorizationUrl(config, params);
    return { config, verifier, state, nonce, redirectUri, url };
  }

  /** Starts an authorization request in `browser` and returns the login page. */
  async startLogin(app: AppJson, browser: Browser, opts: LoginOptions & { params?: Record<string, string> } = {}) {
    const request = await this.authorizationRequest(app, opts);
    const page = await browser.navigate(request.url.href, {}, request.redirectUri);
    return { ...request, page };
  }

  /** Types the address into the login page and returns the page shown and the mail sent. */
  async requestLink(browser: Browser, loginPage: Page, email: string) {
    const since = this.smtp.mails.length;
    const page = await browser.submit(loginPage, { email });
    const mail = await this.smtp.next(email.trim().toLowerCase(), since);
    return { page, mail, link: linkIn(mail) };
  }

  /**
   * The person's part of a sign-in, from the login page on: the address typed in, the link
   * from the mail opened and confirmed. Returns the link and the URL the browser was sent
   * back to (the redirect URI with the code), which the app then redeems.
   */
  async confirmSignIn(browser: Browser, loginPage: Page, email: string, redirectUri: string) {
    const { link } = await this.requestLink(browser, loginPage, email);
    const confirm = await browser.navigate(link);
    const callback = await browser.submit(confirm, {}, '/link', redirectUri);
    if (!callback.url.startsWith(redirectUri)) {
      throw new Error(`sign-in did not reach the redirect URI: ${callback.status} ${callback.body.slice(0, 400)}`);
    }
    return { link, callbackUrl: callback.url };
  }

  /**
   * The person's part of an RP-initiated logout: the app's end-session URL opened and
   * "Sign out" confirmed. Returns the URL the browser was sent to at the end (the
   * post_logout_redirect_uri when the app asked for one).
   */
  async confirmSignOut(browser: Browser, endSessionUrl: string, postLogoutRedirectUri: string): Promise<string> {
    const confirm = await browser.navigate(endSessionUrl);
    if (confirm.status !== 200) throw new Error(`end-session page: ${confirm.status} ${confirm.body.slice(0, 400)}`);
    return (await browser.submit(confirm, { logout: 'yes' }, undefined, postLogoutRedirectUri)).url;
  }

  /** The sign-in up to the app's callback with its code: authorization request, email, link, confirm. */
  async authorize(app: AppJson, email: string, opts: LoginOptions & { browser?: Browser } = {}) {
    const browser = opts.browser ?? new Browser();
    const login = await this.startLogin(app, browser, opts);
    const { link, callbackUrl } = await this.confirmSignIn(browser, login.page, email, login.redirectUri);
    return { ...login, browser, callbackUrl, link };
  }

  /** The whole sign-in: authorization request, email, link, confirm, code exchange. */
  async signIn(app: AppJson, email: string, opts: LoginOptions & { browser?: Browser } = {}) {
    const authorized = await this.authorize(app, email, opts);
    const tokens = await oidc.authorizationCodeGrant(authorized.config, new URL(authorized.callbackUrl), {
      pkceCodeVerifier: opts.pkce === false ? undefined : authorized.verifier,
      expectedState: authorized.state,
      expectedNonce: authorized.nonce,
    });
    return { ...authorized, tokens };
  }
}
