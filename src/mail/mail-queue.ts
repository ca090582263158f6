// Sign-in mail leaves the request path: the request enqueues and answers at once, so a
// slow or failing SMTP server changes neither the response nor its timing (no account
// enumeration by timing, no hanging pages). Failed sends are retried with backoff; the
// final outcome is reported once. The queue is per process: a mail still queued when a
// process dies is lost, and the person uses "send me a new link".
import type { Mailer, MailMessage } from './mailer.ts';

export interface MailQueueOptions {
  /** Delay before each retry; its length is the number of retries. */
  readonly retryDelaysMs?: readonly number[];
  readonly concurrency?: number;
  readonly onSent?: (message: MailMessage, context: MailContext, attempts: number) => void;
  readonly onFailed?: (message: MailMessage, context: MailContext, error: unknown, attempts: number) => void;
}

/** Whatever the sender wants back with the outcome (e.g. audit context); never logged here. */
export type MailContext = Readonly<Record<string, unknown>>;

interface Job {
  readonly message: MailMessage;
  readonly context: MailContext;
  attempts: number;
}

export class MailQueue {
  readonly #mailer: Mailer;
  readonly #delays: readonly number[];
  readonly #concurrency: number;
  readonly #options: MailQueueOptions;
  readonly #waiting: Job[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #idle: (() => void)[] = [];
  #running = 0;

  constructor(mailer: Mailer, options: MailQueueOptions = {}) {
    this.#mailer = mailer;
    this.#delays = options.retryDelaysMs ?? [2_000, 10_000, 60_000, 300_000];
    this.#concurrency = options.concurrency ?? 4;
    this.#options = options;
  }

  enqueue(message: MailMessage, context: MailContext = {}): void {
    this.#waiting.push({ message, context, attempts: 0 });
    this.#pump();
  }

  /** Resolves when nothing is sending or waiting for a retry. */
  idle(): Promise<void> {
    if (this.#busy()) return new Promise((resolve) => this.#idle.push(resolve));
    return Promise.resolve();
  }

  /** Stops retrying (shutdown); mails in flight finish. */
  stop(): void {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#waiting.length = 0;
    this.#settle();
  }

  #busy(): boolean {
    return this.#running > 0 || this.#waiting.length > 0 || this.#timers.size > 0;
  }

  #settle() {
    if (!this.#busy()) for (const resolve of this.#idle.splice(0)) resolve();
  }

  #pump() {
    while (this.#running < this.#concurrency && this.#waiting.length) {
      const job = this.#waiting.shift()!;
      this.#running += 1;
      void this.#send(job).finally(() => {
        this.#running -= 1;
        this.#pump();
        this.#settle();
      });
    }
  }

  async #send(job: Job) {
    job.attempts += 1;
    try {
      await this.#mailer.send(job.message);
      this.#options.onSent?.(job.message, job.context, job.attempts);
    } catch (err) {
      const delay = this.#delays[job.attempts - 1];
      if (delay === undefined) {
        this.#options.onFailed?.(job.message, job.context, err, job.attempts);
        return;
      }
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        this.#waiting.push(job);
        this.#pump();
      }, delay);
      timer.unref();
      this.#timers.add(timer);
    }
  }
}
