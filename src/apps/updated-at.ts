// `updatedAt` is each record's version (the admin API's ETag; the compare-and-replace of
// app records): every write must move it forward, even two writes within one millisecond
// or after the clock stepped back.

/** A record versioned by its `updatedAt`: an app, a further client. */
export interface Versioned {
  readonly updatedAt: number;
}

/**
 * A condition on the version a write finds (the admin API's If-Match), checked on every
 * attempt of the write's compare-and-replace: throwing refuses the write, so a change made
 * by another request meanwhile fails the condition rather than being merged with it.
 */
export type Precondition = (current: Versioned) => void;

/** The `updatedAt` of the write that follows `record`'s, at `now`. */
export function nextUpdatedAt(record: Versioned, now: number): number {
  return Math.max(now, record.updatedAt + 1);
}
