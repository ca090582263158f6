// The Prometheus metrics of one server, in a registry of its own (never prom-client's
// global one: several servers may run in one process, as the tests start them). Every
// label value comes from a closed set Postern chose (route templates, step and grant type
// names, store and limiter names) or is an app id, of at most `appLabels` apps per process
// (the rest count under "other"): never an e-mail address, a token, a code or a path as the
// client wrote it.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AuditEvent } from '../audit.ts';
import { within } from '../clock.ts';
import type { Es512Signer } from '../keys/native-signer.ts';
import type { Outbox, RateLimiter, StoreObserver } from '../storage/ports.ts';
import { completesSignIn, funnelStep, givenUpQueue } from './audit-metrics.ts';
import { SeriesHistogram } from './series-histogram.ts';

/** The queues of the delivery mechanism, as labels. */
export type QueueName = 'mail' | 'backchannel_logout';

/** How far behind the event loop is (src/http/event-loop-lag.ts). */
export interface LagReading {
  lagMs(): number;
}

export interface MetricsDeps {
  readonly lag: LagReading;
  /** The outboxes whose depth a scrape reports. */
  readonly outboxes: Readonly<Partial<Record<QueueName, Outbox>>>;
  /** How many apps get series of their own (METRICS_APP_LABELS; default 1,000). */
  readonly appLabels?: number;
}

/** The app_id of the apps beyond the limit: app ids are UUIDs, so it names no app. */
export const OTHER_APPS = 'other';

/** Methods a client may send that get their own label value; the rest are "other". */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The grant types the engine may issue tokens for; anything else would be "other". */
const GRANT_TYPES = new Set(['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:device_code', 'urn:openid:params:grant-type:ciba']);

/** A scrape reports the outbox depth only if the store answers within this (a stalled store never stalls a scrape). */
const OUTBOX_DEADLINE_MS = 500;

