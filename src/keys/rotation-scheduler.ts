// Scheduled key upkeep in every process: at start and then hourly (sooner when a previous
// key's `retireAt` comes first) it goes through all apps, rotates the keys of those whose
// current keys are KEY_ROTATION_DAYS old, and drops retired keys everywhere. Running on
// several instances at once is safe: each write is a compare-and-replace and the loser
// re-decides on the winner's record (AppsService.maintainKeys). No HTTP here.
import type { Clock } from '../clock.ts';
import type { AuditLog } from '../audit.ts';
import type { Logger } from '../log.ts';
import type { AppRecord } from '../storage/ports.ts';
import { nextRetirement } from './key-ring.ts';

export const DAY_MS = 24 * 60 * 60 * 1000;
export const SWEEP_INTERVAL_MS = 60 * 60 * 1000;
/** Shortest wait between runs, so a burst of retirements cannot make the timer spin. */
const MIN_DELAY_MS = 1000;

export interface KeyUpkeepTarget {
  list(): Promise<AppRecord[]>;
  maintainKeys(id: string, rotateEveryMs: number): Promise<'rotated' | 'maintained' | 'unchanged' | 'gone'>;
}

export interface SweepResult {
  readonly rotated: readonly string[];
  readonly maintained: readonly string[];
  readonly failed: readonly string[];
  /** Earliest future retirement of a previous key, epoch ms (schedules the next run). */
  readonly nextRetireAt: number | undefined;
}

export class KeyRotationScheduler {
  readonly #apps: KeyUpkeepTarget;
  readonly #rotateEveryMs: number;
  readonly #logger: Logger;
  readonly #audit: AuditLog;
  readonly #clock: Clock;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<SweepResult> | undefined;
  #stopped = true;
  /** Set by stop(): a pass in progress ends after the app it is on (each write is whole). */
  #aborting = false;

  constructor(deps: { apps: KeyUpkeepTarget; rotationDays: number; logger: Logger; audit: AuditLog; clock: Clock }) {
    this.#apps = deps.apps;
    this.#clock = deps.clock;
    this.#rotateEveryMs = deps.rotationDays * DAY_MS;
    this.#logger = deps.logger;
    this.#audit = deps.audit;
  }

  /** One pass over every app; a failing app is logged and retried on the next pass. */
  async runOnce(): Promise<SweepResult> {
    // Never two passes of one process at once (a slow pass and the timer).
    this.#running ??= this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Runs a pass now and keeps running them; the timer never holds the process open. */
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
      let next = SWEEP_INTERVAL_MS;
      try {
        const { nextRetireAt } = await this.runOnce();
        if (nextRetireAt !== undefined) next = Math.min(next, nextRetireAt - this.#clock.now() + MIN_DELAY_MS);
      } catch (err) {
        this.#logger.warn('key upkeep failed; retrying on the next pass', { err: String(err) });
      }
      this.#schedule(Math.max(MIN_DELAY_MS, next));
    }, delayMs);
    this.#timer.unref();
  }

  async #pass(): Promise<SweepResult> {
    const rotated: string[] = [];
    const maintained: string[] = [];
    const failed: string[] = [];
    for (const app of await this.#apps.list()) {
      if (this.#aborting) break;
      try {
        const outcome = await this.#apps.maintainKeys(app.id, this.#rotateEveryMs);
        if (outcome === 'rotated') {
          rotated.push(app.id);
          this.#audit.record({ type: 'keys.rotated', outcome: 'success', appId: app.id, reason: 'scheduled' });
        } else if (outcome === 'maintained') {
          maintained.push(app.id);
          this.#logger.info('signing keys maintained (retired keys dropped or next key added)', { app_id: app.id });
        }
      } catch (err) {
        failed.push(app.id);
        this.#logger.warn('key upkeep failed for an app; retrying on the next pass', { app_id: app.id, err: String(err) });
      }
    }
    // Read again: a rotation in this pass added a retirement (an ID token lifetime away,
    // possibly before the next hourly pass), and the next run must not miss it.
    const now = this.#clock.now();
    const retirements = (await this.#apps.list().catch(() => [] as AppRecord[]))
      .map((app) => nextRetirement(app.keys, now))
      .filter((t): t is number => t !== undefined);
    return { rotated, maintained, failed, nextRetireAt: retirements.length ? Math.min(...retirements) : undefined };
  }
}
