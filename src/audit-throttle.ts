// Failure events are what anyone can cause without an account: opening made-up link URLs,
// posting forms without their token, wrong codes. So are a few successes, repeated at will
// with nothing spent: opening a valid link (one's own will do, any number of times), the
// email form posted again within its minute, the "stay signed in" page. Each is a log line
// and a stored event kept for the whole retention, so an unthrottled flood would fill the
// audit store (and the log) at the rate it is sent, and bury the events worth reading.
// Within each minute this instance records at most:
//   - PER_CLIENT such events per app and client (an IPv4 address or IPv6 /64, as every
//     per-client limit counts);
//   - PER_APP per app, whatever the number of clients (an attacker with many /64s);
//   - PER_INSTANCE in all, whatever the number of apps.
// The first event over a budget is replaced by one `audit.suppressed` event saying which
// (the instance's in the instance's trail); the rest of that minute's are dropped. So the
// tracking itself stays bounded: each recorded event adds at most an app and a client.
// Every other success is recorded (each spends a link, a code, a token or a rate limit),
// and the metrics count every event (compose.ts).
import type { AuditEvent } from './audit.ts';
import { ipLimitKey } from './ip-network.ts';
import { INSTANCE_TRAIL } from './storage/ports.ts';

export const AUDIT_FAILURE_BUDGETS = { perClient: 60, perApp: 600, perInstance: 6000 } as const;

/** Successes anyone can repeat at will without spending anything: throttled as failures are. */
export const REPEATABLE_SUCCESSES: ReadonlySet<string> = new Set(['link.opened', 'link.repeated', 'signout.declined']);
const WINDOW_MS = 60_000;

interface AppCount {
  count: number;
  readonly clients: Map<string, number>;
}

export class AuditThrottle {
  readonly #budgets: typeof AUDIT_FAILURE_BUDGETS;
  #window = -1;
  #count = 0;
  readonly #apps = new Map<string, AppCount>();

  constructor(budgets: typeof AUDIT_FAILURE_BUDGETS = AUDIT_FAILURE_BUDGETS) {
    this.#budgets = budgets;
  }

  /** The event to record for `event` at `now`: itself, an `audit.suppressed` notice, or none. */
  verdict(event: AuditEvent, now: number): AuditEvent | undefined {
    if ((event.outcome !== 'failure' && !REPEATABLE_SUCCESSES.has(event.type)) || event.ip === undefined) return event;
    const window = Math.floor(now / WINDOW_MS);
    if (window !== this.#window) {
      this.#window = window;
      this.#count = 0;
      this.#apps.clear();
    }
    const { perClient, perApp, perInstance } = this.#budgets;
    if (++this.#count > perInstance) {
      return this.#count === perInstance + 1 ? notice(event, `more than ${perInstance} failure or repeatable events on this instance`, INSTANCE_TRAIL) : undefined;
    }
    let app = this.#apps.get(event.appId);
    if (!app) this.#apps.set(event.appId, (app = { count: 0, clients: new Map() }));
    if (++app.count > perApp) {
      return app.count === perApp + 1 ? notice(event, `more than ${perApp} failure or repeatable events for this app`) : undefined;
    }
    const client = ipLimitKey(event.ip);
    const count = (app.clients.get(client) ?? 0) + 1;
    app.clients.set(client, count);
    if (count > perClient) return count === perClient + 1 ? notice(event, `more than ${perClient} failure or repeatable events from this client`) : undefined;
    return event;
  }
}

/** The event that stands for the failures dropped, from `event` on, for the rest of the minute. */
function notice(event: AuditEvent, over: string, trail = event.trail): AuditEvent {
  return {
    type: 'audit.suppressed',
    outcome: 'failure',
    appId: event.appId,
    trail,
    reason: `${over} in a minute (the first dropped: ${event.type}); the rest of the minute's are counted in the metrics, not recorded`,
    ip: event.ip,
    userAgent: event.userAgent,
    requestId: event.requestId,
  };
}
