// Authentication audit trail: one structured event per attempt and outcome, with its
// context (app, client, IP, user agent) and never a code, token or secret. Each event is
// written to the log and kept in the configured store for the retention period.
import { randomUUID } from 'node:crypto';
import type { Clock } from './clock.ts';
import type { Logger } from './log.ts';
import type { AuditQuery, AuditRecord, AuditStore } from './storage/ports.ts';

/** Who sent the request an event is about. */
export interface RequestInfo {
  readonly ip: string;
  readonly user_agent: string | undefined;
  readonly request_id: string | undefined;
}

export interface AuditEvent {
  readonly type: string;
  readonly outcome: 'success' | 'failure';
  readonly app_id: string;
  readonly client_id?: string | undefined;
  readonly email?: string | undefined;
  readonly reason?: string | undefined;
  readonly ip?: string | undefined;
  readonly user_agent?: string | undefined;
  readonly request_id?: string | undefined;
}

export interface AuditLog {
  /** Logs the event and keeps it; never waits for or fails on the store. */
  record(event: AuditEvent): void;
  /** An app's kept events, newest first. */
  query(appId: string, query: AuditQuery): Promise<AuditRecord[]>;
}

export function createAuditLog(logger: Logger, store: AuditStore, retainSeconds: number, clock: Clock): AuditLog {
  const record = (event: AuditEvent) => {
    logger.info('audit', { audit: event });
    // Off the request path: a slow or failing audit store never fails a sign-in.
    store.append({ ...event, id: randomUUID(), at: clock.now() }, retainSeconds).catch((err: unknown) => {
      logger.error('audit store write failed', { type: event.type, app_id: event.app_id, err: String(err) });
    });
  };
  return {
    record,
    query: (appId, query) => store.query(appId, query),
  };
}
