import type { AuditQuery, AuditRecord } from './ports.ts';

/** The filter every store applies (Redis and memory in process, MongoDB as a query). */
export function matchesAudit(record: AuditRecord, query: AuditQuery): boolean {
  if (query.type !== undefined && record.type !== query.type) return false;
  if (query.email !== undefined && record.email !== query.email) return false;
  if (query.from !== undefined && record.at < query.from) return false;
  if (query.to !== undefined && record.at >= query.to) return false;
  if (query.before && !isOlder(record, query.before)) return false;
  return true;
}

/** Newest-first order: by time, then by id so records of the same millisecond page stably. */
export function isOlder(record: { at: number; id: string }, than: { at: number; id: string }): boolean {
  return record.at < than.at || (record.at === than.at && record.id < than.id);
}

export function newestFirst(a: AuditRecord, b: AuditRecord): number {
  return b.at - a.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}
