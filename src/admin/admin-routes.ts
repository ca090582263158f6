// /admin: JSON API for apps. Order per route: auth → parse/validate → service.
import Router from '@koa/router';
import type { AppsService } from '../apps/apps-service.ts';
import { parseCreateApp, parseUpdateApp } from '../apps/app-input.ts';
import { notFound } from '../http/http-error.ts';
import { readJson } from '../http/read-body.ts';
import { isAppId } from '../tenancy/provider-registry.ts';
import type { AuditLog } from '../audit.ts';
import { requestContext } from '../audit.ts';
import { requireAdminToken } from './admin-auth.ts';
import type { AuditStore, RateLimiter } from '../storage/ports.ts';
import { auditPage, parseAuditQuery } from './audit-query.ts';
import { appView } from './app-view.ts';

export function adminRouter(deps: {
  apps: AppsService;
  adminToken: string;
  publicUrl: string;
  audit: AuditLog;
  /** Failed admin authentications per client IP. */
  authFailures: RateLimiter;
  auditStore: AuditStore;
}) {
  const router = new Router({ prefix: '/admin' });
  const { apps, publicUrl, audit } = deps;
  const appId = (id: string) => {
    if (!isAppId(id)) throw notFound(`No app with id ${id.slice(0, 64)}.`);
    return id;
  };

  router.use(requireAdminToken(deps.adminToken, deps.authFailures));
  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  router.post('/apps', async (ctx) => {
    const input = parseCreateApp(await readJson(ctx));
    const { app, clientSecret } = await apps.create(input);
    audit.record({ type: 'admin.app_created', outcome: 'success', app_id: app.id, ...requestContext(ctx) });
    ctx.status = 201;
    ctx.set('Location', `/admin/apps/${app.id}`);
    ctx.body = {
      ...appView(app, publicUrl),
      ...(clientSecret ? { client_secret: clientSecret, client_secret_expires_at: 0 } : {}),
    };
  });

  router.get('/apps', async (ctx) => {
    ctx.body = { apps: (await apps.list()).map((a) => appView(a, publicUrl)) };
  });

  router.get('/apps/:id', async (ctx) => {
    ctx.body = appView(await apps.get(appId(ctx.params.id!)), publicUrl);
  });

  router.patch('/apps/:id', async (ctx) => {
    const id = appId(ctx.params.id!);
    const input = parseUpdateApp(await readJson(ctx));
    const app = await apps.update(id, input);
    audit.record({ type: 'admin.app_updated', outcome: 'success', app_id: id, ...requestContext(ctx) });
    ctx.body = appView(app, publicUrl);
  });

  // Rotates the app's signing keys now: the published next keys start signing, the
  // current ones stay published until their tokens have expired (src/keys/key-ring.ts).
  router.post('/apps/:id/keys/rotate', async (ctx) => {
    const id = appId(ctx.params.id!);
    const app = await apps.rotateKeys(id);
    audit.record({ type: 'admin.keys_rotated', outcome: 'success', app_id: id, ...requestContext(ctx) });
    ctx.body = appView(app, publicUrl);
  });

  router.get('/apps/:id/audit', async (ctx) => {
    const id = appId(ctx.params.id!);
    const query = parseAuditQuery(ctx.query);
    await apps.get(id); // 404 for an unknown app
    ctx.body = auditPage(await deps.auditStore.query(id, query), query.limit);
  });

  router.delete('/apps/:id', async (ctx) => {
    const id = appId(ctx.params.id!);
    await apps.delete(id);
    audit.record({ type: 'admin.app_deleted', outcome: 'success', app_id: id, ...requestContext(ctx) });
    ctx.status = 204;
  });

  return router;
}
