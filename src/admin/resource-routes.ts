// /admin/apps/{id}/resources: the APIs an app protects (apps/api-resources.ts). Same
// gate, body reader and audit trail as the rest of the admin API (admin-routes.ts).
import type Router from '@koa/router';
import { ApiResources } from '../apps/api-resources.ts';
import type { AppsService } from '../apps/apps-service.ts';
import type { AuditLog } from '../audit.ts';
import { readJson } from '../http/read-body.ts';
import { requestInfo } from '../http/request-info.ts';
import { ADMIN_PREFIX } from '../http/request-path.ts';
import type { ApiResource } from '../storage/ports.ts';
import type { Context } from 'koa';
import { requireAdminGate } from './admin-auth.ts';
import { parseCreateResource, parseUpdateResource } from './resource-input.ts';

export function resourceView(resource: ApiResource) {
  return {
    id: resource.id,
    identifier: resource.identifier,
    name: resource.name ?? null,
    scopes: [...resource.scopes],
    access_token_ttl: resource.accessTokenTtl,
    created_at: new Date(resource.createdAt).toISOString(),
    updated_at: new Date(resource.updatedAt).toISOString(),
  };
}

export interface ResourceRouteDeps {
  readonly apps: AppsService;
  readonly publicUrl: string;
  readonly audit: AuditLog;
  /** The app id of a route's path, or 404 (admin-routes.ts). */
  readonly knownAppId: (id: string) => string;
}

/** Adds the resource routes to the admin router. */
export function addResourceRoutes(router: Router, deps: ResourceRouteDeps): void {
  const resources = new ApiResources(deps.apps);
  const { audit, publicUrl, knownAppId } = deps;
  const record = (type: string, appId: string, resource: ApiResource, ctx: Context) =>
    audit.record({ type, outcome: 'success', appId, reason: `${resource.id} ${resource.identifier}`, ...requestInfo(ctx) });

  router.post('/apps/:id/resources', requireAdminGate, async (ctx) => {
    const id = knownAppId(ctx.params.id!);
    const input = parseCreateResource(await readJson(ctx), publicUrl);
    const resource = await resources.create(id, input);
    record('resource.created', id, resource, ctx);
    ctx.status = 201;
    ctx.set('Location', `${ADMIN_PREFIX}/apps/${id}/resources/${resource.id}`);
    ctx.body = resourceView(resource);
  });

  router.get('/apps/:id/resources', requireAdminGate, async (ctx) => {
    ctx.body = { resources: (await resources.list(knownAppId(ctx.params.id!))).map(resourceView) };
  });

  router.get('/apps/:id/resources/:resourceId', requireAdminGate, async (ctx) => {
    ctx.body = resourceView(await resources.get(knownAppId(ctx.params.id!), ctx.params.resourceId!));
  });

  router.patch('/apps/:id/resources/:resourceId', requireAdminGate, async (ctx) => {
    const id = knownAppId(ctx.params.id!);
    const changes = parseUpdateResource(await readJson(ctx), publicUrl);
    const resource = await resources.update(id, ctx.params.resourceId!, changes);
    record('resource.updated', id, resource, ctx);
    ctx.body = resourceView(resource);
  });

  router.delete('/apps/:id/resources/:resourceId', requireAdminGate, async (ctx) => {
    const id = knownAppId(ctx.params.id!);
    const resource = await resources.delete(id, ctx.params.resourceId!);
    record('resource.deleted', id, resource, ctx);
    ctx.status = 204;
  });
}
