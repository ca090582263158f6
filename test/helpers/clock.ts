// A clock a test can move: the server under test reads time from it (ServerDeps.clock,
// the memory stores), so expiry tests jump ahead without waiting and without touching the
// global Date. It follows real time from wherever it was moved to.
import type { Clock } from '../../src/clock.ts';

export class TestClock implements Clock {
  #offset = 0;

  now(): number {
    return Date.now() + this.#offset;
  }

  travel(seconds: number): void {
    this.#offset += seconds * 1000;
  }

  /** Back to real time. */
  reset(): void {
    this.#offset = 0;
  }
}
