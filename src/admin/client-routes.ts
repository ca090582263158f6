// /admin/apps/{id}/clients and /admin/apps/{id}/initial-access-tokens: an app's further
// clients (RFC 7591 metadata names) and the tokens that let it register its own. Behind
// the admin gate like every /admin route; every change is audited.
import type { AppsService } from '../apps/apps-service.ts';
import { DEFAULT_SECRET_GRACE_SECONDS, IAT_DEFAULT_EXPIRES_IN, IAT_MAX_EXPIRES_IN, IAT_MAX_USES, MAX_SECRET_GRACE_SECONDS } from '../apps/clients.ts';
import type { ClientsService } from '../apps/clients-service.ts';
import type { AuditLog } from '../audit.ts';
import { badRequest } from '../errors.ts';
import { hasBody, readJson } from '../http/read-body.ts';
import { requestInfo } from '../http/request-info.ts';
import { ADMIN_PREFIX, exactRouter } from '../http/request-path.ts';
import { requireAdminGate } from './admin-auth.ts';
import type { InputRules } from './app-input.ts';
import { knownAppId } from './admin-routes.ts';
import { parseClientChanges, parseHosts, parseNewClient } from './client-input.ts';
import { clientView, defaultClientView, initialAccessTokenView } from './client-view.ts';
import { etagOf, ifMatchCondition } from './record-etag.ts';

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badRequest(`${field} must be an integer between ${min} and ${max}.`);
  }
  return value;
}

function object(body: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (body === undefined) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('The request body must be a JSON object.');
  for (const key of Object.keys(body)) if (!allowed.includes(key)) throw badRequest(`Unknown field "${key.slice(0, 64)}". Allowed: ${allowed.join(', ')}.`);
  return body as Record<string, unknown>;
}

function parseInitialAccessToken(body: unknown) {
  const input = object(body, ['expires_in', 'max_uses', 'policy']);
  const policy = input.policy === undefined ? {} : object(input.policy, ['redirect_uri_hosts']);
  return {
    expiresIn: input.expires_in === undefined ? IAT_DEFAULT_EXPIRES_IN : integer(input.expires_in, 'expires_in', 60, IAT_MAX_EXPIRES_IN),
    maxUses: input.max_uses === undefined || input.max_uses === 'single_use' ? 1 : integer(input.max_uses, 'max_uses', 1, IAT_MAX_USES),
    redirectUriHosts: policy.redirect_uri_hosts === undefined ? undefined : parseHosts(policy.redirect_uri_hosts),
  };
}

function parseGrace(body: unknown): number {
  const input = object(body, ['grace_period_seconds']);
  return input.grace_period_seconds === undefined ? DEFAULT_SECRET_GRACE_SECONDS : integer(input.grace_period_seconds, 'grace_period_seconds', 0, MAX_SECRET_GRACE_SECONDS);
}

/** A body that may be empty (POST …/secret, POST …/initial-access-tokens). */
async function optionalJson(ctx: Parameters<typeof readJson>[0]): Promise<unknown> {
  return hasBody(ctx) ? readJson(ctx) : undefined;
}

