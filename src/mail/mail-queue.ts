// Sign-in mail leaves the request path: the request stores the mail in the outbox (in
// the configured store, sealed) and answers at once, so a slow or failing SMTP server
// changes neither the response nor its timing (no account enumeration by timing, no
// hanging pages).
//
// Every instance sends from the shared outbox. A message is claimed with a lease before
// each attempt, so one instance sends it; if that instance dies, the lease runs out and
// another picks it up. Each attempt has an overall deadline, and several run at once, so
// a server that stalls one connection never holds the others. Failed attempts are retried
// quickly at first, then less often; a mail given up is reported once.
//
// Delivery is at least once: an instance that dies (or hits the deadline) after the SMTP
// server accepted a message but before removing it from the outbox leaves it to be sent
// again. With the memory store the outbox is in this process, and mail still waiting when
// it stops is reported as failed.
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { PosternError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Outbox, OutboxEntry } from '../storage/ports.ts';
import { MailSeal, type MailContext, type QueuedMail } from './mail-seal.ts';
import type { Mailer, MailMessage } from './mailer.ts';

export type { MailContext };

export interface MailQueueOptions {
  /** Delay before each retry; its length is the number of retries. */
  readonly retryDelaysMs?: readonly number[];
  /** Messages this process sends at once. */
  readonly concurrency?: number;
  /** Longest one attempt may take, every SMTP step included; then it is dropped and counts as failed. */
  readonly sendTimeoutMs?: number;
  /** How long a claimed message is hidden from other claims; must outlast `sendTimeoutMs`. */
  readonly leaseMs?: number;
  /** How often the outbox is checked for mail no event here announces (other instances' retries, expired leases). */
  readonly pollMs?: number;
}

export interface MailQueueDeps {
  readonly outbox: Outbox;
  readonly mailer: Mailer;
  /** KEY_ENCRYPTION_KEY: messages are sealed under a key derived from it. */
  readonly kek: Buffer;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly onSent: (context: MailContext, attempts: number) => void;
  readonly onFailed: (context: MailContext, reason: string) => void;
  readonly options?: MailQueueOptions | undefined;
}

/**
 * Quick at first, so a short outage costs seconds: an attempt at least every 5 s for the
 * first half minute, every 10 s for the next minute. Then backing off: the last attempt is
 * about 15 minutes after the first, the lifetime of a sign-in link by default.
 */
export const RETRY_DELAYS_MS: readonly number[] = [
  [1, 2, 3],
  Array(6).fill(5),
  Array(6).fill(10),
  Array(4).fill(30),
  Array(4).fill(60),
  [120, 120, 200],
]
  .flat()
  .map((s: number) => s * 1000);
const SEND_TIMEOUT_MS = 30_000;

interface Waiter {
  /** Resolve once nothing is sending and nothing is due before this time. */
  readonly horizon: () => number;
  readonly resolve: () => void;
}

export class MailQueue {
  readonly #outbox: Outbox;
  readonly #mailer: Mailer;
  readonly #seal: MailSeal;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #deps: MailQueueDeps;
  readonly #delays: readonly number[];
  readonly #concurrency: number;
  readonly #sendTimeoutMs: number;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  /** Attempts in flight, by message id. */
  readonly #sending = new Map<string, Promise<void>>();
  readonly #waiters: Waiter[] = [];
  /** Aborts every attempt in flight at shutdown. */
  readonly #stopping = new AbortController();
  #timer: NodeJS.Timeout | undefined;
  /** The pump run in progress, if any. */
  #pumping: Promise<void> | undefined;
  #pumpAgain = false;
  #outboxDown = false;

  constructor(deps: MailQueueDeps) {
    const options = deps.options ?? {};
    this.#deps = deps;
    this.#outbox = deps.outbox;
    this.#mailer = deps.mailer;
    this.#seal = new MailSeal(deps.kek);
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#delays = options.retryDelaysMs ?? RETRY_DELAYS_MS;
    this.#concurrency = options.concurrency ?? 10;
    this.#sendTimeoutMs = options.sendTimeoutMs ?? SEND_TIMEOUT_MS;
    this.#leaseMs = options.leaseMs ?? 2 * this.#sendTimeoutMs;
    this.#pollMs = options.pollMs ?? 5_000;
  }

