// A pass of background upkeep run at start and then again and again (key rotation, the
// finishing of app deletions): never two passes of one process at once, a timer that never
// holds the process open, and a stop that waits for the pass in progress, which ends early
// at its next check of `aborted`. A subclass says what a pass does and when the next one is.
export abstract class PeriodicPass<R> {
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<R> | undefined;
  #stopped = true;
  /** Set by stop(): a pass in progress ends after the unit it is on. */
  #aborting = false;

  /** One pass; checks `aborted()` between its units of work and returns early when it is true. */
  protected abstract pass(aborted: () => boolean): Promise<R>;
  /** How long after a pass the next one starts; `result` is undefined when the pass failed. */
  protected abstract nextDelayMs(result: R | undefined): number;
  /** A pass that failed as a whole (its own units' failures are its business). */
  protected abstract passFailed(err: unknown): void;

  /** One pass now, or the one already running (a slow pass and the timer share it). */
  runOnce(): Promise<R> {
    this.#running ??= this.pass(() => this.#aborting).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Runs a pass now and keeps running them. */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#aborting = false;
    this.#schedule(0);
  }

  /** Stops the timer and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#aborting = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(async () => {
      let result: R | undefined;
      try {
        result = await this.runOnce();
      } catch (err) {
        this.passFailed(err);
      }
      this.#schedule(this.nextDelayMs(result));
    }, delayMs);
    this.#timer.unref();
  }
}
