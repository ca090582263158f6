// /admin: JSON API for apps. The admin token is checked before routing, for every spelling
// of /admin (adminGate in admin-auth.ts); each route starts with requireAdminGate, then
// parse/validate → service.
import { appListCursor, parseAppListQuery } from './app-list-query.ts';
import type { AppsService } from '../apps/apps-service.ts';
import type { AuditLog } from '../audit.ts';
import { badRequest, notFound } from '../errors.ts';
import { hasBody, readJson } from '../http/read-body.ts';
import { requestInfo } from '../http/request-info.ts';
import { ADMIN_PREFIX, exactRouter } from '../http/request-path.ts';
import { INSTANCE_TRAIL } from '../storage/ports.ts';
import { isAppId } from '../tenancy/provider-registry.ts';
import { requireAdminGate } from './admin-auth.ts';
import { parseCreateApp, parseUpdateApp, type InputRules } from './app-input.ts';
import { appView } from './app-view.ts';
import { auditPage, parseAuditQuery } from './audit-query.ts';
import { adminOpenApi } from './openapi.ts';
import { onlyParams } from './query-params.ts';
import { etagOf, ifMatchCondition } from './record-etag.ts';
import { addResourceRoutes } from './resource-routes.ts';

/** The id of a route's path, or 404 for what cannot be an app's id (no store read). */
export function knownAppId(id: string): string {
  if (!isAppId(id)) throw notFound(`No app with id ${id.slice(0, 64)}.`);
  return id;
}

export function adminRouter(deps: { apps: AppsService; publicUrl: string; audit: AuditLog; rules: InputRules }) {
  const router = exactRouter({ prefix: ADMIN_PREFIX });
  const { apps, publicUrl, audit, rules } = deps;
  const appId = knownAppId;
  const openApi = adminOpenApi();

  // Behind the token like the rest of /admin: the gate stays one rule ("everything under
  // /admin"), and the document describes nothing a caller without the token could use.
  router.get('/openapi.json', requireAdminGate, (ctx) => {
    ctx.body = openApi;
  });

  router.post('/apps', requireAdminGate, async (ctx) => {
    const input = parseCreateApp(await readJson(ctx), rules);
    const { app, clientSecret } = await apps.create(input);
    audit.record({ type: 'admin.app_created', outcome: 'success', appId: app.id, ...requestInfo(ctx) });
    ctx.status = 201;
    ctx.set('Location', `${ADMIN_PREFIX}/apps/${app.id}`);
    ctx.set('ETag', etagOf(app));
    ctx.body = {
      ...appView(app, publicUrl),
      ...(clientSecret ? { client_secret: clientSecret, client_secret_expires_at: 0 } : {}),
    };
  });

  router.get('/apps', requireAdminGate, async (ctx) => {
    const { limit, after } = parseAppListQuery(ctx.query);
    const page = await apps.page(limit, after);
    ctx.body = { apps: page.apps.map((a) => appView(a, publicUrl)), next_cursor: appListCursor(page.next) };
  });

  router.get('/apps/:id', requireAdminGate, async (ctx) => {
    const app = await apps.get(appId(ctx.params.id!));
    ctx.set('ETag', etagOf(app));
    ctx.body = appView(app, publicUrl);
  });

  router.patch('/apps/:id', requireAdminGate, async (ctx) => {
    const id = appId(ctx.params.id!);
    const body = await readJson(ctx);
    // The stored lists decide which URIs are kept rather than added (app-input.ts). A
    // concurrent PATCH may change them before this one is written; both are the admin's.
    const condition = ifMatchCondition(ctx, 'app');
    const current = await apps.get(id);
    // Checked before the body too: a stale version is told as such, whatever the body says.
    condition?.(current);
    const input = parseUpdateApp(body, current, rules);
    const app = await apps.update(id, input, condition);
    audit.record({ type: 'admin.app_updated', outcome: 'success', appId: id, ...requestInfo(ctx) });
    ctx.set('ETag', etagOf(app));
    ctx.body = appView(app, publicUrl);
  });

  // Rotates the app's signing keys now: the published next keys start signing, the
  // current ones stay published until their tokens have expired (src/keys/key-ring.ts).
  // `?immediate=true` replaces every key at once, for a compromised key. Anything else
  // sent along (a misspelt parameter, the flag in a body) is refused: read as a normal
  // rotation, it would leave the compromised key published and trusted.
  router.post('/apps/:id/keys/rotate', requireAdminGate, async (ctx) => {
    const id = appId(ctx.params.id!);
    onlyParams(ctx.query, ROTATE_PARAMS);
    if (hasBody(ctx)) throw badRequest('This request takes no body; ask for a replacement of every key with ?immediate=true.');
    const immediate = parseImmediate(ctx.query.immediate);
    const app = await apps.rotateKeys(id, { immediate, precondition: ifMatchCondition(ctx, 'app') });
    audit.record({ type: 'admin.keys_rotated', outcome: 'success', reason: immediate ? 'immediate' : undefined, appId: id, ...requestInfo(ctx) });
    ctx.set('ETag', etagOf(app));
    ctx.body = appView(app, publicUrl);
  });

  router.get('/apps/:id/audit', requireAdminGate, async (ctx) => {
    const id = appId(ctx.params.id!);
    const query = parseAuditQuery(ctx.query);
    await apps.get(id); // 404 for an unknown app
    ctx.body = auditPage(await audit.query(id, query), query.limit);
  });

  addResourceRoutes(router, { apps, publicUrl, audit, knownAppId });

  // The instance's own trail: events that outlive their app (its deletion).
  router.get('/audit', requireAdminGate, async (ctx) => {
    const query = parseAuditQuery(ctx.query);
    ctx.body = auditPage(await audit.query(INSTANCE_TRAIL, query), query.limit);
  });

  // Answers 204 again while the deletion's mark is kept (deletion-sweeper.ts): a repeat
  // after a failed purge (503) finishes it. Every call is recorded, a repeat as such, so a
  // deletion whose first answer was lost (the mark written, the reply timed out) has its
  // event too; in the instance's trail, which the purge of the app's data leaves alone.
  router.delete('/apps/:id', requireAdminGate, async (ctx) => {
    const id = appId(ctx.params.id!);
    const first = await apps.markDeleted(id, ifMatchCondition(ctx, 'app'));
    audit.record({ type: 'admin.app_deleted', outcome: 'success', reason: first ? undefined : 'repeated', appId: id, trail: INSTANCE_TRAIL, ...requestInfo(ctx) });
    await apps.purge(id);
    ctx.status = 204;
  });

  return router;
}

const ROTATE_PARAMS: ReadonlySet<string> = new Set(['immediate']);

function parseImmediate(value: unknown): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw badRequest('immediate must be true or false.');
}
