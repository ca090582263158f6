// GET /admin/apps: query parameters → a page request, oldest first, with an opaque cursor
// (the store's cursor of the page's last app, base64url: callers pass it back unchanged).
import { badRequest } from '../errors.ts';
import { parseAppCursor, type AppCursor } from '../storage/ports.ts';
import { one, onlyParams, type Query } from './query-params.ts';

export const MAX_APPS_PER_PAGE = 500;
export const DEFAULT_APPS_PER_PAGE = 100;
const PARAMS = new Set(['limit', 'cursor']);

export function parseAppListQuery(query: Query): { limit: number; after: AppCursor | undefined } {
  onlyParams(query, PARAMS);
  const rawLimit = one(query, 'limit');
  const limit = rawLimit === undefined ? DEFAULT_APPS_PER_PAGE : Number(rawLimit);
  if (!/^\d+$/.test(rawLimit ?? '1') || !Number.isInteger(limit) || limit < 1 || limit > MAX_APPS_PER_PAGE) {
    throw badRequest(`limit must be an integer from 1 to ${MAX_APPS_PER_PAGE}.`);
  }
  const cursor = one(query, 'cursor');
  if (cursor === undefined) return { limit, after: undefined };
  const after = /^[A-Za-z0-9_-]{1,128}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('latin1') : '';
  if (!parseAppCursor(after)) throw badRequest('cursor is not one this API returned.');
  return { limit, after };
}

/** The page's `next` as the API hands it out; null on the last page. */
export function appListCursor(next: AppCursor | undefined): string | null {
  return next === undefined ? null : Buffer.from(next, 'latin1').toString('base64url');
}
