// The root Koa app, as the ordered list of what every request passes through: request
// metrics, request id and log, host pinning, security headers, error mapping, URL length,
// load shedding, admin and metrics authentication and canonical paths; then health and
// metrics, admin API, hosted login, sign-out everywhere, declining a sign-out and, last,
// each app's oidc-provider.
import { readFileSync } from 'node:fs';
import Koa from 'koa';
import type Router from '@koa/router';
import type { Config } from '../config/load.ts';
import { FAVICON, STYLESHEET } from '../interactions/views/layout.ts';
import { loginRouter } from '../interactions/login-routes.ts';
import { Csrf } from '../interactions/csrf.ts';
import { errorPage, formPostPage, logoutPage, signedOutPage, stillSignedInPage } from '../interactions/views/pages.ts';
import { adminGate } from './admin/admin-auth.ts';
import { clientRouter } from './admin/client-routes.ts';
import { adminRouter } from './admin/admin-routes.ts';
import { adminSignOutRouter } from './admin/sign-out-routes.ts';
import type { AppsService } from './apps/apps-service.ts';
import type { AuditLog } from './audit.ts';
import { systemClock, type Clock } from './clock.ts';
import { composeServices } from './compose.ts';
import { clientHungUp, connectionFailed } from './http/client-hung-up.ts';
import { errorHandler } from './http/error-handler.ts';
import { processEventLoopLag, type LagSource } from './http/event-loop-lag.ts';
import { expensiveTurns, LoadShedding } from './http/load-shedding.ts';
import { ReadinessProbe } from './http/readiness-probe.ts';
import { mountRouters } from './http/mount-router.ts';
import { countRequests, metricsGate } from './http/metrics-endpoint.ts';
import { pinToPublicUrl, requestLog, securityHeaders } from './http/request-context.ts';
import { refuseLongUrls, refuseNonCanonicalPaths } from './http/request-path.ts';
import { rootRouter, type ServerPhase } from './http/root-routes.ts';
import { cookieKeysFor } from './keys/cookie-keys.ts';
import type { Es512Signer } from './keys/native-signer.ts';
import type { KeyRotationScheduler } from './keys/rotation-scheduler.ts';
import type { DeletionSweeper } from './apps/deletion-sweeper.ts';
import type { Logger } from './log.ts';
import { DevMailbox } from './mail/dev-mailbox.ts';
import { MailHealth } from './mail/mail-health.ts';
import type { MailQueue, MailQueueOptions } from './mail/mail-queue.ts';
import type { DeliveryQueueOptions } from './delivery/delivery-queue.ts';
import type { BackchannelLogout } from './logout/backchannel-logout.ts';
import type { Mailer } from './mail/mailer.ts';
import { Metrics } from './metrics/metrics.ts';
import { declineSignOutRouter } from './oidc/decline-sign-out.ts';
import { revokeAllRouter } from './oidc/revoke-all.ts';
import type { Stores } from './storage/ports.ts';
import { mountApps } from './tenancy/app-mount.ts';
import { keysBeforeRegistration } from './oidc/registrable-algorithms.ts';
import type { ProviderRegistry } from './tenancy/provider-registry.ts';

export interface ServerDeps {
  readonly config: Config;
  readonly stores: Stores;
  readonly mailer: Mailer;
  readonly logger: Logger;
  /** Where services read the time (tests pass one they can move). */
  readonly clock?: Clock;
  /** Retry schedule and deadlines of the mail queue (tests shorten them). */
  readonly mail?: MailQueueOptions;
  /** Retry schedule and deadlines of back-channel logout (tests shorten them). */
  readonly backchannel?: DeliveryQueueOptions;
  /** Failed admin authentications allowed per IP per 15 minutes (default 20). */
  readonly adminAuthFailuresPerIp?: number;
  /** What load shedding reads (default: this process's event-loop monitor). */
  readonly eventLoopLag?: LagSource;
  /** The process's ES512 signer, loaded at start (loadEs512Signer); unset: Node's crypto. */
  readonly es512?: Es512Signer;
}

export interface Server {
  readonly app: Koa;
  readonly registry: ProviderRegistry;
  readonly apps: AppsService;
  readonly audit: AuditLog;
  /** This server's Prometheus registry, served at /metrics. */
  readonly metrics: Metrics;
  /** Scheduled key rotation and retired-key sweep; main.ts starts and stops it. */
  readonly keyRotation: KeyRotationScheduler;
  /** Finishes app deletions (purges again, forgets their marks); main.ts starts and stops it. */
  readonly appDeletions: DeletionSweeper;
  readonly mailQueue: MailQueue;
  /** Whether the mail server answers; main.ts checks it at start-up, /readyz shows it. */
  readonly mailHealth: MailHealth;
  /** The stores' readiness, probed in the background for /readyz; main.ts closes it before the stores. */
  readonly readiness: ReadinessProbe;
  /** Back-channel logout deliveries; main.ts starts and drains it. */
  readonly backchannel: BackchannelLogout;
  /** Every router Postern mounts, in order, so tests can enumerate every route. */
  readonly routers: Readonly<Record<'root' | 'admin' | 'clients' | 'adminSignOut' | 'login' | 'revokeAll' | 'signOut', Router>>;
  /** Who makes ES512 signatures in this server. */
  readonly es512: Es512Signer;
  /** Expensive requests waiting for their turn; main.ts refuses them at shutdown. */
  readonly loadShedding: LoadShedding;
  /** 'ready' once the server listens, 'stopping' from the shutdown on: /healthz and /readyz answer 503 but while ready. */
  phase: ServerPhase;
}

const MAX_URL_LENGTH = 8 * 1024;

