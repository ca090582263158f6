// Finishes app deletions. DELETE /admin/apps/{id} takes the app out and leaves a deletion
// mark before it purges the app's data, so neither a purge that failed (the store stalled,
// the process was killed) nor a request that was still writing for the app when it was
// deleted leaves data behind: at start and then every SWEEP_EVERY_MS, each instance purges
// every marked app again, and forgets a mark once a purge began GRACE_MS after its deletion
// (past any request that could still write for the app). Several instances sweeping at once
// only purge the same data twice. No HTTP here.
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { PeriodicPass } from '../periodic-pass.ts';
import type { AppDeletion } from '../storage/ports.ts';

export const SWEEP_EVERY_MS = 5 * 60 * 1000;
/** Longer than any request runs (a stalled store answers 503 within seconds). */
export const GRACE_MS = 10 * 60 * 1000;
/** Marks finished per pass: the rest wait for the next one (a mark is small, a purge is not). */
const MARKS_PER_PASS = 100;

export interface DeletionTarget {
  deletions(limit: number): Promise<AppDeletion[]>;
  forget(id: string): Promise<void>;
  /** Drops the app's cached Providers and removes its data (AppsService.purge). */
  purge(id: string): Promise<void>;
}

export interface SweepOutcome {
  readonly purged: readonly string[];
  readonly forgotten: readonly string[];
  readonly failed: readonly string[];
}

export class DeletionSweeper {
  readonly #target: DeletionTarget;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #periodic: PeriodicPass<SweepOutcome>;

  constructor(deps: { target: DeletionTarget; logger: Logger; clock: Clock }) {
    this.#target = deps.target;
    this.#logger = deps.logger;
    this.#clock = deps.clock;
    this.#periodic = new PeriodicPass({
      pass: (aborted) => this.#pass(aborted),
      next: () => SWEEP_EVERY_MS,
      failed: (err) => this.#logger.warn('finishing app deletions failed; retrying on the next pass', { err: String(err) }),
    });
  }

  /** One pass; an app whose purge fails keeps its mark and is purged again on the next. */
  runOnce(): Promise<SweepOutcome> {
    return this.#periodic.runOnce();
  }

  /** Runs a pass now and keeps running them; the timer never holds the process open. */
  start(): void {
    this.#periodic.start();
  }

  /** Stops the timer and waits for a pass in progress (which ends after the app it is on). */
  stop(): Promise<void> {
    return this.#periodic.stop();
  }

  async #pass(aborted: () => boolean): Promise<SweepOutcome> {
    const purged: string[] = [];
    const forgotten: string[] = [];
    const failed: string[] = [];
    for (const mark of await this.#target.deletions(MARKS_PER_PASS)) {
      if (aborted()) break;
      const startedAt = this.#clock.now();
      try {
        await this.#target.purge(mark.id);
        purged.push(mark.id);
        if (startedAt - mark.deletedAt >= GRACE_MS) {
          await this.#target.forget(mark.id);
          forgotten.push(mark.id);
          this.#logger.info('app deletion finished: its data is purged', { app_id: mark.id });
        }
      } catch (err) {
        failed.push(mark.id);
        this.#logger.warn('purging a deleted app failed; retrying on the next pass', { app_id: mark.id, err: String(err) });
      }
    }
    return { purged, forgotten, failed };
  }
}