export function clientRouter(deps: { apps: AppsService; clients: ClientsService; audit: AuditLog; rules: InputRules }) {
  const router = exactRouter({ prefix: `${ADMIN_PREFIX}/apps` });
  const { apps, clients, audit, rules } = deps;

  router.get('/:id/clients', requireAdminGate, async (ctx) => {
    const { app, clients: list } = await clients.list(knownAppId(ctx.params.id!));
    ctx.body = { clients: [defaultClientView(app), ...list.map(clientView)] };
  });

  router.post('/:id/clients', requireAdminGate, async (ctx) => {
    const appId = knownAppId(ctx.params.id!);
    const metadata = parseNewClient(await readJson(ctx), rules);
    const { client, secret } = await clients.add(appId, { metadata, origin: 'admin' });
    audit.record({ type: 'client.created', outcome: 'success', appId, clientId: client.clientId, ...requestInfo(ctx) });
    ctx.status = 201;
    ctx.set('Location', `${ADMIN_PREFIX}/apps/${appId}/clients/${client.clientId}`);
    ctx.set('ETag', etagOf(client));
    ctx.body = { ...clientView(client), ...(secret !== undefined && { client_secret: secret, client_secret_expires_at: 0 }) };
  });

  router.get('/:id/clients/:clientId', requireAdminGate, async (ctx) => {
    const appId = knownAppId(ctx.params.id!);
    const clientId = ctx.params.clientId!;
    if (clientId === appId) {
      // The default client is part of the app's record: its version is the app's.
      const app = await apps.get(appId);
      ctx.set('ETag', etagOf(app));
      ctx.body = defaultClientView(app);
      return;
    }
    const { client } = await clients.get(appId, clientId);
    ctx.set('ETag', etagOf(client));
    ctx.body = clientView(client);
  });

  router.patch('/:id/clients/:clientId', requireAdminGate, async (ctx) => {
    const appId = knownAppId(ctx.params.id!);
    const clientId = ctx.params.clientId!;
    const body = await readJson(ctx);
    const condition = ifMatchCondition(ctx, 'client');
    const { client } = await clients.update(appId, clientId, (current) => {
      condition?.(current);
      return parseClientChanges(body, current, rules);
    });
    audit.record({ type: 'client.updated', outcome: 'success', appId, clientId, ...requestInfo(ctx) });
    ctx.set('ETag', etagOf(client));
    ctx.body = clientView(client);
  });

  router.delete('/:id/clients/:clientId', requireAdminGate, async (ctx) => {
    const appId = knownAppId(ctx.params.id!);
    const clientId = ctx.params.clientId!;
    await clients.delete(appId, clientId, ifMatchCondition(ctx, 'client'));
    audit.record({ type: 'client.deleted', outcome: 'success', appId, clientId, ...requestInfo(ctx) });
    ctx.status = 204;
  });

  router.post('/:id/clients/:clientId/secret', requireAdminGate, async (ctx) => {
    const appId = knownAppId(ctx.params.id!);
    const clientId = ctx.params.clientId!;
    const grace = parseGrace(await optionalJson(ctx));
    const { secret, previousSecretExpiresAt } = await clients.rotateSecret(appId, clientId, grace, ifMatchCondition(ctx, clientId === appId ? 'app' : 'client'));
    audit.record({ type: 'client.secret_rotated', outcome: 'success', appId, clientId, reason: `previous secret valid for ${grace} s`, ...requestInfo(ctx) });
    ctx.body = { client_id: clientId, client_secret: secret, client_secret_expires_at: 0, previous_secret_expires_at: new Date(previousSecretExpiresAt).toISOString() };
  });

  router.post('/:id/initial-access-tokens', requireAdminGate, async (ctx) => {
    const appId = knownAppId(ctx.params.id!);
    const { token, record } = await clients.mintInitialAccessToken(appId, parseInitialAccessToken(await optionalJson(ctx)));
    audit.record({ type: 'iat.created', outcome: 'success', appId, reason: `${record.maxUses} use(s)`, ...requestInfo(ctx) });
    ctx.status = 201;
    ctx.body = { initial_access_token: token, ...initialAccessTokenView(record) };
  });

  router.get('/:id/initial-access-tokens', requireAdminGate, async (ctx) => {
    const appId = knownAppId(ctx.params.id!);
    ctx.body = { initial_access_tokens: (await clients.initialAccessTokens(appId)).map(initialAccessTokenView) };
  });

  router.delete('/:id/initial-access-tokens/:iatId', requireAdminGate, async (ctx) => {
    const appId = knownAppId(ctx.params.id!);
    await clients.revokeInitialAccessToken(appId, ctx.params.iatId!);
    audit.record({ type: 'iat.revoked', outcome: 'success', appId, ...requestInfo(ctx) });
    ctx.status = 204;
  });

  return router;
}
