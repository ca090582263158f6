// The admin API's entity tags: an app's or a further client's version. Every write to
// either moves its `updatedAt` forward (apps/updated-at.ts), and the stores'
// compare-and-replace already rests on that, so a tag names exactly one version.
import type { Context } from 'koa';
import type { Precondition, Versioned } from '../apps/updated-at.ts';
import { PosternError } from '../errors.ts';
import { ifMatchNames } from '../http/entity-tags.ts';

export function etagOf(record: Versioned): string {
  return `"${record.updatedAt.toString(36)}"`;
}

/**
 * Throws 412 unless `ifMatch` (the request's If-Match header) names `current`:
 * a write based on a version someone else has changed since is refused, not merged.
 */
function requireVersion(current: Versioned, ifMatch: string, what: 'app' | 'client'): void {
  if (ifMatchNames(ifMatch, etagOf(current))) return;
  throw new PosternError('precondition_failed', `The ${what} has changed since the version If-Match names (it is now ${etagOf(current)}); read it again and repeat the change.`);
}

/**
 * The request's If-Match as a condition on the record a write finds, or undefined when the
 * header is not sent. A header sent empty names no version, so nothing passes it: a script
 * whose tag variable came out empty must not write unconditionally.
 */
export function ifMatchCondition(ctx: Context, what: 'app' | 'client'): Precondition | undefined {
  const header = ctx.headers['if-match'];
  if (header === undefined) return undefined;
  return (current) => requireVersion(current, header, what);
}