// Request latencies from a cached discovery document to a slow store-bound sign-in step.
const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const DELIVERY_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Metrics implements StoreObserver {
  readonly registry = new Registry();
  readonly #http: SeriesHistogram<'method' | 'route' | 'status'>;
  readonly #signIn: Counter<'app_id' | 'step'>;
  readonly #tokens: Counter<'app_id' | 'grant_type'>;
  readonly #replays: Counter<'app_id'>;
  readonly #revocations: Counter<'app_id' | 'kind'>;
  readonly #deliveryAttempts: Histogram<'queue' | 'outcome'>;
  readonly #givenUp: Counter<'queue'>;
  readonly #store: SeriesHistogram<'store' | 'port'>;
  readonly #storeErrors: Counter<'store' | 'port'>;
  readonly #rateLimited: Counter<'limiter'>;
  readonly #appLabels: number;
  readonly #labelledApps = new Set<string>();

  constructor(deps: MetricsDeps) {
    const registers = [this.registry];
    this.#appLabels = deps.appLabels ?? 1000;
    // Observed on every request and store command: series found without hashing labels.
    this.#http = new SeriesHistogram({
      name: 'postern_http_request_duration_seconds',
      help: 'HTTP requests by method, route template (engine routes as oidc:<name>; unmatched for paths no route serves) and status code, with their duration.',
      labelNames: ['method', 'route', 'status'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.#signIn = new Counter({
      name: 'postern_sign_in_steps_total',
      help: 'Steps of the hosted sign-in per app, counted from the audit events (docs/operations.md lists the steps).',
      labelNames: ['app_id', 'step'],
      registers,
    });
    this.#tokens = new Counter({ name: 'postern_tokens_issued_total', help: 'Successful token endpoint grants per app and grant type.', labelNames: ['app_id', 'grant_type'], registers });
    this.#replays = new Counter({
      name: 'postern_refresh_token_replays_total',
      help: 'Spent refresh tokens presented again after the reuse window (the grant is revoked).',
      labelNames: ['app_id'],
      registers,
    });
    this.#revocations = new Counter({
      name: 'postern_revocations_total',
      help: 'Revocations per app: kind token (RFC 7009 revocation endpoint) or grant (a grant revoked by the engine).',
      labelNames: ['app_id', 'kind'],
      registers,
    });
    this.#deliveryAttempts = new Histogram({
      name: 'postern_delivery_attempt_duration_seconds',
      help: 'Delivery attempts (sign-in mail over SMTP, back-channel logout posts) by queue and outcome (delivered or failed), with their duration.',
      labelNames: ['queue', 'outcome'],
      buckets: DELIVERY_BUCKETS,
      registers,
    });
    this.#givenUp = new Counter({ name: 'postern_deliveries_given_up_total', help: 'Messages given up (after their last retry, or never stored in the outbox), by queue.', labelNames: ['queue'], registers });
    const outboxes = deps.outboxes;
    new Gauge({
      name: 'postern_outbox_depth',
      help: 'Messages waiting in the shared outbox (all instances see the same outbox: aggregate with max, not sum). Absent while the store does not answer.',
      labelNames: ['queue'],
      registers,
      async collect() {
        this.reset();
        await Promise.all(
          Object.entries(outboxes).map(async ([queue, outbox]) => {
            if (!outbox) return;
            const depth = await within(OUTBOX_DEADLINE_MS, outbox.size(), () => new Error('no answer in time')).catch(() => undefined);
            if (depth !== undefined) this.set({ queue }, depth);
          }),
        );
      },
    });
    this.#store = new SeriesHistogram({
      name: 'postern_store_command_duration_seconds',
      help: 'Commands sent to Redis or MongoDB by store and port (apps, oidc, outbox, rate_limits, ...), with their duration. The memory store reports none.',
      labelNames: ['store', 'port'],
      buckets: STORE_BUCKETS,
      registers,
    });
    this.#storeErrors = new Counter({
      name: 'postern_store_errors_total',
      help: 'Store commands that failed (unreachable, timed out, driver error) by store and port.',
      labelNames: ['store', 'port'],
      registers,
    });
    this.#rateLimited = new Counter({ name: 'postern_rate_limited_total', help: 'Requests a rate limiter refused, by limiter.', labelNames: ['limiter'], registers });
    const lag = deps.lag;
    new Gauge({
      name: 'postern_event_loop_lag_seconds',
      help: 'The longest event-loop stall of the last second, as load shedding reads it (MAX_EVENT_LOOP_LAG_MS).',
      registers,
      collect() {
        this.set(lag.lagMs() / 1000);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** The exposition, in Prometheus text format. */
  async render(): Promise<{ readonly contentType: string; readonly body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  request(method: string, route: string, status: number, seconds: number): void {
    this.#http.series(METHODS.has(method) ? method : 'other', route, String(status)).observe(seconds);
  }

  /** Every audit event passes here: the sign-in funnel, revocations and given-up deliveries are counted from them. */
  audited(event: AuditEvent): void {
    const step = funnelStep(event);
    if (step) this.#signIn.inc({ app_id: this.#app(event.appId), step });
    if (completesSignIn(event)) this.#signIn.inc({ app_id: this.#app(event.appId), step: 'signed_in' });
    if (event.type === 'token.revoked' && event.outcome === 'success') this.#revocations.inc({ app_id: this.#app(event.appId), kind: 'token' });
    if (event.type === 'grant.revoked') this.#revocations.inc({ app_id: this.#app(event.appId), kind: 'grant' });
    const queue = givenUpQueue(event);
    if (queue) this.#givenUp.inc({ queue });
  }

  tokenIssued(appId: string, grantType: string): void {
    this.#tokens.inc({ app_id: this.#app(appId), grant_type: GRANT_TYPES.has(grantType) ? grantType : 'other' });
  }

  refreshReplayed(appId: string): void {
    this.#replays.inc({ app_id: this.#app(appId) });
  }

  /**
   * The app's label value. Every series of an app lives as long as the process (a counter
   * must not vanish and restart), so the first `appLabels` apps this process counts get
   * their own and the rest share "other": with 100,000 apps the exposition and the memory
   * behind it stay bounded, and the totals stay exact.
   */
  #app(appId: string): string {
    if (this.#labelledApps.has(appId)) return appId;
    if (this.#labelledApps.size >= this.#appLabels) return OTHER_APPS;
    this.#labelledApps.add(appId);
    return appId;
  }

  /** The observer of one queue's attempts. */
  delivery(queue: QueueName): (seconds: number, delivered: boolean) => void {
    return (seconds, delivered) => this.#deliveryAttempts.observe({ queue, outcome: delivered ? 'delivered' : 'failed' }, seconds);
  }

  /** StoreObserver: called by the store guard for every command (the hot path: no allocation beyond the labels). */
  command(store: string, port: string, seconds: number, failed: boolean): void {
    this.#store.series(store, port).observe(seconds);
    if (failed) this.#storeErrors.inc({ store, port });
  }

  /**
   * Which ES512 signer the process runs (src/keys/native-signer.ts) and, read from the
   * addon at each scrape, how many signatures the native one has made: the operator's way
   * to see the fallback, and that tokens really come from the native signer.
   */
  es512Signer(signer: Es512Signer): void {
    const registers = [this.registry];
    const help = '1 for the ES512 signer this process uses: native (the system libcrypto) or node (the fallback).';
    new Gauge({ name: 'postern_es512_signer', help, labelNames: ['signer'], registers }).set({ signer: signer.kind }, 1);
    new Counter({
      name: 'postern_es512_native_signatures_total',
      help: 'ES512 signatures the native signer made in this process (0 under the fallback).',
      registers,
      collect() {
        this.reset();
        this.inc(signer.kind === 'native' ? signer.signatures() : 0);
      },
    });
  }

  /**
   * The store's limiter factory, with every refusal counted under the limiter's name: a
   * hit over the limit, and an `exhausted` check that says yes (the admin gate refuses an
   * address that used up its allowance before it even looks at the token).
   */
  countRefusals(factory: (name: string, points: number, durationSeconds: number) => RateLimiter) {
    return (name: string, points: number, durationSeconds: number): RateLimiter => {
      const limiter = factory(name, points, durationSeconds);
      const counted = (refused: boolean) => {
        if (refused) this.#rateLimited.inc({ limiter: name });
        return refused;
      };
      return {
        hit: async (key, grouped) => !counted(!(await limiter.hit(key, grouped))),
        exhausted: async (key) => counted(await limiter.exhausted(key)),
        refund: (key) => limiter.refund(key),
      };
    };
  }
}
