// Query parameters of the admin API: each known one at most once, nothing else.
import { badRequest } from '../errors.ts';

export type Query = Record<string, string | string[] | undefined>;

/** Refuses a parameter the route does not take (a typo would otherwise be silently ignored). */
export function onlyParams(query: Query, allowed: ReadonlySet<string>): void {
  for (const key of Object.keys(query)) {
    if (!allowed.has(key)) throw badRequest(`Unknown parameter "${key.slice(0, 64)}". Allowed: ${[...allowed].join(', ')}.`);
  }
}

/** The parameter's one value; undefined when absent or empty. */
export function one(query: Query, name: string): string | undefined {
  const value = query[name];
  if (Array.isArray(value)) throw badRequest(`${name} must be given at most once.`);
  return value === undefined || value === '' ? undefined : value;
}
