// How each driver lets time pass in the contract suite, so every expiry test reads the
// same. The memory store reads an injected clock, which the test moves. Redis and MongoDB
// keep real time: records get a one-second time to live and the test polls, bounded, until
// they are gone (MongoDB's TTL monitor runs once a minute, but its reads already ignore
// records past their expiry).
import type { Clock } from '../../src/clock.ts';

export interface StoreTime {
  /** Time to live, in seconds, for records a test wants to see expire. */
  readonly ttl: number;
  /** Lets `ttl` pass; may return early once `gone()` holds. The test asserts afterwards. */
  elapse(gone: () => Promise<boolean>): Promise<void>;
}

/** A clock that stands still until moved. */
export class ManualClock implements Clock {
  #now = Date.now();
  now(): number {
    return this.#now;
  }
  advance(ms: number): void {
    this.#now += ms;
  }
}

/** Moves `clock` past the time to live at once. */
export function movedTime(clock: ManualClock): StoreTime {
  const ttl = 60;
  return {
    ttl,
    async elapse() {
      clock.advance(ttl * 1000);
    },
  };
}

/**
 * Real time with a short time to live: long enough that a read right after the write still
 * finds the record on a busy machine (a loaded CI runner, Redis fsyncing every write), short
 * enough to wait out. The wait returns as soon as the record is gone; its bound only matters
 * when expiry is broken or the machine stalls.
 */
export const realTime: StoreTime = {
  ttl: 1,
  elapse: (gone) => until(gone, 1_000 + 3_000),
};

/** Polls `condition` every 20 ms until it holds or `ms` have passed. */
export async function until(condition: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await condition()) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}
