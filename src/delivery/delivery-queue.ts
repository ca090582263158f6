// Delivery off the request path, from an outbox in the configured store: a request stores
// the message (sealed) and answers at once, so a slow or failing recipient (an SMTP
// server, an app's back-channel logout endpoint) changes neither the response nor its
// timing. Sign-in mail and back-channel logout notifications each have their own outbox
// and their own queue, and both are this one mechanism.
//
// Every instance delivers from the shared outbox. A message is claimed with a lease before
// each attempt (one added while a slot is free is stored leased to its adder), so one
// instance handles it; if that instance dies, the lease runs out and another picks it up.
// Each attempt has an overall deadline, and several run at once, so a recipient that
// stalls one attempt never holds the others. Failed attempts are retried quickly at first,
// then less often, for a bounded time; a message given up is reported once.
//
// Delivery is at least once: an instance that dies (or hits the deadline) after the
// recipient accepted a message but before removing it from the outbox leaves it to be
// delivered again. With the memory store the outbox is in this process, and messages still
// waiting when it stops are reported as failed.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../clock.ts';
import { PosternError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { Outbox, OutboxEntry } from '../storage/ports.ts';
import type { OutboxSeal } from './outbox-seal.ts';

/** Messages one process delivers at once unless told otherwise. */
export const DELIVERY_CONCURRENCY = 10;

export interface DeliveryQueueOptions {
  /** Delay before each retry; its length is the number of retries. */
  readonly retryDelaysMs?: readonly number[];
  /** Messages this process delivers at once. */
  readonly concurrency?: number;
  /** Longest one attempt may take, every step included; then it is dropped and counts as failed. */
  readonly sendTimeoutMs?: number;
  /** How long a claimed message is hidden from other claims; must outlast `sendTimeoutMs`. */
  readonly leaseMs?: number;
  /** How often the outbox is checked for messages no event here announces (other instances' retries, expired leases). */
  readonly pollMs?: number;
}

/** How log lines and outcomes name what a queue delivers. */
export interface DeliveryNames {
  /** In log lines: "sign-in mail". */
  readonly what: string;
  /** Shorter, where the line names the message itself: "mail". */
  readonly short: string;
  /** Past participle of delivering it: "sent". */
  readonly done: string;
  /** Log field holding a message's id: "mail_id". */
  readonly idField: string;
}

/**
 * A failure no retry can mend (the recipient no longer exists, say): the message is given
 * up at once, with this reason.
 */
export class Undeliverable extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'Undeliverable';
  }
}

export interface DeliveryQueueDeps<T> {
  readonly names: DeliveryNames;
  readonly outbox: Outbox;
  /** Messages are sealed in the outbox (delivery/outbox-seal.ts). */
  readonly seal: OutboxSeal<T>;
  /** One attempt: resolves when delivered; rejects (an Undeliverable to stop retrying) when not. */
  readonly deliver: (message: T, signal: AbortSignal) => Promise<void>;
  /** Why an attempt failed, for the reason a message is given up with ("smtp error"). */
  readonly failure: (err: unknown) => string;
  /** Fields of a message for its log lines (never anything secret). */
  readonly logFields: (message: T) => Record<string, unknown>;
  readonly onDelivered: (message: T, attempts: number) => void;
  readonly onFailed: (message: T, reason: string) => void;
  /** Each attempt's duration (real seconds) and whether it delivered: metrics. */
  readonly onAttempt?: AttemptObserver | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly retryDelaysMs: readonly number[];
  readonly sendTimeoutMs: number;
  readonly options?: DeliveryQueueOptions | undefined;
}

export type AttemptObserver = (seconds: number, delivered: boolean) => void;

interface Waiter {
  /** Resolve once nothing is in flight and nothing is due before this time. */
  readonly horizon: () => number;
  readonly resolve: () => void;
}

export class DeliveryQueue<T> {
  readonly #outbox: Outbox;
  readonly #seal: OutboxSeal<T>;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #deps: DeliveryQueueDeps<T>;
  readonly #names: DeliveryNames;
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
  /** The pump last found every slot taken: a slot freeing up must wake it. */
  #full = false;

  constructor(deps: DeliveryQueueDeps<T>) {
    const options = deps.options ?? {};
    this.#deps = deps;
    this.#names = deps.names;
    this.#outbox = deps.outbox;
    this.#seal = deps.seal;
    this.#clock = deps.clock;
    this.#logger = deps.logger;
    this.#delays = options.retryDelaysMs ?? deps.retryDelaysMs;
    this.#concurrency = options.concurrency ?? DELIVERY_CONCURRENCY;
    this.#sendTimeoutMs = options.sendTimeoutMs ?? deps.sendTimeoutMs;
    this.#leaseMs = options.leaseMs ?? 2 * this.#sendTimeoutMs;
    this.#pollMs = options.pollMs ?? 5_000;
  }