const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const ADMIN_AUTH_FAILURES_PER_IP = 20; // per 15 minutes

export function buildServer(deps: ServerDeps): Server {
  const { config, mailer, logger } = deps;
  const https = config.publicUrl.startsWith('https://');
  const lag = deps.eventLoopLag ?? processEventLoopLag();
  const metrics = new Metrics({ lag, outboxes: { mail: deps.stores.outbox, backchannel_logout: deps.stores.logoutOutbox }, appLabels: config.metricsAppLabels });
  deps.stores.observe(metrics);
  const es512 = deps.es512 ?? { kind: 'node', reason: 'no ES512 signer was loaded' };
  metrics.es512Signer(es512);
  const turns = expensiveTurns(config.maxEventLoopLagMs, lag);
  // Under load shedding, the work after each store command takes turns.
  deps.stores.pace(turns && (() => turns.resume()));
  // Every limiter this server makes counts its refusals.
  const stores: Stores = { ...deps.stores, rateLimiter: metrics.countRefusals(deps.stores.rateLimiter) };
  const services = composeServices({
    config,
    stores,
    mailer,
    logger,
    clock: deps.clock ?? systemClock,
    mail: deps.mail,
    backchannel: deps.backchannel,
    pages: { errorPage, logoutPage, signedOutPage, formPostPage },
    metrics,
    es512,
  });
  const { registry, apps, audit } = services;
  // The landing page and the mailbox: never in production, whatever mailer was wired in.
  const dev =
    config.env === 'production'
      ? undefined
      : {
          running: {
            version: VERSION,
            env: config.env,
            publicUrl: config.publicUrl,
            storage: stores.kind,
            // Host and port only: SMTP_URL may carry credentials.
            mailTransport:
              mailer instanceof DevMailbox || !config.smtpUrl ? 'none: mail is kept in the development mailbox' : `SMTP at ${new URL(config.smtpUrl).host}`,
            metricsOpen: !config.metricsToken,
          },
          apps: (limit: number) => apps.page(limit),
          audit,
          mails: mailer instanceof DevMailbox ? mailer : undefined,
        };
  const mailHealth = new MailHealth({ mailer, clock: deps.clock ?? systemClock, logger });
  const readiness = new ReadinessProbe({ ping: () => stores.ping(), unreachable: () => stores.unreachable(), storage: stores.kind });

  const routers = {
    root: rootRouter({
      phase: () => server.phase,
      readiness: () => readiness.current(),
      storage: stores.kind,
      mail: () => mailHealth.current(),
      stylesheet: STYLESHEET,
      dev,
      favicon: FAVICON,
      metrics: () => metrics.render(),
    }),
    admin: adminRouter({ apps, publicUrl: config.publicUrl, audit, rules: services.rules }),
    clients: clientRouter({ apps, clients: services.clients, audit, rules: services.rules }),
    login: loginRouter({ registry, signIn: services.signIn, csrf: new Csrf(config.cookieSecrets, https) }),
    revokeAll: revokeAllRouter({ registry, documents: services.documents, backchannel: services.backchannel, audit }),
    adminSignOut: adminSignOutRouter({ apps, documents: services.documents, backchannel: services.backchannel, audit }),
    signOut: declineSignOutRouter({ registry, audit, stillSignedInPage }),
  };

  const loadShedding = new LoadShedding({ routers, turns, maxLagMs: config.maxEventLoopLagMs, lag, logger });
  const app = new Koa({ proxy: true });
  // The engine runs on this app's context (mounted), so its cookies use these keys too.
  app.keys = cookieKeysFor(config.cookieSecrets);
  // What Koa meets outside the middleware (errorHandler answers everything inside it): a
  // connection that broke while the answer went out, or a request cut short. Logged like
  // every other line; Koa's own listener would print raw stack traces to stderr.
  app.on('error', (err: Error, ctx?: Koa.Context) => {
    const fields = { request_id: ctx?.state.requestId, code: (err as { code?: unknown }).code, err: err.stack ?? String(err) };
    if (connectionFailed(err) || (ctx && clientHungUp(ctx.req))) logger.debug('client connection failed', fields);
    else logger.error('response failed', fields);
  });
  for (const middleware of [
    requestLog(logger, countRequests(metrics)),
    pinToPublicUrl(config.publicUrl, config.trustProxy),
    securityHeaders(https),
    errorHandler(logger, errorPage),
    refuseLongUrls(MAX_URL_LENGTH),
    loadShedding.middleware,
    // Before any router: the admin token for every spelling of /admin, whatever the
    // method; then one spelling per resource for everything else (request-path.ts).
    adminGate(config.adminToken, stores.rateLimiter('admin-auth-ip', deps.adminAuthFailuresPerIp ?? ADMIN_AUTH_FAILURES_PER_IP, 15 * 60)),
    metricsGate({ token: config.metricsToken, openWithoutToken: config.env !== 'production' }),
    refuseNonCanonicalPaths(),
    mountRouters([routers.root, routers.admin, routers.clients, routers.adminSignOut, routers.login, routers.revokeAll, routers.signOut]),
    mountApps(registry, keysBeforeRegistration({ apps, kek: config.keyEncryptionKey, clock: deps.clock ?? systemClock })),
  ]) {
    app.use(middleware);
  }

  const server: Server = {
    app,
    registry,
    apps,
    audit,
    metrics,
    keyRotation: services.keyRotation,
    appDeletions: services.appDeletions,
    mailQueue: services.mailQueue,
    mailHealth,
    readiness,
    backchannel: services.backchannel,
    routers,
    es512,
    loadShedding,
    phase: 'starting',
  };
  return server;
}
