// The admin API's entity tags: an app's or a further client's version. Every write to
// either moves its `updatedAt` forward (apps/updated-at.ts), and the stores'
// compare-and-replace already rests on that, so a tag names exactly one version.
import { PosternError } from '../errors.ts';
import { ifMatchNames } from '../http/entity-tags.ts';

interface Versioned {
  readonly updatedAt: number;
}

export function etagOf(record: Versioned): string {
  return `"${record.updatedAt.toString(36)}"`;
}

/**
 * Throws 412 unless `ifMatch` (the request's If-Match header, when sent) names `current`:
 * a write based on a version someone else has changed since is refused, not merged.
 */
export function requireVersion(current: Versioned, ifMatch: string | undefined, what: 'app' | 'client'): void {
  if (ifMatch === undefined || ifMatchNames(ifMatch, etagOf(current))) return;
  throw new PosternError('precondition_failed', `The ${what} has changed since the version If-Match names (it is now ${etagOf(current)}); read it again and repeat the change.`);
}
