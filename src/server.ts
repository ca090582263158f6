// The root Koa app: request id and log, host pinning, security headers, error mapping,
// admin authentication and canonical paths, then health, admin API, hosted login and,
// last, each app's oidc-provider.
import Koa from 'koa';
import type Router from '@koa/router';
import type { Config } from '../config/load.ts';
import { STYLESHEET } from '../interactions/views/layout.ts';
import { loginRouter } from '../interactions/login-routes.ts';
import { Csrf } from '../interactions/csrf.ts';
import { adminGate } from './admin/admin-auth.ts';
import { adminRouter } from './admin/admin-routes.ts';
import { AppsService } from './apps/apps-service.ts';
import { createAuditLog, type AuditEvent } from './audit.ts';
import { errorHandler } from './http/error-handler.ts';
import { HttpError } from './http/http-error.ts';
import { pinToPublicUrl, requestLog, securityHeaders } from './http/request-context.ts';
import { guardEngine } from './http/engine-guard.ts';
import { exactRouter, refuseNonCanonicalPaths } from './http/request-path.ts';
import type { Logger } from './log.ts';
import type { Mailer } from './mail/mailer.ts';
import { DevMailbox } from './mail/dev-mailbox.ts';
import { devMailboxPage } from '../interactions/views/dev-mailbox-page.ts';
import { MagicLinks } from './magic-link/magic-links.ts';
import { LinkRequests } from './magic-link/link-requests.ts';
import { MailQueue } from './mail/mail-queue.ts';
import { revokeAllRouter } from './oidc/revoke-all.ts';
import { StoreUnavailableError, type Stores } from './storage/ports.ts';
import { createProvider } from './tenancy/create-provider.ts';
import { ProviderRegistry } from './tenancy/provider-registry.ts';
import { KeyRotationScheduler } from './keys/rotation-scheduler.ts';

export interface ServerDeps {
  readonly config: Config;
  readonly stores: Stores;
  readonly mailer: Mailer;
  readonly logger: Logger;
  /** Retry schedule of the mail queue (tests shorten it). */
  readonly mailRetryDelaysMs?: readonly number[];
  /** Failed admin authentications allowed per IP per 15 minutes (default 20). */
  readonly adminAuthFailuresPerIp?: number;
}

export interface Server {
  readonly app: Koa;
  readonly registry: ProviderRegistry;
  readonly apps: AppsService;
  /** Scheduled key rotation and retired-key sweep; main.ts starts and stops it. */
  readonly keyRotation: KeyRotationScheduler;
  readonly mailQueue: MailQueue;
  /** Every router Postern mounts, in order, so tests can enumerate every route. */
  readonly routers: Readonly<Record<'root' | 'admin' | 'login' | 'revokeAll', Router>>;
  /** Set once the server listens; /healthz answers 503 before. */
  ready: boolean;
}

const MAX_URL_LENGTH = 8 * 1024;
const AUDIT_RETENTION_SECONDS = 90 * 24 * 60 * 60;
const WRONG_CODES_PER_IP = 30; // per 15 minutes, across login attempts
const ADMIN_AUTH_FAILURES_PER_IP = 20; // per 15 minutes

type AuditContext = Omit<AuditEvent, 'type' | 'outcome'>;

