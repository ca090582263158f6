// Scheduled key upkeep in every process: at start and then hourly (sooner when a previous
// key's `retireAt` comes first) it goes through all apps, rotates the keys of those whose
// current keys are KEY_ROTATION_DAYS old, and drops retired keys everywhere. It reads the
// apps a page at a time (app-pages.ts), yielding to requests between pages, so a pass
// over 100,000 apps holds one page of records and never stalls the event loop. Running
// on several instances at once is safe: each write is a compare-and-replace and the
// loser re-decides on the winner's record (AppsService.maintainKeys). No HTTP here.
import type { Clock } from '../clock.ts';
import type { AuditLog } from '../audit.ts';
import type { Logger } from '../log.ts';
import { appPages } from '../apps/app-pages.ts';
import type { AppCursor, AppPage, AppRecord } from '../storage/ports.ts';
import { PeriodicPass } from '../periodic-pass.ts';
import { nextRetirement } from './key-ring.ts';

export const DAY_MS = 24 * 60 * 60 * 1000;
export const SWEEP_INTERVAL_MS = 60 * 60 * 1000;
/** Shortest wait between runs, so a burst of retirements cannot make the timer spin. */
const MIN_DELAY_MS = 1000;

export interface KeyUpkeepTarget {
  page(limit: number, after?: AppCursor): Promise<AppPage>;
  get(id: string): Promise<AppRecord>;
  /** `seen`: the record as the page had it, so an app with nothing to do costs no further read. */
  maintainKeys(id: string, rotateEveryMs: number, seen?: AppRecord): Promise<'rotated' | 'maintained' | 'unchanged' | 'gone'>;
}

export interface SweepResult {
  readonly rotated: readonly string[];
  readonly maintained: readonly string[];
  readonly failed: readonly string[];
  /** Earliest future retirement of a previous key, epoch ms (schedules the next run). */
  readonly nextRetireAt: number | undefined;
}

export class KeyRotationScheduler extends PeriodicPass<SweepResult> {
  readonly #apps: KeyUpkeepTarget;
  readonly #rotateEveryMs: number;
  readonly #logger: Logger;
  readonly #audit: AuditLog;
  readonly #clock: Clock;

  constructor(deps: { apps: KeyUpkeepTarget; rotationDays: number; logger: Logger; audit: AuditLog; clock: Clock }) {
    super();
    this.#apps = deps.apps;
    this.#clock = deps.clock;
    this.#rotateEveryMs = deps.rotationDays * DAY_MS;
    this.#logger = deps.logger;
    this.#audit = deps.audit;
  }

  /** Hourly, sooner when a previous key's retirement comes first. */
  protected nextDelayMs(result: SweepResult | undefined): number {
    const retireAt = result?.nextRetireAt;
    const next = retireAt === undefined ? SWEEP_INTERVAL_MS : Math.min(SWEEP_INTERVAL_MS, retireAt - this.#clock.now() + MIN_DELAY_MS);
    return Math.max(MIN_DELAY_MS, next);
  }

  protected passFailed(err: unknown): void {
    this.#logger.warn('key upkeep failed; retrying on the next pass', { err: String(err) });
  }

  /** One pass over every app; a failing app is logged and retried on the next pass. A pass stopped midway ends after the app it is on (each write is whole). */
  protected async pass(aborted: () => boolean): Promise<SweepResult> {
    const rotated: string[] = [];
    const maintained: string[] = [];
    const failed: string[] = [];
    let nextRetireAt: number | undefined;
    const noteRetirement = (app: AppRecord) => {
      const at = nextRetirement(app.keys, this.#clock.now());
      if (at !== undefined && (nextRetireAt === undefined || at < nextRetireAt)) nextRetireAt = at;
    };
    pages: for await (const page of appPages(this.#apps)) {
      for (const app of page) {
        if (aborted()) break pages;
        try {
          const outcome = await this.#apps.maintainKeys(app.id, this.#rotateEveryMs, app);
          if (outcome === 'rotated') {
            rotated.push(app.id);
            this.#audit.record({ type: 'keys.rotated', outcome: 'success', appId: app.id, reason: 'scheduled' });
          } else if (outcome === 'maintained') {
            maintained.push(app.id);
            this.#logger.info('signing keys maintained (retired keys dropped or next key added)', { app_id: app.id });
          }
          // A write added or dropped a retirement (a rotation's is an ID token lifetime
          // away, possibly before the next hourly pass): read the record as written.
          if (outcome === 'rotated' || outcome === 'maintained') noteRetirement(await this.#apps.get(app.id));
          else if (outcome === 'unchanged') noteRetirement(app);
        } catch (err) {
          failed.push(app.id);
          this.#logger.warn('key upkeep failed for an app; retrying on the next pass', { app_id: app.id, err: String(err) });
        }
      }
    }
    return { rotated, maintained, failed, nextRetireAt };
  }
}
