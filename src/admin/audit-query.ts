// GET /admin/apps/{id}/audit and GET /admin/audit (the instance's trail): query parameters → an AuditQuery, and the page → JSON.
// Paging is newest first with an opaque cursor (the last event's time and id).
import { externalAuditFields } from '../audit.ts';
import { badRequest } from '../errors.ts';
import type { AuditQuery, AuditRecord } from '../storage/ports.ts';
import { one, onlyParams } from './query-params.ts';

export const MAX_LIMIT = 500;
const PARAMS = new Set(['email', 'type', 'from', 'to', 'limit', 'cursor']);

function time(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  // A time of day needs its zone: without one, Date.parse reads it in the server's own.
  if (!Number.isFinite(ms) || !/^\d+$|^\d{4}-\d{2}-\d{2}$|^\d{4}-\d{2}-\d{2}[T ][^Z+-]*(Z|[+-]\d{2}:?\d{2})$/i.test(value)) {
    throw badRequest(`${name} must be an ISO 8601 date-time (e.g. 2026-01-31T12:00:00Z) or epoch milliseconds.`);
  }
  return ms;
}

export function parseAuditQuery(query: Record<string, string | string[] | undefined>): AuditQuery {
  onlyParams(query, PARAMS);
  const rawLimit = one(query, 'limit');
  const limit = rawLimit === undefined ? 100 : /^\d+$/.test(rawLimit) ? Number(rawLimit) : Number.NaN;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw badRequest(`limit must be an integer from 1 to ${MAX_LIMIT}.`);
  const email = one(query, 'email');
  if (email !== undefined && (email.length > 254 || /[\r\n]/.test(email))) throw badRequest('email must be one address.');
  const type = one(query, 'type');
  if (type !== undefined && !/^[a-z_]+(\.[a-z_]+)*$/.test(type)) throw badRequest('type must be an event type such as link.requested.');
  let before: AuditQuery['before'];
  const cursor = one(query, 'cursor');
  if (cursor !== undefined) {
    try {
      const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { at?: unknown; id?: unknown };
      if (typeof parsed.at !== 'number' || typeof parsed.id !== 'string') throw new Error('shape');
      before = { at: parsed.at, id: parsed.id };
    } catch {
      throw badRequest('cursor is not one this API returned.');
    }
  }
  return {
    email: email?.trim().toLowerCase(),
    type,
    from: time(one(query, 'from'), 'from'),
    to: time(one(query, 'to'), 'to'),
    limit,
    before,
  };
}

export function auditPage(events: AuditRecord[], limit: number) {
  const last = events.length === limit ? events.at(-1) : undefined;
  return {
    // `trail` is where an event is kept, which the path already says.
    events: events.map(({ at, trail: _trail, ...event }) => ({ ...externalAuditFields(event), at: new Date(at).toISOString() })),
    next_cursor: last ? Buffer.from(JSON.stringify({ at: last.at, id: last.id })).toString('base64url') : null,
  };
}