export function buildServer(deps: ServerDeps): Server {
  const { config, stores, mailer, logger } = deps;
  const https = config.publicUrl.startsWith('https://');
  const audit = createAuditLog(logger, stores.audit, AUDIT_RETENTION_SECONDS);
  const providerDeps = { stores, kek: config.keyEncryptionKey, cookieSecrets: config.cookieSecrets, secureCookies: https, logger };
  const registry = new ProviderRegistry(stores.apps, (app) => createProvider(app, config.publicUrl, providerDeps, audit), {
    // With Redis, changes arrive by pub/sub and this is only a safety net; without a bus
    // (MongoDB alone) it is how other instances' changes are picked up.
    revalidateMs: stores.kind === 'memory' ? Number.POSITIVE_INFINITY : stores.kind.includes('redis') ? 30_000 : 1_000,
  });
  stores.changes.subscribe((appId) => registry.invalidate(appId));
  const apps = new AppsService({
    stores,
    kek: config.keyEncryptionKey,
    async validateClient(app) {
      try {
        await registry.build(app).provider.Client.find(app.id);
      } catch (err) {
        const e = err as { error?: string; error_description?: string; message?: string };
        throw new HttpError(400, e.error ?? 'invalid_client_metadata', e.error_description ?? e.message ?? 'invalid client metadata');
      }
    },
    async changed(id) {
      registry.invalidate(id);
      await stores.changes.publish(id).catch((err: unknown) => {
        logger.warn('app change not broadcast; other instances pick it up on revalidation', { app_id: id, err: String(err) });
      });
    },
  });

  const mailQueue = new MailQueue(mailer, {
    ...(deps.mailRetryDelaysMs ? { retryDelaysMs: deps.mailRetryDelaysMs } : {}),
    onSent: (_message, context, attempts) => audit.record({ ...(context as AuditContext), type: 'mail.sent', outcome: 'success', reason: attempts > 1 ? `after ${attempts} attempts` : undefined }),
    onFailed: (_message, context, err, attempts) => {
      audit.record({ ...(context as AuditContext), type: 'mail.failed', outcome: 'failure', reason: `smtp error after ${attempts} attempts` });
      logger.error('sign-in mail failed', { app_id: (context as AuditContext).app_id, attempts, err: String(err) });
    },
  });

  const keyRotation = new KeyRotationScheduler({ apps, rotationDays: config.keyRotationDays, logger, audit });

  const app = new Koa({ proxy: true, keys: [...config.cookieSecrets] });

  app.use(requestLog(logger));
  app.use(pinToPublicUrl(config.publicUrl, config.trustProxy));
  app.use(securityHeaders(https));
  app.use(errorHandler(logger));
  app.use(async (ctx, next) => {
    if (ctx.url.length > MAX_URL_LENGTH) throw new HttpError(414, 'invalid_request', 'The request URL is too long.');
    await next();
  });
  // Before any router: the admin token for every spelling of /admin, whatever the method;
  // then one spelling per resource for everything else (src/http/request-path.ts).
  app.use(adminGate(config.adminToken, stores.rateLimiter('admin-auth-ip', deps.adminAuthFailuresPerIp ?? ADMIN_AUTH_FAILURES_PER_IP, 15 * 60)));
  app.use(refuseNonCanonicalPaths());

  const root = exactRouter();
  root.get('/healthz', (ctx) => {
    ctx.status = server.ready ? 200 : 503;
    ctx.body = { status: server.ready ? 'ok' : 'starting' };
  });
  // Readiness: every backing store answers. Load balancers route only to ready instances.
  root.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    if (!server.ready) {
      ctx.status = 503;
      ctx.body = { status: 'starting' };
      return;
    }
    try {
      await stores.ping();
      ctx.body = { status: 'ready', storage: stores.kind };
    } catch (err) {
      const store = err instanceof StoreUnavailableError ? err.store : 'storage';
      ctx.status = 503;
      ctx.body = { status: 'unavailable', unavailable: store, error_description: `${store} is unreachable` };
    }
  });
  root.get('/assets/postern.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = STYLESHEET;
  });
  if (mailer instanceof DevMailbox && config.env !== 'production') {
    root.get('/dev/mailbox', (ctx) => {
      ctx.type = 'html';
      ctx.body = devMailboxPage(mailer.list());
    });
  }
  app.use(root.routes());
  app.use(root.allowedMethods());

  const admin = adminRouter({ apps, publicUrl: config.publicUrl, audit, auditStore: stores.audit });
  app.use(admin.routes());
  // allowedMethods sets 405/501 and the Allow header after the request fell through; this
  // wrapper gives those answers the API's JSON error body.
  app.use(async (ctx, next) => {
    await next();
    if (ctx.status === 405 || ctx.status === 501) {
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { error: 'invalid_request', error_description: ctx.status === 405 ? `Method not allowed. Allowed: ${ctx.response.get('allow')}.` : 'Not implemented.' };
    }
  });
  app.use(admin.allowedMethods());

  const magicLinks = new MagicLinks(stores.magicLinks);
  const login = loginRouter({
    registry,
    magicLinks,
    linkRequests: new LinkRequests({ links: magicLinks, mail: mailQueue, audit, limiter: stores.rateLimiter }),
    accounts: stores.accounts,
    csrf: new Csrf(config.cookieSecrets, https),
    audit,
    wrongCodesPerIp: stores.rateLimiter('wrong-code-ip', WRONG_CODES_PER_IP, 15 * 60),
  });
  app.use(login.routes());
  const revokeAll = revokeAllRouter({ registry, oidc: stores.oidc, audit });
  app.use(revokeAll.routes());

  // Everything else under /apps/{id} belongs to that app's oidc-provider.
  app.use(async (ctx, next) => {
    const match = /^\/apps\/([^/]+)(?:\/|$)/.exec(ctx.path);
    if (!match?.[1]) {
      // Not thrown: the routers' allowedMethods above turn a 404 on a known path into 405.
      ctx.status = 404;
      ctx.body = { error: 'not_found', error_description: 'Not found.' };
      return;
    }
    const live = await registry.get(match[1]);
    if (!live) throw new HttpError(404, 'not_found', 'No such app.');
    await guardEngine(ctx, () => live.handle(ctx, next));
  });

  const server: Server = { app, registry, apps, keyRotation, mailQueue, routers: { root, admin, login, revokeAll }, ready: false };
  return server;
}
