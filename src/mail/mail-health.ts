// Whether the mail server answers, for operators: checked once at start-up (a warning in the
// log, never a refusal to start: mail waits in the outbox until the server answers) and
// kept at most a minute old for the detail of /readyz. /readyz never waits for it and never
// fails because of it: an instance that cannot mail can still finish sign-ins whose links
// are already out, refresh tokens and serve every other endpoint, and every instance shares
// the one mail server, so taking instances out of rotation would not help.
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Mailer } from './mailer.ts';

export interface MailStatus {
  readonly status: 'reachable' | 'unreachable' | 'checking';
  /** When the last check finished (ISO 8601). */
  readonly checked_at?: string;
  /** Why it failed, as a short code (ECONNREFUSED, ETIMEDOUT, EAUTH, …): never the server's address or reply. */
  readonly error?: string;
}

/** One check's bound: connecting, greeting, EHLO and login together. */
export const MAIL_CHECK_TIMEOUT_MS = 10_000;
/** Older results are refreshed in the background when /readyz reads them. */
export const MAIL_CHECK_MAX_AGE_MS = 60_000;

interface Result {
  readonly ok: boolean;
  readonly at: number;
  readonly code?: string;
}

export class MailHealth {
  readonly #mailer: Mailer;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  #last: Result | undefined;
  #running: Promise<void> | undefined;

  constructor(deps: { mailer: Mailer; clock: Clock; logger: Logger; timeoutMs?: number }) {
    this.#mailer = deps.mailer;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#timeoutMs = deps.timeoutMs ?? MAIL_CHECK_TIMEOUT_MS;
  }

  /**
   * The last result, without waiting; undefined when the mailer cannot be checked (the
   * development mailbox). A result older than a minute starts one new check in the
   * background, so a flood of probes costs the mail server at most one connection a minute.
   */
  current(): MailStatus | undefined {
    if (!this.#mailer.check) return undefined;
    const last = this.#last;
    if (!last || this.#clock.now() - last.at >= MAIL_CHECK_MAX_AGE_MS) void this.check();
    if (!last) return { status: 'checking' };
    const checked_at = new Date(last.at).toISOString();
    return last.ok ? { status: 'reachable', checked_at } : { status: 'unreachable', checked_at, error: last.code ?? 'ERROR' };
  }

  /** Checks now (joining a check already running); logs when reachability changes. Never rejects. */
  check(): Promise<void> {
    this.#running ??= this.#run().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #run(): Promise<void> {
    const check = this.#mailer.check;
    if (!check) return;
    const before = this.#last;
    try {
      await check.call(this.#mailer, AbortSignal.timeout(this.#timeoutMs));
      this.#last = { ok: true, at: this.#clock.now() };
      if (!before) this.#logger.info('mail server reachable');
      else if (!before.ok) this.#logger.info('mail server reachable again');
    } catch (err) {
      const code = codeOf(err);
      this.#last = { ok: false, at: this.#clock.now(), code };
      if (!before || before.ok) {
        this.#logger.warn('mail server unreachable: sign-in mail waits in the outbox until it answers (check SMTP_URL)', {
          code,
          error: (err as Error)?.message,
        });
      }
    }
  }
}

function codeOf(err: unknown): string {
  if ((err as Error)?.name === 'TimeoutError') return 'ETIMEDOUT';
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && /^[A-Z][A-Z_]{1,30}$/.test(code) ? code : 'ERROR';
}
