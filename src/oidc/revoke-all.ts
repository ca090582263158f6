// "Sign out everywhere": POST {issuer}/token/revoke_all with `token` = one of the user's
// refresh or access tokens, client authentication as at the revocation endpoint. Ends
// every grant (and so every refresh and access token) and every session of that user in
// that app. Like RFC 7009, an unknown or expired token is not an error: there is nothing
// left to end.
import type { Context } from 'koa';
import { createHash, timingSafeEqual } from 'node:crypto';
import type Provider from 'oidc-provider';
import type { AuditLog } from '../audit.ts';
import { requestInfo } from '../http/request-info.ts';
import { HttpError, notFound } from '../http/http-error.ts';
import { readForm } from '../http/read-body.ts';
import { exactRouter } from '../http/request-path.ts';
import type { OidcStore } from '../storage/ports.ts';
import type { ProviderRegistry } from '../tenancy/provider-registry.ts';
import { REVOKE_ALL_PATH } from './provider-config.ts';

const invalidClient = (basic: boolean) =>
  new HttpError(401, 'invalid_client', 'Client authentication failed.', basic ? { 'WWW-Authenticate': 'Basic realm="postern"' } : {});

const sameSecret = (a: string, b: string) =>
  timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());

function basicCredentials(header: string): { id: string; secret: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    // RFC 6749 §2.3.1: both parts are form-urlencoded before base64.
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    return undefined;
  }
}

/** Authenticates the caller with the method its registration names, and nothing else. */
async function authenticateClient(provider: Provider, ctx: Context, form: Record<string, string>) {
  const basic = basicCredentials(ctx.get('authorization'));
  const clientId = basic?.id ?? form.client_id;
  if (!clientId) throw invalidClient(false);
  if (basic && form.client_id !== undefined && form.client_id !== basic.id) throw invalidClient(true);
  const client = await provider.Client.find(clientId).catch(() => undefined);
  if (!client) throw invalidClient(Boolean(basic));
  const method = client.clientAuthMethod as string;
  const secret = client.clientSecret;
  const ok =
    (method === 'none' && !basic && form.client_secret === undefined) ||
    (method === 'client_secret_basic' && basic !== undefined && secret !== undefined && sameSecret(basic.secret, secret)) ||
    (method === 'client_secret_post' && !basic && form.client_secret !== undefined && secret !== undefined && sameSecret(form.client_secret, secret));
  if (!ok) throw invalidClient(method === 'client_secret_basic');
  return client;
}

export function revokeAllRouter(deps: { registry: ProviderRegistry; oidc: OidcStore; audit: AuditLog }) {
  const router = exactRouter();
  router.post(`/apps/:appId${REVOKE_ALL_PATH}`, async (ctx) => {
    const live = await deps.registry.get(ctx.params.appId!);
    if (!live) throw notFound('No such app.');
    ctx.set('Cache-Control', 'no-store');
    const form = await readForm(ctx);
    const client = await authenticateClient(live.provider, ctx, form);
    if (!form.token) throw new HttpError(400, 'invalid_request', 'The token parameter is required.');
    const { provider } = live;
    const token = (await provider.RefreshToken.find(form.token)) ?? (await provider.AccessToken.find(form.token));
    const usable = token && !('consumed' in token && token.consumed) && token.clientId === client.clientId && token.accountId;
    const result = usable
      ? await deps.oidc.destroyByAccount(live.app.id, token.accountId)
      : { grants: 0, sessions: 0, tokens: 0 };
    deps.audit.record({
      type: 'signout.everywhere',
      outcome: usable ? 'success' : 'failure',
      reason: usable ? undefined : 'token not active for this client',
      app_id: live.app.id,
      client_id: client.clientId,
      email: usable ? token.accountId : undefined,
      ...requestInfo(ctx),
    });
    ctx.body = { grants_revoked: result.grants, sessions_ended: result.sessions };
  });
  return router;
}
