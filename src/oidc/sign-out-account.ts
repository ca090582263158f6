// Signing an account out of one app: every grant (so every refresh and access token) and
// every session of the account there ends, and the back end of each client a session had
// signed in to hears of it (back-channel logout, with the sid its ID tokens carried: engine.ts, A19).
// "Sign out everywhere" (revoke-all.ts) and the admin's sign-out (admin/sign-out-routes.ts)
// both do exactly this.
import type { RequestInfo } from '../audit.ts';
import type { BackchannelLogout, LogoutTrigger } from '../logout/backchannel-logout.ts';
import { IncompleteRemovalError, type AppRecord, type OidcStore, type RemovedDocuments } from '../storage/ports.ts';
import { signedInClients } from './engine.ts';

export interface SignOutDeps {
  /** The engine's documents as Postern reads them (sealed: keys/sealed-oidc-store.ts). */
  readonly documents: OidcStore;
  readonly backchannel: BackchannelLogout;
}

export interface SignedOut {
  readonly grants: number;
  readonly sessions: number;
  /** Back-channel logout notifications queued for the app's clients. */
  readonly notified: number;
}

export async function signOutAccount(deps: SignOutDeps, app: AppRecord, accountId: string, trigger: LogoutTrigger, context: RequestInfo): Promise<SignedOut> {
  let removed: RemovedDocuments;
  try {
    removed = await deps.documents.destroyByAccount(app.id, accountId);
  } catch (err) {
    // Part was removed before a store failed (Redis and MongoDB): the sessions already gone
    // are not there for the caller's retry to find, so their clients hear of them now.
    if (err instanceof IncompleteRemovalError) await notify(deps, app, accountId, err.removed, trigger, context);
    throw err;
  }
  const notified = await notify(deps, app, accountId, removed, trigger, context);
  return { grants: removed.grants, sessions: removed.sessions.length, notified };
}

function notify(deps: SignOutDeps, app: AppRecord, accountId: string, removed: RemovedDocuments, trigger: LogoutTrigger, context: RequestInfo): Promise<number> {
  return deps.backchannel.sessionsEnded({
    app,
    accountId,
    signedIn: removed.sessions.flatMap((session) => signedInClients(session.payload)),
    // Grants were revoked, so the app held tokens: it may keep a session of its own on them.
    orEverySession: removed.grants > 0,
    trigger,
    context,
  });
}
