// Turns for expensive requests. A burst of requests arrives within one turn of the event
// loop, and each request runs synchronously, through its middleware and handler up to its
// first real I/O, before the next is looked at: a request behind 1,500 others (a
// load balancer's /healthz) waits for all of that work, however cheap each piece is.
//
// So an expensive request does its work at once only while the turn it arrives in has used
// less than `budgetMs` (measured by the clock: parsing, middleware and whatever else ran);
// otherwise it waits in a queue, in order of arrival, before any of its work, body reading
// included. The queue is drained in later turns, from the event loop's check phase
// (setImmediate), each turn again up to `budgetMs`: between two turns the loop polls its
// sockets, so cheap requests (/healthz, pages, discovery) are answered between turns rather
// than behind the whole burst. Nothing is counted by requests: a request whose body is slow
// to come, or a kept-alive connection, holds no place once it has started.
//
// Which requests are refused (`shed`) rather than started, as in CoDel: by the delay of the
// queue itself. While nothing waits, the event loop's lag is the only signal, and a request
// arriving while it is beyond the limit is refused at once. Once requests wait, their wait is
// the signal: a request is refused when it has waited longer than `maxWaitMs` (the work in
// front of it exceeds what the process does in that time), and a new one is refused at once,
// without joining the queue, while the queue's head has waited that long. The lag no longer
// counts for them: the burst's own arrival (parsing a thousand requests in one turn) shows as
// lag that the monitor remembers for a second, and would refuse the whole burst for the cost
// of reading it; any lag since a request arrived is in its wait already. Everything is
// refused once the server is shutting down. Refusing costs a little too (a 503 is written),
// so refusals are drained by the same budget.
//
// Work already admitted takes turns too (`resume`, called as each store command returns:
// Stores.pace, in storage/guard.ts). One read from Redis can carry the answers of a hundred commands, and
// their callers' continuations (signing, sealing, writing responses) would otherwise all
// run in the callback that read it, tens of milliseconds in which nothing else is answered.
// A continuation goes on at once while the turn has used less than the budget; otherwise it
// waits for a later turn, ahead of the requests waiting to start (finishing work frees
// what it holds), and is never refused: its request has begun.
import { performance } from 'node:perf_hooks';
import type { LagSource } from './event-loop-lag.ts';

export type Admission = 'go' | 'shed';

export interface TurnOptions {
  /** Synchronous work, in milliseconds, expensive requests may start per turn of the event loop. */
  readonly budgetMs: number;
  /** Longest wait in the queue before a request is refused. */
  readonly maxWaitMs: number;
  /** Lag beyond which a request arriving while nothing waits is refused. */
  readonly maxLagMs: number;
  readonly lag: LagSource;
}

interface Waiting {
  readonly arrivedAt: number;
  readonly answer: (admission: Admission) => void;
}

/** First in, first out, without shifting the array for each item taken. */
class Fifo<T> {
  readonly #items: T[] = [];
  /** Index of the head (the array is compacted now and then). */
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  /** The item `take` would return; undefined when empty. */
  peek(): T | undefined {
    return this.#items[this.#head];
  }

  push(item: T): void {
    this.#items.push(item);
  }

  take(): T {
    const next = this.#items[this.#head]!;
    this.#head++;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    return next;
  }
}

/**
 * At most this many queue steps per turn: each step is one setImmediate callback, after
 * which Node runs the microtasks the step started, so each step's clock reading includes
 * the work of the request before it.
 */
const STEPS_PER_TURN = 256;

export class Turns {
  readonly #options: TurnOptions;
  readonly #queue = new Fifo<Waiting>();
  /** Admitted work waiting to go on (resume). */
  readonly #resumes = new Fifo<() => void>();
  /** When the current turn's first expensive request arrived; undefined between turns. */
  #arrivalTurnStartedAt: number | undefined;
  /** When the current drain turn's first step ran. */
  #drainTurnStartedAt: number | undefined;
  /** Drain steps scheduled and not yet run. */
  #steps = 0;
  #closed = false;
  readonly #endArrivalTurn = () => {
    this.#arrivalTurnStartedAt = undefined;
  };
  readonly #step = () => this.#drainStep();

  constructor(options: TurnOptions) {
    this.#options = options;
  }

  /** Requests waiting for their turn. */
  get waiting(): number {
    return this.#queue.size;
  }

  /**
   * Whether an expensive request that has just arrived may start its work or is refused:
   * at once (no promise) when it is the turn's to take, later when it has to wait.
   */
  admit(): Admission | Promise<Admission> {
    if (this.#closed) return 'shed';
    const now = performance.now();
    const head = this.#queue.peek();
    if (head) {
      // A standing queue: joining it would only mean a later refusal.
      if (now - head.arrivedAt > this.#options.maxWaitMs) return 'shed';
    } else {
      // Read first: the turn's clock starts with its first expensive request, refused or not.
      const used = this.#arrivalTurnUsed(now);
      if (this.#options.lag.lagMs() > this.#options.maxLagMs) return 'shed';
      if (used < this.#options.budgetMs) return 'go';
    }
    return new Promise((answer) => {
      this.#queue.push({ arrivedAt: now, answer });
      this.#scheduleDrain();
    });
  }

  /**
   * Whether admitted work may go on now (undefined: at once, no promise) or in a later turn
   * (the promise resolves then): called between two steps of a request's work.
   */
  resume(): Promise<void> | undefined {
    if (this.#resumes.size === 0 && this.#arrivalTurnUsed(performance.now()) < this.#options.budgetMs) return undefined;
    return new Promise((resume) => {
      this.#resumes.push(resume);
      this.#scheduleDrain();
    });
  }

  /** Refuses everything waiting and everything that arrives from now on (shutdown). */
  close(): void {
    this.#closed = true;
    while (this.waiting) this.#queue.take().answer('shed');
  }

  /** Milliseconds since the first expensive request of this turn arrived (0 for the first). */
  #arrivalTurnUsed(now: number): number {
    if (this.#arrivalTurnStartedAt === undefined) {
      this.#arrivalTurnStartedAt = now;
      // The turn ends at the loop's next check phase.
      setImmediate(this.#endArrivalTurn);
    }
    return now - this.#arrivalTurnStartedAt;
  }

  #scheduleDrain(): void {
    if (this.#steps) return;
    this.#steps = Math.min(this.#resumes.size + this.waiting, STEPS_PER_TURN);
    this.#drainTurnStartedAt = undefined;
    for (let i = 0; i < this.#steps; i++) setImmediate(this.#step);
  }

  #drainStep(): void {
    this.#steps--;
    const now = performance.now();
    const first = this.#drainTurnStartedAt === undefined;
    this.#drainTurnStartedAt ??= now;
    // The first step of a turn always takes one, so the queues move whatever the load;
    // admitted work first.
    if (first || now - this.#drainTurnStartedAt < this.#options.budgetMs) {
      if (this.#resumes.size) this.#resumes.take()();
      else if (this.waiting) {
        const next = this.#queue.take();
        next.answer(now - next.arrivedAt > this.#options.maxWaitMs ? 'shed' : 'go');
      }
    }
    // The last step of a turn schedules the next turn's, which run after the loop has polled.
    if (this.#steps === 0 && (this.#resumes.size || this.waiting)) this.#scheduleDrain();
  }
}