  get #stopped(): boolean {
    return this.#stopping.signal.aborted;
  }

  /** Stores the message in the outbox (rejects when the store cannot) and has it delivered. */
  protected async add(message: T): Promise<void> {
    if (this.#stopped && !this.#outbox.durable) throw new PosternError('unavailable', 'This server is shutting down. Please try again.');
    const id = randomUUID();
    const sealed = this.#seal.seal(id, message);
    const now = this.#clock.now();
    if (!this.#stopped && this.#sending.size < this.#concurrency) {
      // A slot is free: stored leased to this instance and attempted at once, as a claim
      // would have it, without the claim's round trip to the store.
      const entry: OutboxEntry = { id, sealed, attempts: 1, claim: randomUUID() };
      const stored = this.#outbox.add(id, sealed, now, { claim: entry.claim, until: now + this.#leaseMs });
      this.#begin(entry, stored);
      return stored;
    }
    await this.#outbox.add(id, sealed, now);
    if (this.#stopped) this.#logger.warn(`${this.#names.what} queued during shutdown; left in the outbox for another instance`, { [this.#names.idField]: id });
    this.#wake();
  }

  /** Delivers messages already waiting in the outbox (left by a stopped instance) and keeps watching it. */
  start(): void {
    this.#wake();
  }

  /** Resolves when nothing is in flight and the outbox is empty (tests). */
  idle(): Promise<void> {
    return this.#quiet(() => Number.POSITIVE_INFINITY);
  }

  /**
   * Shutdown: keeps delivering until nothing is in flight and nothing is due (with an
   * outbox in memory: nothing is due within `withinMs`, since what is left is lost), or for
   * `withinMs` at most; then stops. Messages not delivered by then stay in a durable outbox
   * for the next instance.
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
   * Stops at once: no new attempt starts, attempts in flight are aborted and their messages
   * put back (due now, for the next instance). With an outbox in memory every message left
   * is reported failed, since it is lost with the process.
   */
  async stop(): Promise<void> {
    if (!this.#stopped) {
      this.#stopping.abort(new Error('the queue is stopping'));
      clearTimeout(this.#timer);
    }
    // A claim under way may still start attempts: wait for it, then for every attempt.
    await this.#pumping;
    await Promise.allSettled(this.#sending.values());
    if (!this.#outbox.durable) await this.#giveUpEverything(`not ${this.#names.done} before the process stopped (outbox in memory)`);
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

  /** Claims due messages for every free slot, then sleeps until the next is due (at most pollMs). */
  async #pump(): Promise<void> {
    try {
      do {
        this.#pumpAgain = false;
        const now = this.#clock.now();
        const free = this.#concurrency - this.#sending.size;
        const claimed = free > 0 ? await this.#outbox.claim(now, now + this.#leaseMs, free) : undefined;
        for (const entry of claimed?.entries ?? []) this.#begin(entry);
        const next = claimed ? claimed.nextDue : await this.#outbox.nextDue();
        if (this.#outboxDown) this.#logger.info(`outbox reachable again; sending ${this.#names.what}`);
        this.#outboxDown = false;
        // Full: a slot freeing up wakes the pump, so only other instances' messages need a poll.
        this.#full = this.#sending.size >= this.#concurrency;
        this.#sleepUntil(this.#full ? undefined : next);
        this.#notify(next);
      } while (this.#pumpAgain && !this.#stopped);
    } catch (err) {
      if (!this.#outboxDown) this.#logger.error(`outbox unreachable; ${this.#names.what} waits in it until it is back`, { err: String(err) });
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

  /** Attempts `entry` once `stored` (its leased add) is done; nothing if that failed. */
  #begin(entry: OutboxEntry, stored?: Promise<void>): void {
    const attempt = (stored ? stored.then(() => this.#attempt(entry), () => false) : this.#attempt(entry)).then((gone) => {
      this.#sending.delete(entry.id);
      // A message gone from the outbox changes nothing the pump planned by: no look-up
      // unless it slept with every slot taken, or a caller waits to hear the queue is idle.
      if (!gone || this.#full || this.#waiters.length) this.#wake();
    });
    this.#sending.set(entry.id, attempt);
  }

  /** True when the message has left the outbox (delivered, given up or dropped). */
  async #attempt(entry: OutboxEntry): Promise<boolean> {
    if (this.#stopped) {
      // Claimed while stopping: back in the outbox untouched, due now.
      await this.#reschedule(entry, this.#clock.now());
      return false;
    }
    const message = this.#seal.open(entry.id, entry.sealed);
    if (message === undefined) {
      this.#logger.error('outbox message does not open (another KEY_ENCRYPTION_KEY, or altered); dropped', { [this.#names.idField]: entry.id });
      await this.#remove(entry.id);
      return true;
    }
    if (entry.attempts > this.#delays.length + 1) {
      // Every earlier claim ended without an outcome: the instances holding it died.
      await this.#giveUp(entry.id, message, `no outcome after ${entry.attempts - 1} attempts`);
      return true;
    }
    const started = performance.now();
    try {
      await this.#deps.deliver(message, AbortSignal.any([this.#stopping.signal, AbortSignal.timeout(this.#sendTimeoutMs)]));
    } catch (err) {
      this.#observe(started, false);
      await this.#failed(entry, message, err);
      return false;
    }
    this.#observe(started, true);
    // Out of the outbox before anything else, so nothing that follows can deliver it twice.
    await this.#remove(entry.id);
    this.#report(() => this.#deps.onDelivered(message, entry.attempts));
    return true;
  }

  async #failed(entry: OutboxEntry, message: T, err: unknown): Promise<void> {
    const fields = { [this.#names.idField]: entry.id, ...this.#deps.logFields(message), attempt: entry.attempts, err: String(err) };
    if (this.#stopped) {
      // Interrupted by shutdown: due again at once, for whichever instance is still running.
      this.#logger.warn(`${this.#names.what} interrupted by shutdown; left in the outbox`, fields);
      await this.#reschedule(entry, this.#clock.now());
      return;
    }
    if (err instanceof Undeliverable) {
      await this.#giveUp(entry.id, message, err.message);
      return;
    }
    const delay = this.#delays[entry.attempts - 1];
    if (delay === undefined) {
      await this.#giveUp(entry.id, message, `${this.#deps.failure(err)} after ${entry.attempts} attempts`, err);
      return;
    }
    const nextAt = this.#clock.now() + delay;
    this.#logger.warn(`${this.#names.what} not ${this.#names.done}; will retry`, { ...fields, next_attempt_at: new Date(nextAt).toISOString() });
    await this.#reschedule(entry, nextAt);
  }

  async #reschedule(entry: OutboxEntry, dueAt: number): Promise<void> {
    // False: the lease ran out during the attempt and another instance holds the message now.
    // Failing: the store is down; the lease runs out and the message is tried again then.
    await this.#outbox.reschedule(entry.id, entry.claim, dueAt).catch((err: unknown) => {
      this.#logger.error(`outbox unreachable; ${this.#names.short} retried when its lease runs out`, { [this.#names.idField]: entry.id, err: String(err) });
    });
  }

  async #remove(id: string): Promise<void> {
    await this.#outbox.remove(id).catch((err: unknown) => {
      this.#logger.error(`${this.#names.short} not removed from the outbox; it may be ${this.#names.done} again`, { [this.#names.idField]: id, err: String(err) });
    });
  }

  async #giveUp(id: string, message: T, reason: string, err?: unknown): Promise<void> {
    await this.#remove(id);
    this.#logger.error(`${this.#names.what} given up`, { [this.#names.idField]: id, ...this.#deps.logFields(message), reason, ...(err ? { err: String(err) } : {}) });
    this.#report(() => this.#deps.onFailed(message, reason));
  }

  /** Every message still in an in-memory outbox, given up (it would vanish with the process). */
  async #giveUpEverything(reason: string): Promise<void> {
    const all = Number.MAX_SAFE_INTEGER;
    for (const entry of (await this.#outbox.claim(all, all, all)).entries) {
      const message = this.#seal.open(entry.id, entry.sealed);
      if (message !== undefined) await this.#giveUp(entry.id, message, reason);
    }
  }

  #observe(started: number, delivered: boolean): void {
    const observer = this.#deps.onAttempt;
    if (observer) this.#report(() => observer((performance.now() - started) / 1000, delivered));
  }

  /** A throwing callback is logged; it never fails (or repeats) the delivery it reports. */
  #report(callback: () => void): void {
    try {
      callback();
    } catch (err) {
      this.#logger.error(`${this.#names.short} outcome callback failed`, { err: String(err) });
    }
  }
}
