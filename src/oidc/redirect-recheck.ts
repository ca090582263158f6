// A sign-in or a sign-out ends by sending the browser to a URI of the app. The engine
// checks that URI against the app's client when the person starts, but not again when
// they finish, minutes later (engine.ts, A13 and A14): a URI the admin removed meanwhile
// would still receive the authorization code, or the signed-out browser. So the requests
// that finish are checked here, in front of the engine, against the client as stored
// now: the default client is this Provider's, which is the app as it is now
// (tenancy/app-mount.ts revalidates the cached Provider for these requests), and a
// further client is read from the stored app record at every look-up (client-models.ts,
// engine.ts A21). Every way a hosted sign-in ends (link, short code, the consent-less
// grant) passes through the resume, so this is the one place that decides.
//
// - Resume: the interaction ends there, unfinished, with a page that says to start again,
//   and nothing is sent to the URI, not even an error.
// - Sign-out confirmation: the person asked to sign out, so the engine still signs them
//   out; only its redirect is replaced by the signed-out page.
import type { Context, Middleware, Next } from 'koa';
import type Provider from 'oidc-provider';
import type { AuditLog } from '../audit.ts';
import { requestInfo } from '../http/request-info.ts';
import { isSignOutConfirmation, mayFinishAtClient, mayReachPostOnlyRoute, pendingSignOut, resumedInteraction, signOutRedirect } from './engine.ts';
import type { ProviderDeps } from './provider-config.ts';
import type { Presentation } from '../../interactions/views/layout.ts';
import { presentationFor, sendPage } from '../http/page-response.ts';
import type { AppRecord } from '../storage/ports.ts';
import { messagesFor } from '../text/language.ts';

export interface RecheckDeps {
  readonly app: AppRecord;
  readonly audit: AuditLog;
  readonly pages: Pick<ProviderDeps['pages'], 'errorPage' | 'signedOutPage'>;
}

type Kind = 'redirect_uri' | 'post_logout_redirect_uri';

/** Why the client may no longer send the browser to `uri`; undefined when it may. */
export async function refusal(provider: Provider, clientId: string | undefined, uri: string | undefined, kind: Kind): Promise<string | undefined> {
  const client = clientId === undefined ? undefined : await provider.Client.find(clientId);
  if (!client) return 'app changed: the client no longer exists';
  // The engine's own test, as at the start of the request (loopback ports of native apps included).
  const allowed = uri !== undefined && (kind === 'redirect_uri' ? client.redirectUriAllowed(uri) : client.postLogoutRedirectUriAllowed(uri));
  return allowed ? undefined : `app changed: ${kind} no longer registered (${String(uri).slice(0, 200)})`;
}

function html(ctx: Context, status: number, presentation: Presentation, body: string): void {
  ctx.remove('Location');
  ctx.set('Cache-Control', 'no-store');
  sendPage(ctx, status, presentation, body);
}

/** Middleware for `provider.use` (it runs before the engine's routes, and after them). */
export function recheckRedirects(provider: Provider, deps: RecheckDeps): Middleware {
  const { app, audit, pages } = deps;
  const appId = app.id;
  // A request that can neither resume an interaction nor be routed to the sign-out
  // confirmation (A41) has nothing to check: it passes at the cost of a call.
  return (ctx, next) => (mayFinishAtClient(ctx, provider, ctx.path) || mayReachPostOnlyRoute(ctx) ? recheck(ctx, next) : next());

  async function recheck(ctx: Context, next: Next): Promise<void> {
    const resumed = await resumedInteraction(ctx, provider);
    if (resumed) {
      const reason = await refusal(provider, resumed.clientId, resumed.redirectUri, 'redirect_uri');
      if (reason) {
        await resumed.end();
        audit.record({ type: 'authorization.rejected', outcome: 'failure', appId, clientId: resumed.clientId, email: resumed.accountId, reason, ...requestInfo(ctx) });
        const presentation = presentationFor(ctx, app);
        const t = messagesFor(presentation.language);
        return html(ctx, 400, presentation, pages.errorPage({ title: t.appChangedTitle, message: t.appChangedText, presentation }));
      }
      return next();
    }

    const signOut = isSignOutConfirmation(ctx, ctx.path) ? await pendingSignOut(ctx, provider) : undefined;
    await next();
    const location = signOutRedirect(ctx, provider);
    if (!location) return;
    // A confirmation the path test above missed has nothing to check against: no redirect.
    const reason = signOut
      ? await refusal(provider, signOut.clientId, signOut.postLogoutRedirectUri, 'post_logout_redirect_uri')
      : 'sign-out confirmed at an unexpected path';
    if (!reason) return;
    audit.record({ type: 'session.redirect_rejected', outcome: 'failure', appId, clientId: signOut?.clientId, reason, ...requestInfo(ctx) });
    const presentation = presentationFor(ctx, app);
    html(ctx, 200, presentation, pages.signedOutPage({ presentation }));
  }
}
