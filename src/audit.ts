// Authentication audit trail: one structured event per attempt and outcome, with its
// context (app, client, IP, user agent) and never a code, token or secret. Each event is
// written to the log and kept in the configured store for the retention period.
import { randomUUID } from 'node:crypto';
import { AuditThrottle } from './audit-throttle.ts';
import type { Clock } from './clock.ts';
import type { Logger } from './log.ts';
import type { AuditQuery, AuditRecord, AuditStore, INSTANCE_TRAIL } from './storage/ports.ts';

/** Who sent the request an event is about. */
export interface RequestInfo {
  readonly ip: string;
  readonly userAgent: string | undefined;
  readonly requestId: string | undefined;
}

export interface AuditEvent {
  readonly type: string;
  readonly outcome: 'success' | 'failure';
  readonly appId: string;
  /** INSTANCE_TRAIL: kept in the instance's trail, not the app's (an event that outlives its app). */
  readonly trail?: typeof INSTANCE_TRAIL | undefined;
  readonly clientId?: string | undefined;
  readonly email?: string | undefined;
  readonly reason?: string | undefined;
  /** A client registered without an initial access token (open registration). */
  readonly open?: boolean | undefined;
  readonly ip?: string | undefined;
  readonly userAgent?: string | undefined;
  readonly requestId?: string | undefined;
}

export interface AuditLog {
  /** Logs the event and keeps it (failures throttled per client: audit-throttle.ts); never waits for or fails on the store. */
  record(event: AuditEvent): void;
  /** A trail's kept events (an app's id, or INSTANCE_TRAIL), newest first. */
  query(trail: string, query: AuditQuery): Promise<AuditRecord[]>;
  /** Resolves once every event recorded so far has been written (or failed): shutdown and tests. */
  flushed(): Promise<void>;
}

/** The names an event's fields have outside Postern (log lines, the admin API): snake_case. */
const EXTERNAL: Record<string, string> = { appId: 'app_id', clientId: 'client_id', userAgent: 'user_agent', requestId: 'request_id' };

export function externalAuditFields(record: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [EXTERNAL[key] ?? key, value]));
}

export function createAuditLog(logger: Logger, store: AuditStore, retainSeconds: number, clock: Clock): AuditLog {
  const pending = new Set<Promise<void>>();
  const throttle = new AuditThrottle();
  const record = (given: AuditEvent) => {
    const event = throttle.verdict(given, clock.now());
    if (!event) return;
    logger.info('audit', { audit: externalAuditFields(event) });
    // Off the request path: a slow or failing audit store never fails a sign-in.
    const write = store.append({ ...event, id: randomUUID(), at: clock.now() }, retainSeconds).catch((err: unknown) => {
      logger.error('audit store write failed', { type: event.type, app_id: event.appId, err: String(err) });
    });
    pending.add(write);
    void write.finally(() => pending.delete(write));
  };
  return {
    record,
    // Events older than the retention are never returned, whenever the store removes them
    // (Redis trims a set only when it is written again; a lowered retention applies at once).
    query: (trail, query) => store.query(trail, { ...query, from: Math.max(query.from ?? 0, clock.now() - retainSeconds * 1000) }),
    flushed: async () => {
      await Promise.all(pending);
    },
  };
}
