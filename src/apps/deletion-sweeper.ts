// Finishes app deletions. DELETE /admin/apps/{id} takes the app out and leaves a deletion
// mark before it purges the app's data, so neither a purge that failed (the store stalled,
// the process was killed) nor a late writer for the app leaves data behind. At start and
// then every few minutes, each instance purges the marked apps that no purge has finished
// yet, and once GRACE_MS has passed since a deletion, purges it one last time and forgets
// its mark: late writers are requests that were running when the app went and deliveries
// queued before (sign-in mail and back-channel logout retry for about 15 minutes, each
// attempt with its own deadline), whose outcomes are written to the app's trail. So a
// deletion costs two purges (on Redis each walks the keyspace), whatever the number of
// instances, unless two of them happen on the same mark in the same moment. No HTTP here.
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { PeriodicPass } from '../periodic-pass.ts';
import type { AppDeletion } from '../storage/ports.ts';

export const SWEEP_EVERY_MS = 5 * 60 * 1000;
/** Longer than any late writer: a request (seconds), a delivery's retries (about 30 minutes at worst). */
export const GRACE_MS = 60 * 60 * 1000;
/** Marks read at a time, oldest first; a pass reads them all, page by page, and purges only those due. */
const MARKS_PER_PAGE = 1000;

export interface DeletionTarget {
  deletions(limit: number, after?: AppDeletion): Promise<AppDeletion[]>;
  forget(id: string): Promise<void>;
  /** Drops the app's cached Providers, removes its data, notes the purge on the mark; when it began (AppsService.purge). */
  purge(id: string): Promise<number>;
}

export interface SweepOutcome {
  readonly purged: string[];
  readonly forgotten: string[];
  readonly failed: string[];
}

export class DeletionSweeper extends PeriodicPass<SweepOutcome> {
  readonly #target: DeletionTarget;
  readonly #logger: Logger;
  readonly #clock: Clock;

  constructor(deps: { target: DeletionTarget; logger: Logger; clock: Clock }) {
    super();
    this.#target = deps.target;
    this.#logger = deps.logger;
    this.#clock = deps.clock;
  }

  /** Spread out, so instances started together do not sweep in step. */
  protected nextDelayMs(): number {
    return SWEEP_EVERY_MS * (0.8 + 0.4 * Math.random());
  }

  protected passFailed(err: unknown): void {
    this.#logger.warn('finishing app deletions failed; retrying on the next pass', { err: String(err) });
  }

  /**
   * One pass over every mark; an app whose purge fails keeps its mark and is purged again
   * on the next. A pass stopped midway ends after the app it is on. Read in pages: marks
   * within their grace, purged once already, are most of them while deletions are many,
   * and a mark due behind them (its first purge failed) must not wait for them to go.
   */
  protected async pass(aborted: () => boolean): Promise<SweepOutcome> {
    const outcome: SweepOutcome = { purged: [], forgotten: [], failed: [] };
    let page = await this.#target.deletions(MARKS_PER_PAGE);
    for (;;) {
      await this.#sweep(page, aborted, outcome);
      if (aborted() || page.length < MARKS_PER_PAGE) return outcome;
      page = await this.#target.deletions(MARKS_PER_PAGE, page.at(-1));
    }
  }

  async #sweep(page: readonly AppDeletion[], aborted: () => boolean, { purged, forgotten, failed }: SweepOutcome): Promise<void> {
    for (const mark of page) {
      if (aborted()) return;
      try {
        // The last purge already ran past the grace (forgetting failed then): only forget.
        if (mark.purgedAt !== undefined && mark.purgedAt - mark.deletedAt >= GRACE_MS) {
          await this.#forget(mark.id, forgotten);
          continue;
        }
        // Purged once and still within the grace: nothing to do until it ends.
        if (mark.purgedAt !== undefined && this.#clock.now() - mark.deletedAt < GRACE_MS) continue;
        const startedAt = await this.#target.purge(mark.id);
        purged.push(mark.id);
        if (startedAt - mark.deletedAt >= GRACE_MS) await this.#forget(mark.id, forgotten);
      } catch (err) {
        failed.push(mark.id);
        this.#logger.warn('purging a deleted app failed; retrying on the next pass', { app_id: mark.id, err: String(err) });
      }
    }
  }

  async #forget(id: string, forgotten: string[]): Promise<void> {
    await this.#target.forget(id);
    forgotten.push(id);
    this.#logger.info('app deletion finished: its data is purged', { app_id: id });
  }
}
