// OpenID Connect Back-Channel Logout 1.0: when a person's session at an app ends, each of
// the app's clients the session had signed in to hears of it server to server, with a
// logout token (audience: that client) posted to the client's backchannel_logout_uri.
// Three things end sessions: the person signing out at the app (RP-initiated logout),
// "sign out everywhere" (revoke_all), and an admin signing the person out. Each queues a
// notification in the logout outbox (sealed, in the configured store) and goes on: the
// person's sign-out never waits for the app. The delivery queue (delivery/delivery-queue.ts)
// posts it, retries for a bounded time, hands it to another instance if this one dies, and
// the outcome is audited (`logout.backchannel_delivered` / `logout.backchannel_failed`).
//
// A notification holds who, which session and which client, never a token: the token is
// signed at each attempt, with the app's current key for the client's algorithm as stored
// then, to the client's URI as stored then (a client deleted meanwhile is told nothing).
import type { AuditEvent, AuditLog, RequestInfo } from '../audit.ts';
import { issuerOf } from '../apps/app-paths.ts';
import { backchannelTargetOf } from '../apps/clients.ts';
import type { Clock } from '../clock.ts';
import { DeliveryQueue, Undeliverable, type AttemptObserver, type DeliveryQueueOptions } from '../delivery/delivery-queue.ts';
import { OutboxSeal } from '../delivery/outbox-seal.ts';
import { openSigningKeys } from '../keys/open-keys.ts';
import type { Logger } from '../log.ts';
import type { AppRecord, AppStore, Outbox } from '../storage/ports.ts';
import { signLogoutToken } from './logout-token.ts';
import type { Es512Signer } from '../keys/native-signer.ts';
import { postLogoutToken } from './post-logout-token.ts';

/** What ended the session, in the audit trail. */
export type LogoutTrigger = 'rp_logout' | 'revoke_all' | 'admin_sign_out';

/** One notification waiting in the outbox (sealed): whose session ended at which client of which app, and why. */
interface Notification {
  readonly appId: string;
  /** Absent (notifications queued before clients had their own): the app's default client. */
  readonly clientId?: string;
  readonly subject: string;
  /** Absent: every session of `subject` at the app. */
  readonly sid?: string;
  readonly trigger: LogoutTrigger;
  /** Who sent the request that ended the session. */
  readonly context: Partial<RequestInfo>;
}

/**
 * Quick at first, so an app restarting costs seconds; then backing off: 10 attempts over
 * about 14 minutes. A session ended longer ago than that is for the app's own session
 * lifetime to end.
 */
export const RETRY_DELAYS_MS: readonly number[] = [1, 2, 5, 10, 30, 60, 120, 300, 300].map((s) => s * 1000);

/** One attempt, connecting and the app's answer included: an app answers a logout at once. */
export const SEND_TIMEOUT_MS = 5_000;

export interface BackchannelLogoutDeps {
  readonly outbox: Outbox;
  readonly apps: AppStore;
  readonly kek: Buffer;
  readonly publicUrl: string;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly audit: AuditLog;
  /** The algorithm the client's ID tokens are signed with: its logout tokens use the same. */
  readonly signingAlgOf: (app: AppRecord, clientId: string) => string;
  /** Signs ES512 logout tokens when it is the native signer (unset: jose). */
  readonly es512?: Es512Signer | undefined;
  readonly onAttempt?: AttemptObserver | undefined;
  readonly options?: DeliveryQueueOptions | undefined;
}

export interface EndedSessions {
  readonly app: AppRecord;
  readonly accountId: string;
  /** Each client the ended sessions had signed in to, with the sid its ID tokens carried there. */
  readonly signedIn: readonly SignedInClient[];
  /**
   * With no session known at all, tell the app's default client that every session of
   * the account ended (a token with `sub` only): the account's grants were revoked, so
   * whatever session the app keeps on them is over too. Not for a client that requires
   * `sid`. Further clients are told of sessions only: which of them held a grant is not
   * known once the grants are gone, and a token with `sub` only would tell a client of
   * an account it never saw.
   */
  readonly orEverySession: boolean;
  readonly trigger: LogoutTrigger;
  readonly context: Partial<RequestInfo>;
}

export interface SignedInClient {
  readonly clientId: string;
  readonly sid: string;
}

