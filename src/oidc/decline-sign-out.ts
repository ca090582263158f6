// "No, stay signed in" on the logout page. The engine's confirmation without `logout`
// still revokes the app's grant and removes the app from the session
// (actions/end_session.js), so that answer never reaches the engine: it is a link to
// GET {issuer}/session/end/decline, which changes nothing. It sends the browser back to
// the post-logout URI the app asked for, with the app's `state`, after checking the URI
// again against the app as stored now (as redirect-recheck.ts does for the confirmation);
// without one, a page says that the person is still signed in.
import type { Context } from 'koa';
import { appPath } from '../apps/app-paths.ts';
import type { AuditLog } from '../audit.ts';
import { notFound } from '../errors.ts';
import type * as PageViews from '../../interactions/views/pages.ts';
import { presentationFor, sendPage } from '../http/page-response.ts';
import { requestInfo } from '../http/request-info.ts';
import { exactRouter } from '../http/request-path.ts';
import type { ProviderRegistry } from '../tenancy/provider-registry.ts';
import { pendingSignOut } from './engine.ts';
import { refusal } from './redirect-recheck.ts';

/** Under the issuer; the engine has no route there. */
export const DECLINE_SIGN_OUT_PATH = '/session/end/decline';

export interface DeclineSignOutDeps {
  readonly registry: ProviderRegistry;
  readonly audit: AuditLog;
  readonly stillSignedInPage: typeof PageViews.stillSignedInPage;
}

export function declineSignOutRouter(deps: DeclineSignOutDeps) {
  const router = exactRouter();
  router.get(`${appPath(':appId')}${DECLINE_SIGN_OUT_PATH}`, async (ctx: Context) => {
    // It may send the browser to the app: the app as stored now, even if this instance missed a change.
    const live = await deps.registry.get(ctx.params.appId!, { revalidate: true });
    if (!live) throw notFound('No such app.');
    const appId = live.app.id;
    const pending = await pendingSignOut(ctx, live.provider);
    const context = { appId, clientId: pending.clientId, email: pending.accountId, ...requestInfo(ctx) };
    if (pending.accountId) deps.audit.record({ ...context, type: 'signout.declined', outcome: 'success' });
    ctx.set('Cache-Control', 'no-store');

    const uri = pending.postLogoutRedirectUri;
    const reason = uri === undefined ? undefined : await refusal(live.provider, pending.clientId, uri, 'post_logout_redirect_uri');
    if (uri !== undefined && !reason) {
      const target = new URL(uri);
      if (pending.state !== undefined) target.searchParams.set('state', pending.state);
      ctx.status = 303;
      ctx.redirect(target.href);
      return;
    }
    if (reason) deps.audit.record({ ...context, type: 'session.redirect_rejected', outcome: 'failure', reason });
    const presentation = presentationFor(ctx, live.app);
    sendPage(ctx, 200, presentation, deps.stillSignedInPage({ presentation, signedIn: pending.accountId !== undefined }));
  });
  return router;
}
