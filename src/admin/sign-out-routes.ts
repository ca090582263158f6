// POST /admin/apps/{id}/sign-outs with {"email": "…"}: signs the account out of the app,
// as "sign out everywhere" does (oidc/sign-out-account.ts): every grant and session ends,
// the app's back end is told (back-channel logout), the answer counts what ended. The
// address travels in the body, never in the URL, so it stays out of access logs.
//
// A router of its own because it is not shed under load (http/load-shedding.ts): ending a
// compromised account's sessions must work when it is needed most. Authentication is the
// admin gate's, as for every admin route.
import type { AppsService } from '../apps/apps-service.ts';
import type { AuditLog } from '../audit.ts';
import { normalizeEmail } from '../accounts/email-address.ts';
import { badRequest } from '../errors.ts';
import { readJson } from '../http/read-body.ts';
import { requestInfo } from '../http/request-info.ts';
import { ADMIN_PREFIX, exactRouter } from '../http/request-path.ts';
import { signOutAccount, type SignOutDeps } from '../oidc/sign-out-account.ts';
import { requireAdminGate } from './admin-auth.ts';
import { knownAppId } from './admin-routes.ts';

function emailOf(body: unknown): string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('The request body must be a JSON object: {"email": "…"}.');
  const extra = Object.keys(body).find((key) => key !== 'email');
  if (extra !== undefined) throw badRequest(`Unknown field "${extra.slice(0, 64)}". Allowed: email.`);
  const checked = normalizeEmail((body as { email?: unknown }).email);
  if (!checked.ok) throw badRequest(`email: ${checked.reason}`);
  return checked.email;
}

export function adminSignOutRouter(deps: SignOutDeps & { apps: AppsService; audit: AuditLog }) {
  const router = exactRouter({ prefix: ADMIN_PREFIX });
  router.post('/apps/:id/sign-outs', requireAdminGate, async (ctx) => {
    const id = knownAppId(ctx.params.id!);
    const email = emailOf(await readJson(ctx));
    const app = await deps.apps.get(id); // 404 for an unknown app
    const ended = await signOutAccount(deps, app, email, 'admin_sign_out', requestInfo(ctx));
    deps.audit.record({ type: 'admin.account_signed_out', outcome: 'success', appId: id, email, ...requestInfo(ctx) });
    ctx.body = { grants_revoked: ended.grants, sessions_ended: ended.sessions, backchannel_logouts_queued: ended.notified };
  });
  return router;
}
