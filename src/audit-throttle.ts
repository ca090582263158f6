// Failure events are what anyone can cause without an account: opening made-up link URLs,
// posting forms without their token, wrong codes. Each is a log line and a stored event
// kept for the whole retention, so an unthrottled client could fill the audit store (and
// the log) at the rate it sends requests, and bury the events worth reading. Per app and
// client (an IPv4 address or IPv6 /64, as every per-client limit counts), at most
// FAILURES_PER_MINUTE failure events are recorded in each minute of this instance; the
// first one over is replaced by a single `audit.suppressed` event saying so. Metrics still
// count every event (compose.ts), so a flood shows there whatever is recorded.
import type { AuditEvent } from './audit.ts';
import { ipLimitKey } from './ip-network.ts';

export const FAILURES_PER_MINUTE = 60;
/** Clients tracked in one minute: a flood from more addresses than this is recorded only for those seen first. */
export const MAX_TRACKED_CLIENTS = 10_000;
const WINDOW_MS = 60_000;

export type Verdict = 'record' | 'suppress' | 'note-suppression';

export class AuditThrottle {
  #window = -1;
  readonly #counts = new Map<string, number>();
  #untracked = false;

  /**
   * What to do with `event`, recorded at `now`: record it, drop it, or drop it and record
   * that this client's failures are being dropped ('note-suppression', once a minute).
   */
  verdict(event: AuditEvent, now: number): Verdict {
    if (event.outcome !== 'failure' || event.ip === undefined) return 'record';
    const window = Math.floor(now / WINDOW_MS);
    if (window !== this.#window) {
      this.#window = window;
      this.#counts.clear();
      this.#untracked = false;
    }
    const key = `${event.appId} ${ipLimitKey(event.ip)}`;
    const count = this.#counts.get(key);
    if (count === undefined && this.#counts.size >= MAX_TRACKED_CLIENTS) {
      const first = !this.#untracked;
      this.#untracked = true;
      return first ? 'note-suppression' : 'suppress';
    }
    const next = (count ?? 0) + 1;
    this.#counts.set(key, next);
    if (next <= FAILURES_PER_MINUTE) return 'record';
    return next === FAILURES_PER_MINUTE + 1 ? 'note-suppression' : 'suppress';
  }
}

/** The event that stands for the failures of `event`'s client dropped for the rest of the minute. */
export function suppressionNotice(event: AuditEvent): AuditEvent {
  return {
    type: 'audit.suppressed',
    outcome: 'failure',
    appId: event.appId,
    trail: event.trail,
    reason: `more than ${FAILURES_PER_MINUTE} failure events from one client in a minute (the first dropped: ${event.type}); the rest of this minute's are counted in the metrics, not recorded`,
    ip: event.ip,
    userAgent: event.userAgent,
    requestId: event.requestId,
  };
}