  get #stopped(): boolean {
    return this.#stopping.signal.aborted;
  }

  /** Stores the mail in the outbox (rejects when the store cannot) and has it sent. */
  async enqueue(message: MailMessage, context: MailContext = {}): Promise<void> {
    if (this.#stopped && !this.#outbox.durable) throw new PosternError('unavailable', 'This server is shutting down. Please try again.');
    const id = randomUUID();
    await this.#outbox.add(id, this.#seal.seal(id, { message, context }), this.#clock.now());
    if (this.#stopped) this.#logger.warn('sign-in mail queued during shutdown; left in the outbox for another instance', { mail_id: id });
    this.#wake();
  }

  /** Sends mail already waiting in the outbox (left by a stopped instance) and keeps watching it. */
  start(): void {
    this.#wake();
  }

  /** Resolves when nothing is sending and the outbox is empty (tests). */
  idle(): Promise<void> {
    return this.#quiet(() => Number.POSITIVE_INFINITY);
  }

  /**
   * Shutdown: keeps sending until nothing is in flight and nothing is due (with an outbox
   * in memory: nothing is due within `withinMs`, since what is left is lost), or for
   * `withinMs` at most; then stops. Mail not sent by then stays in a durable outbox for the
   * next instance.
   */
  async drain(withinMs: number): Promise<void> {
    const deadline = this.#clock.now() + withinMs;
    const horizon = () => (this.#outbox.durable ? this.#clock.now() : deadline);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.#quiet(horizon), new Promise((resolve) => (timer = setTimeout(resolve, withinMs)))]);
    clearTimeout(timer);
    await this.stop();
  }

  /**
   * Stops at once: no new attempt starts, attempts in flight are aborted and their mail put
   * back (due now, for the next instance). With an outbox in memory every mail left is
   * reported failed, since it is lost with the process.
   */
  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopping.abort(new Error('the mail queue is stopping'));
      clearTimeout(this.#timer);
    }
    // A claim under way may still start attempts: wait for it, then for every attempt.
    await this.#pumping;
    await Promise.allSettled(this.#sending.values());
    if (!this.#outbox.durable) await this.#giveUpEverything('not sent before the process stopped (outbox in memory)');
    for (const waiter of this.#waiters.splice(0)) waiter.resolve();
  }

  #quiet(horizon: () => number): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push({ horizon, resolve });
      this.#wake();
    });
  }

  /** Runs the pump now, or once more after the run in progress. */
  #wake(): void {
    if (this.#stopped) return;
    if (this.#pumping) this.#pumpAgain = true;
    else {
      this.#pumping = this.#pump().finally(() => {
        this.#pumping = undefined;
        if (this.#pumpAgain) this.#wake(); // asked for after the run's last look
      });
    }
  }

  /** Claims due mail for every free slot, then sleeps until the next is due (at most pollMs). */
  async #pump(): Promise<void> {
    try {
      do {
        this.#pumpAgain = false;
        const now = this.#clock.now();
        const free = this.#concurrency - this.#sending.size;
        if (free > 0) for (const entry of await this.#outbox.claim(now, now + this.#leaseMs, free)) this.#begin(entry);
        const next = await this.#outbox.nextDue();
        if (this.#outboxDown) this.#logger.info('outbox reachable again; sending sign-in mail');
        this.#outboxDown = false;
        // Full: a slot freeing up wakes the pump, so only other instances' mail needs a poll.
        this.#sleepUntil(this.#sending.size >= this.#concurrency ? undefined : next);
        this.#notify(next);
      } while (this.#pumpAgain && !this.#stopped);
    } catch (err) {
      if (!this.#outboxDown) this.#logger.error('outbox unreachable; sign-in mail waits in it until it is back', { err: String(err) });
      this.#outboxDown = true;
      this.#sleepUntil(undefined);
    }
  }

  #sleepUntil(next: number | undefined): void {
    if (this.#stopped) return;
    const now = this.#clock.now();
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#wake(), Math.max(0, Math.min(next ?? Number.POSITIVE_INFINITY, now + this.#pollMs) - now));
    this.#timer.unref();
  }

  #notify(next: number | undefined): void {
    if (this.#sending.size) return;
    for (const waiter of [...this.#waiters]) {
      if (next !== undefined && next <= waiter.horizon()) continue;
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }

  #begin(entry: OutboxEntry): void {
    const attempt = this.#attempt(entry).finally(() => {
      this.#sending.delete(entry.id);
      this.#wake();
    });
    this.#sending.set(entry.id, attempt);
  }

  async #attempt(entry: OutboxEntry): Promise<void> {
    if (this.#stopped) {
      // Claimed while stopping: back in the outbox untouched, due now.
      await this.#reschedule(entry, this.#clock.now());
      return;
    }
    const mail = this.#seal.open(entry.id, entry.sealed);
    if (!mail) {
      this.#logger.error('outbox message does not open (another KEY_ENCRYPTION_KEY, or altered); dropped', { mail_id: entry.id });
      await this.#remove(entry.id);
      return;
    }
    if (entry.attempts > this.#delays.length + 1) {
      // Every earlier claim ended without an outcome: the instances holding it died.
      await this.#giveUp(entry.id, mail, `no outcome after ${entry.attempts - 1} attempts`);
      return;
    }
    try {
      await this.#mailer.send(mail.message, AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(this.#sendTimeoutMs)]));
    } catch (err) {
      await this.#failed(entry, mail, err);
      return;
    }
    // Out of the outbox before anything else, so nothing that follows can send it twice.
    await this.#remove(entry.id);
    this.#report(() => this.#deps.onSent(mail.context, entry.attempts));
  }

  async #failed(entry: OutboxEntry, mail: QueuedMail, err: unknown): Promise<void> {
    const fields = { mail_id: entry.id, app_id: mail.context['appId'], attempt: entry.attempts, err: String(err) };
    if (this.#stopped) {
      // Interrupted by shutdown: due again at once, for whichever instance is still running.
      this.#logger.warn('sign-in mail interrupted by shutdown; left in the outbox', fields);
      await this.#reschedule(entry, this.#clock.now());
      return;
    }
    const delay = this.#delays[entry.attempts - 1];
    if (delay === undefined) {
      await this.#giveUp(entry.id, mail, `smtp error after ${entry.attempts} attempts`, err);
      return;
    }
    const nextAt = this.#clock.now() + delay;
    this.#logger.warn('sign-in mail not sent; will retry', { ...fields, next_attempt_at: new Date(nextAt).toISOString() });
    await this.#reschedule(entry, nextAt);
  }

  async #reschedule(entry: OutboxEntry, dueAt: number): Promise<void> {
    // False: the lease ran out during the attempt and another instance holds the mail now.
    // Failing: the store is down; the lease runs out and the mail is tried again then.
    await this.#outbox.reschedule(entry.id, entry.claim, dueAt).catch((err: unknown) => {
      this.#logger.error('outbox unreachable; mail retried when its lease runs out', { mail_id: entry.id, err: String(err) });
    });
  }

  async #remove(id: string): Promise<void> {
    await this.#outbox.remove(id).catch((err: unknown) => {
      this.#logger.error('mail not removed from the outbox; it may be sent again', { mail_id: id, err: String(err) });
    });
  }

  async #giveUp(id: string, mail: QueuedMail, reason: string, err?: unknown): Promise<void> {
    await this.#remove(id);
    this.#logger.error('sign-in mail given up', { mail_id: id, app_id: mail.context['appId'], reason, ...(err ? { err: String(err) } : {}) });
    this.#report(() => this.#deps.onFailed(mail.context, reason));
  }

  /** Every mail still in an in-memory outbox, given up (it would vanish with the process). */
  async #giveUpEverything(reason: string): Promise<void> {
    const all = Number.MAX_SAFE_INTEGER;
    for (const entry of await this.#outbox.claim(all, all, all)) {
      const mail = this.#seal.open(entry.id, entry.sealed);
      if (mail) await this.#giveUp(entry.id, mail, reason);
    }
  }

  /** A throwing callback is logged; it never fails (or repeats) the delivery it reports. */
  #report(callback: () => void): void {
    try {
      callback();
    } catch (err) {
      this.#logger.error('mail outcome callback failed', { err: String(err) });
    }
  }
}
