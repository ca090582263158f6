// An app's entity tag for the admin API: the record's version. Every write to an app's
// record (its fields, clients, APIs, keys) moves `updatedAt` forward, and the stores'
// compare-and-replace already rests on that, so the tag names exactly one version.
import type { AppRecord } from '../storage/ports.ts';
import { PosternError } from '../errors.ts';
import { ifMatchNames } from '../http/entity-tags.ts';

export function appETag(app: AppRecord): string {
  return `"${app.updatedAt.toString(36)}"`;
}

/**
 * Throws 412 unless `ifMatch` (the request's If-Match header, when sent) names `current`:
 * a write based on a version someone else has changed since is refused, not merged.
 */
export function requireVersion(current: AppRecord, ifMatch: string | undefined): void {
  if (ifMatch === undefined || ifMatchNames(ifMatch, appETag(current))) return;
  throw new PosternError('precondition_failed', `The app has changed since the version If-Match names (it is now ${appETag(current)}); read it again and repeat the change.`);
}
