// Readiness from a background probe. A /readyz that pinged the stores itself waited for the
// event loop twice (to send the ping, then to read its answer), each time behind whatever
// else the loop had to do: under load it was a store round trip slower than /healthz,
// just when a load balancer's deadline matters. Instead one ping at a time runs in the
// background, every PROBE_INTERVAL_MS, and /readyz reads its last result without waiting:
// as cheap as /healthz, and a flood of probes costs the stores nothing more.
//
// The price is freshness, and it is bounded. The stores are not ready when the last ping
// failed, when a ping has been outstanding longer than the ping deadline (a frozen store:
// this needs no answer to notice), or when the last success is older than READINESS_BOUND_MS
// (a probe that stopped running, or a loop held up for that long). So a store that freezes
// or dies makes /readyz 503 within READINESS_BOUND_MS, and one that answers again makes it
// 200 with the first ping that succeeds, PROBE_INTERVAL_MS after the last failure.
//
// Time is the monotonic performance clock, not the injected Clock: these are real
// durations of real I/O (as for the lag monitor), which a test clock cannot make pass.
import { performance } from 'node:perf_hooks';
import { within } from '../clock.ts';
import { PING_DEADLINE_MS, StoreUnavailableError } from '../storage/ports.ts';

/** How often the stores are pinged, counted from the end of the previous ping. */
export const PROBE_INTERVAL_MS = 100;
/**
 * The longest a freeze or an outage goes unreported: a ping just ended, the next waits out
 * its deadline. A last success older than this is not ready, whatever else is known.
 */
export const READINESS_BOUND_MS = PROBE_INTERVAL_MS + PING_DEADLINE_MS;

export type Readiness = { readonly ready: true } | { readonly ready: false; readonly unavailable: string };

const READY: Readiness = { ready: true };

export interface ReadinessProbeDeps {
  /** Rejects with StoreUnavailableError naming the unreachable store (Stores.ping). */
  readonly ping: () => Promise<void>;
  /** A store known down without asking it (Stores.unreachable), read with every result. */
  readonly unreachable: () => string | undefined;
  /** Named when a ping fails without naming its store, or takes too long. */
  readonly storage: string;
}

export class ReadinessProbe {
  readonly #deps: ReadinessProbeDeps;
  /** The last ping's outcome; undefined until the first one settles. */
  #last: { readonly at: number; readonly unavailable?: string } | undefined;
  /** When the ping under way was sent; undefined between pings. */
  #pingSentAt: number | undefined;
  /** The first ping, which the first reads wait for; undefined until something reads. */
  #first: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #next = () => void this.#ping();

  constructor(deps: ReadinessProbeDeps) {
    this.#deps = deps;
  }

  /**
   * Whether every store answers, without waiting once the probe runs. The first read starts
   * the probe (nothing pings stores nobody asks about) and waits for its first ping.
   */
  current(): Readiness | Promise<Readiness> {
    if (this.#last === undefined) {
      this.#first ??= this.#ping();
      return this.#first.then(() => this.#read());
    }
    return this.#read();
  }

  /** Stops pinging (shutdown, before the stores close); reads from now on are not ready. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  #read(): Readiness {
    const last = this.#last;
    const now = performance.now();
    if (this.#closed || !last) return { ready: false, unavailable: this.#deps.storage };
    // A connection that dropped since the last ping: its commands fail now, whatever the ping said.
    const down = this.#deps.unreachable();
    if (down !== undefined) return { ready: false, unavailable: down };
    if (this.#pingSentAt !== undefined && now - this.#pingSentAt > PING_DEADLINE_MS) return { ready: false, unavailable: this.#deps.storage };
    if (last.unavailable !== undefined) return { ready: false, unavailable: last.unavailable };
    return now - last.at > READINESS_BOUND_MS ? { ready: false, unavailable: this.#deps.storage } : READY;
  }

  async #ping(): Promise<void> {
    if (this.#closed) return;
    const { ping, storage } = this.#deps;
    this.#pingSentAt = performance.now();
    try {
      await within(PING_DEADLINE_MS, ping(), () => new StoreUnavailableError(storage));
      this.#last = { at: performance.now() };
    } catch (err) {
      this.#last = { at: performance.now(), unavailable: err instanceof StoreUnavailableError ? err.store : storage };
    }
    this.#pingSentAt = undefined;
    if (this.#closed) return;
    this.#timer = setTimeout(this.#next, PROBE_INTERVAL_MS);
    this.#timer.unref(); // probing never keeps the process alive
  }
}
