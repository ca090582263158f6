// How far behind the event loop is: the signal load shedding acts on. A timer that should
// fire every few milliseconds measures how late it fires; a request arriving while or just
// after the loop was held up (CPU-bound work, a burst of callbacks, a long GC pause) reads
// the longest such delay of the last second. Reading also counts the delay still going on
// since the last tick, so a request handled right after a long stall, before the timer has
// had its turn, sees that stall too.
import { performance } from 'node:perf_hooks';

/** What load shedding reads. */
export interface LagSource {
  /** Milliseconds the event loop has recently been behind. */
  lagMs(): number;
}

export interface LagOptions {
  /** How often the timer is meant to fire; the resolution of the measure. */
  readonly intervalMs?: number;
  /** How long a delay is remembered. */
  readonly windowMs?: number;
}

export class EventLoopLag implements LagSource {
  readonly #intervalMs: number;
  readonly #windowMs: number;
  #lastTick = performance.now();
  #peak = 0;
  #peakAt = Number.NEGATIVE_INFINITY;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: LagOptions = {}) {
    this.#intervalMs = options.intervalMs ?? 10;
    this.#windowMs = options.windowMs ?? 1_000;
  }

  start(): this {
    if (this.#timer) return this;
    this.#lastTick = performance.now();
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref(); // measuring never keeps the process alive
    return this;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  lagMs(): number {
    const now = performance.now();
    const recent = now - this.#peakAt <= this.#windowMs ? this.#peak : 0;
    return Math.max(recent, this.#lateBy(now));
  }

  #tick(): void {
    const now = performance.now();
    const late = this.#lateBy(now);
    this.#lastTick = now;
    // Hold the longest delay for the window; once it has passed, start again from this one.
    if (late >= this.#peak || now - this.#peakAt > this.#windowMs) {
      this.#peak = late;
      this.#peakAt = now;
    }
  }

  /** How much later than due the next tick is (or was) at `now`. */
  #lateBy(now: number): number {
    return this.#timer ? Math.max(0, now - this.#lastTick - this.#intervalMs) : 0;
  }
}

let processLag: EventLoopLag | undefined;

/** The one monitor of this process (the event loop is the process's), started on first use. */
export function processEventLoopLag(): EventLoopLag {
  processLag ??= new EventLoopLag().start();
  return processLag;
}