export class BackchannelLogout extends DeliveryQueue<Notification> {
  readonly #deps: BackchannelLogoutDeps;

  constructor(deps: BackchannelLogoutDeps) {
    super({
      names: { what: 'back-channel logout', short: 'back-channel logout', done: 'delivered', idField: 'delivery_id' },
      outbox: deps.outbox,
      seal: new OutboxSeal<Notification>(deps.kek, 'postern:logout-outbox'),
      deliver: (notification, signal) => deliver(deps, notification, signal),
      failure: (err) => (err instanceof Error ? err.message : String(err)),
      logFields: (n) => ({ app_id: n.appId, client_id: n.clientId ?? n.appId, trigger: n.trigger }),
      onDelivered: (n, attempts) => audit(deps.audit, n, 'success', attempts > 1 ? `after ${attempts} attempts` : undefined),
      onFailed: (n, reason) => audit(deps.audit, n, 'failure', reason),
      onAttempt: deps.onAttempt,
      clock: deps.clock,
      logger: deps.logger,
      retryDelaysMs: RETRY_DELAYS_MS,
      sendTimeoutMs: SEND_TIMEOUT_MS,
      options: deps.options,
    });
    this.#deps = deps;
  }

  /**
   * Queues a notification per client and ended session (see EndedSessions) for each
   * client with a backchannel_logout_uri; resolves once they are stored, with how many. Never rejects:
   * the sessions have ended whatever happens here, so a store that cannot take the
   * notifications is logged and audited as a failed delivery, and the caller answers as
   * it would have.
   */
  async sessionsEnded(ended: EndedSessions): Promise<number> {
    const { app } = ended;
    const each = new Map<string, { clientId: string; sid?: string }>();
    for (const { clientId, sid } of ended.signedIn) each.set(JSON.stringify([clientId, sid]), { clientId, sid });
    if (each.size === 0 && ended.orEverySession) each.set(app.id, { clientId: app.id });
    let queued = 0;
    for (const { clientId, sid } of each.values()) {
      const target = backchannelTargetOf(app, clientId);
      if (!target?.uri || (sid === undefined && target.sessionRequired)) continue;
      const notification: Notification = { appId: app.id, clientId, subject: ended.accountId, ...(sid === undefined ? {} : { sid }), trigger: ended.trigger, context: ended.context };
      try {
        await this.add(notification);
        queued++;
      } catch (err) {
        this.#deps.logger.error('back-channel logout not queued', { app_id: app.id, client_id: clientId, trigger: ended.trigger, err: String(err) });
        audit(this.#deps.audit, notification, 'failure', 'not queued: the store did not take it');
      }
    }
    return queued;
  }
}

/** One attempt, against the app as stored now. */
async function deliver(deps: BackchannelLogoutDeps, n: Notification, signal: AbortSignal): Promise<void> {
  const app = await deps.apps.get(n.appId);
  if (!app) throw new Undeliverable('the app was deleted');
  const clientId = n.clientId ?? app.id;
  const target = backchannelTargetOf(app, clientId);
  if (!target) throw new Undeliverable('the client was deleted');
  if (!target.uri) throw new Undeliverable('the client no longer has a backchannel_logout_uri');
  if (n.sid === undefined && target.sessionRequired) throw new Undeliverable('the client requires sid, and no session was known');
  const now = deps.clock.now();
  const alg = deps.signingAlgOf(app, clientId);
  // The first key of the algorithm is the current one, which also signs ID tokens (key-ring.ts).
  const key = openSigningKeys(app, deps.kek, now).find((k) => k.alg === alg);
  if (!key) throw new Undeliverable(`the app has no ${alg} signing key`);
  const token = await signLogoutToken({ issuer: issuerOf(deps.publicUrl, app.id), clientId, subject: n.subject, sid: n.sid }, key, now, deps.es512);
  await postLogoutToken(target.uri, token, signal);
}

function audit(log: AuditLog, n: Notification, outcome: AuditEvent['outcome'], detail: string | undefined): void {
  log.record({
    type: outcome === 'success' ? 'logout.backchannel_delivered' : 'logout.backchannel_failed',
    outcome,
    appId: n.appId,
    clientId: n.clientId ?? n.appId,
    email: n.subject,
    reason: detail ? `${n.trigger}: ${detail}` : n.trigger,
    ...n.context,
  });
}
