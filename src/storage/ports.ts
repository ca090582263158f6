// The storage ports: everything Postern keeps, described without naming a database.
// Services depend on these interfaces; `src/storage/<driver>/` implements them. Every
// method takes the app id first so no record can be read or written outside its app.
// Times to live are in seconds and may be fractional: drivers keep millisecond precision.
import type { Language } from '../text/language.ts';

/** A document of an oidc-provider model (Session, Grant, AccessToken, …), opaque to us. */
export type OidcPayload = Record<string, unknown> & {
  grantId?: string;
  userCode?: string;
  uid?: string;
  accountId?: string;
  consumed?: unknown;
};

/** A Session document removed with its account: its id and payload as they were stored. */
export interface RemovedSession {
  readonly id: string;
  readonly payload: OidcPayload;
}

/**
 * What removing an account's documents removed: grants and tokens (everything but grants
 * and sessions) counted, and each session with its document, so that the apps signed in
 * through it can be told which of their sessions ended.
 */
export interface RemovedDocuments {
  grants: number;
  sessions: RemovedSession[];
  tokens: number;
}

export interface OidcStore {
  /** `expiresIn`: seconds to live; undefined keeps the document until destroyed. */
  upsert(appId: string, model: string, id: string, payload: OidcPayload, expiresIn: number | undefined): Promise<void>;
  find(appId: string, model: string, id: string): Promise<OidcPayload | undefined>;
  findByUid(appId: string, model: string, uid: string): Promise<OidcPayload | undefined>;
  findByUserCode(appId: string, model: string, userCode: string): Promise<OidcPayload | undefined>;
  /** Marks the document consumed; true only for the one caller that consumed it first. */
  consume(appId: string, model: string, id: string): Promise<boolean>;
  destroy(appId: string, model: string, id: string): Promise<void>;
  revokeByGrantId(appId: string, model: string, grantId: string): Promise<void>;
  /**
   * Removes every document (any model) that belongs to the account: grants, tokens,
   * sessions. A session written while this runs is either removed and returned, or kept.
   */
  destroyByAccount(appId: string, accountId: string): Promise<RemovedDocuments>;
}

/** A JWS algorithm an app signs with (src/keys/key-ring.ts has the list and the key for each). */
export type SigningAlg = 'ES512' | 'RS256' | 'ES256' | 'EdDSA';

export interface StoredKey {
  readonly kid: string;
  readonly alg: SigningAlg;
  readonly createdAt: number;
  readonly publicJwk: Record<string, unknown>;
  /** AES-256-GCM ciphertext of the private JWK, bound to the app id. */
  readonly encryptedPrivateJwk: string;
  /**
   * Rotation state (src/keys/key-ring.ts): `next` is published but never signs, `current`
   * signs, `previous` is published until `retireAt`. Absent on keys stored before
   * rotation existed: such a key is current.
   */
  readonly status?: 'next' | 'current' | 'previous';
  /** When the key became current (epoch ms); absent on next keys. */
  readonly activatedAt?: number;
  /** Longest id_token_ttl (seconds) in effect while the key was current. */
  readonly maxTokenTtl?: number;
  /** Previous keys only: when the last token the key signed has expired (epoch ms). */
  readonly retireAt?: number;
}

export interface AppSettings {
  readonly id_token_ttl: number;
  readonly magic_link_ttl: number;
  readonly refresh_token_idle_ttl: number;
  readonly refresh_token_max_ttl: number;
  /** Seconds a used refresh token may be used again (retries, two tabs); 0: never. */
  readonly refresh_token_reuse_interval?: number;
  /** Sign-in links per mailbox (all spellings of one inbox together) per 15 minutes. */
  readonly max_links_per_address?: number;
  /** Sign-in links per client IP (IPv4 address, IPv6 /64) per 15 minutes. */
  readonly max_links_per_ip?: number;
  /** Sign-in links per client network (IPv4 /24, IPv6 /48) per hour. */
  readonly max_links_per_network?: number;
  /** Sign-in links for the whole app per hour. */
  readonly max_links_per_app?: number;
}

export type TokenEndpointAuthMethod = 'none' | 'client_secret_basic' | 'client_secret_post';

/**
 * An API the app protects (RFC 8707 resource indicator): an authorization request that
 * names it gets a JWT access token (RFC 9068) whose `aud` is its identifier.
 */
export interface ApiResource {
  /** Server-assigned, `res_…`. */
  readonly id: string;
  /** The resource indicator, as registered: clients must send exactly this string. */
  readonly identifier: string;
  readonly name?: string;
  readonly scopes: readonly string[];
  /** Seconds an access token for this API is valid. */
  readonly accessTokenTtl: number;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface AppRecord {
  readonly id: string;
  readonly name: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris: readonly string[];
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  /** Encrypted client secret (confidential clients only); never returned after creation. */
  readonly encryptedClientSecret: string | undefined;
  readonly settings: AppSettings;
  /**
   * Whether the client must use PKCE; only a confidential client may leave it out (a
   * public client always must). Absent on records stored before the setting: true.
   */
  readonly requirePkce?: boolean;
  /** How the client's ID tokens are signed. Absent on records stored before the setting: ES512. */
  readonly idTokenSignedResponseAlg?: SigningAlg;
  /** How the client's userinfo responses are signed; absent: plain JSON. */
  readonly userinfoSignedResponseAlg?: SigningAlg;
  /** How the client's introspection responses are signed when asked for as a JWT (RFC 9701); absent: as its ID tokens are (client-options.ts). */
  readonly introspectionSignedResponseAlg?: SigningAlg;
  readonly keys: readonly StoredKey[];
  /** OpenID Connect Back-Channel Logout 1.0: where logout tokens are posted; absent: none are. */
  readonly backchannelLogoutUri?: string | undefined;
  /** Every logout token carries `sid` (the app relies on it); absent: false. */
  readonly backchannelLogoutSessionRequired?: boolean | undefined;
  /** OpenID Connect Core §4: where a third party sends a browser to start a sign-in at the app. */
  readonly initiateLoginUri?: string | undefined;
  /** APIs the app's clients may get JWT access tokens for; absent: none. */
  readonly resources?: readonly ApiResource[];
  /**
   * The default client's previous secret after a rotation, accepted until
   * `previousClientSecretExpiresAt` (epoch ms) so the app's back ends can switch over.
   */
  readonly previousEncryptedClientSecret?: string;
  readonly previousClientSecretExpiresAt?: number;
  /** The app's further clients (src/apps/clients.ts); absent: only the default client. */
  readonly clients?: readonly ClientRecord[];
  /** Initial access tokens for Dynamic Client Registration, as minted by the admin (hashed). */
  readonly initialAccessTokens?: readonly InitialAccessTokenRecord[];
  /** What the hosted pages and the sign-in mail show of the app (src/apps/branding.ts); each absent: not shown. */
  readonly logoUri?: string | undefined;
  /** Light-mode accent, lower-case #rrggbb, contrast-checked (src/text/colour.ts). */
  readonly primaryColor?: string | undefined;
  readonly clientUri?: string | undefined;
  readonly policyUri?: string | undefined;
  readonly tosUri?: string | undefined;
  readonly supportEmail?: string | undefined;
  readonly supportUri?: string | undefined;
  /** The language of pages and mail when neither the app's request nor the browser names one we have; absent: en. */
  readonly defaultLanguage?: Language | undefined;
  /** Dynamic Client Registration without an initial access token, under this policy; absent: off. */
  readonly openRegistration?: OpenRegistrationPolicy | undefined;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** What open registration may register (src/oidc/open-registration.ts). */
export interface OpenRegistrationPolicy {
  /** Hosts every redirect, post-logout and back-channel logout URI must be on. */
  readonly redirectUriHosts: readonly string[];
  /** Clients registered this way that may exist at once. */
  readonly maxClients: number;
  /** `public`: token_endpoint_auth_method none; `confidential`: a client secret. */
  readonly clientTypes: readonly ('public' | 'confidential')[];
}

/**
 * A client of an app beyond its default one, made by the admin API or by Dynamic Client
 * Registration (RFC 7591): one kind of record, which the engine finds through its adapter.
 * It lives in its app's record, so an app's clients are listed, written and deleted with
 * the app, and a client's new signing keys land in the same write as the client.
 */
export interface ClientRecord {
  readonly clientId: string;
  /** RFC 7591 metadata as the engine validated it, without the secret. */
  readonly metadata: Readonly<Record<string, unknown>>;
  /** AES-256-GCM ciphertext of the secret (confidential clients only), bound to app and client. */
  readonly encryptedClientSecret?: string;
  /** The secret before the last rotation, accepted until `previousSecretExpiresAt` (epoch ms). */
  readonly previousEncryptedSecret?: string;
  readonly previousSecretExpiresAt?: number;
  /** open_registration: registered without an initial access token, under the app's open registration policy. */
  readonly origin: 'admin' | 'registration' | 'open_registration';
  /** Hosts its redirect URIs must be on (policy of the initial access token it was registered with). */
  readonly redirectUriHosts?: readonly string[];
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** An initial access token (RFC 7591 §3): only its keyed hash is stored. */
export interface InitialAccessTokenRecord {
  readonly id: string;
  readonly tokenHash: string;
  readonly createdAt: number;
  /** Epoch ms. */
  readonly expiresAt: number;
  readonly maxUses: number;
  readonly uses: number;
  /** Policy: the hosts the redirect URIs of a client registered with it must be on. */
  readonly redirectUriHosts?: readonly string[];
}

/**
 * Where an app sorts in AppStore.page: its creation time, zero-padded so the strings sort
 * as the numbers do, and its id. Drivers compare cursors as strings (Redis sorts them as
 * members of one sorted set) or parse them back (MongoDB).
 */
export type AppCursor = string;

const CURSOR = /^(\d{16}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function appCursorOf(app: Pick<AppRecord, 'id' | 'createdAt'>): AppCursor {
  return `${String(Math.max(0, Math.floor(app.createdAt))).padStart(16, '0')}:${app.id}`;
}

/** The creation time and id a cursor names; undefined for a string that is not one. */
export function parseAppCursor(cursor: string): { createdAt: number; id: string } | undefined {
  const match = CURSOR.exec(cursor);
  return match ? { createdAt: Number(match[1]), id: match[2]! } : undefined;
}

export interface AppPage {
  readonly apps: AppRecord[];
  readonly next: AppCursor | undefined;
}

export interface AppStore {
  /** Fails with DuplicateError when the id exists or has a deletion mark (its purge would take the new app's data). */
  insert(app: AppRecord): Promise<void>;
  get(id: string): Promise<AppRecord | undefined>;
  /**
   * Up to `limit` apps, oldest first (by createdAt, then id), starting after `after` (the
   * `next` of the page before; undefined: from the first). `next` is undefined on the last
   * page. A page costs O(limit + log n) in every driver, so a pass over all apps (key
   * upkeep, the admin list) never holds them all at once, whatever their number.
   */
  page(limit: number, after?: AppCursor): Promise<AppPage>;
  /**
   * Replaces the record; false when the app does not exist (deleted meanwhile) or, when
   * `expectedUpdatedAt` is given, when the stored record's `updatedAt` differs from it
   * (changed meanwhile: compare-and-replace, atomic).
   */
  replace(app: AppRecord, expectedUpdatedAt?: number): Promise<boolean>;
  /**
   * Takes the app out of every read (get, page, replace) and leaves a deletion mark stamped
   * `at`, in one atomic step: the mark is what lets a purge that failed or met a late writer
   * be finished later (AppsService.markDeleted and purge, apps/deletion-sweeper.ts). False
   * when there is no such app or, when `expectedUpdatedAt` is given, when the stored
   * record's `updatedAt` differs from it (changed meanwhile: compare-and-delete, atomic).
   */
  delete(id: string, at: number, expectedUpdatedAt?: number): Promise<boolean>;
  /** The deletion mark of an app taken out by `delete` and not yet forgotten. */
  deletion(id: string): Promise<AppDeletion | undefined>;
  /**
   * Up to `limit` deletion marks, oldest first (marks of the same time in the order of
   * their ids); with `after`, the marks that come after that one in this order, whether it
   * is still marked or not: pages that together list every mark.
   */
  deletions(limit: number, after?: AppDeletion): Promise<AppDeletion[]>;
  /** Notes on the mark that a purge which began at `at` finished, unless a later-begun one is noted already (nothing when the mark is gone). */
  purged(id: string, at: number): Promise<void>;
  /** Drops a deletion mark (its app's data is purged for good); the id is then unknown. */
  forget(id: string): Promise<void>;
}

/** An app deleted whose data may still be being purged. */
export interface AppDeletion {
  readonly id: string;
  readonly deletedAt: number; // epoch ms
  /** When the latest purge that finished began (epoch ms); absent until one has. */
  readonly purgedAt?: number | undefined;
}

export interface AccountRecord {
  readonly email: string;
  readonly createdAt: number;
  readonly lastLoginAt: number;
}

export interface AccountStore {
  /** Creates the account at its first verified sign-in, or records another sign-in. */
  recordLogin(appId: string, email: string, at: number): Promise<AccountRecord>;
  find(appId: string, email: string): Promise<AccountRecord | undefined>;
}

export interface MagicLinkRecord {
  readonly hash: string; // SHA-256 of the link code; the code itself is never stored
  readonly shortCodeHash: string; // HMAC of the short code typed on another device (sign-in/magic-links.ts)
  readonly appId: string;
  readonly interactionUid: string;
  readonly email: string;
  readonly clientId: string;
  readonly createdAt: number; // epoch seconds
  readonly expiresAt: number; // epoch seconds
  readonly usedAt?: number;
  /** Short codes typed for this link, right or wrong: each is counted before it is compared. */
  readonly attempts?: number;
}

/** What `useCurrent` found; `superseded` is only told for a link of the attempt named. */
export interface LinkUse {
  readonly record: MagicLinkRecord;
  readonly superseded: boolean;
  readonly used: boolean;
}

export interface MagicLinkStore {
  /**
   * Keeps the record for `retainSeconds` (beyond expiry, so "expired" can be told from
   * "unknown") and makes it the latest link of its login attempt.
   */
  save(record: MagicLinkRecord, retainSeconds: number): Promise<void>;
  find(appId: string, hash: string): Promise<MagicLinkRecord | undefined>;
  /**
   * A link, and whether a later link of its login attempt replaced it (`superseded`);
   * undefined when missing. What opening a link needs, in one look-up.
   */
  findWithSuccessor(appId: string, hash: string): Promise<{ readonly record: MagicLinkRecord; readonly superseded: boolean } | undefined>;
  /** The link most recently saved for a login attempt. */
  latestForAttempt(appId: string, interactionUid: string): Promise<MagicLinkRecord | undefined>;
  /**
   * Uses the link up (sets usedAt to `at`) only while it is current: a link of login attempt
   * `interactionUid`, unused, expiring after `at` and not `superseded` by a later link of its
   * attempt. Atomic: among concurrent callers at most one gets `used`. Returns the record as
   * it was before, or undefined if missing. Confirming a link is this one operation.
   */
  useCurrent(appId: string, hash: string, interactionUid: string, at: number): Promise<LinkUse | undefined>;
  /**
   * Takes one of the `max` short-code attempts of a link: counts it only while fewer than
   * `max` were taken. Returns its number (1 to `max`), or 0 when none is left or the record
   * is gone. Atomic, so no burst of concurrent attempts gets more than `max` compared.
   */
  takeAttempt(appId: string, hash: string, max: number): Promise<number>;
}

/** One stored authentication event (see src/audit.ts); never a code, token or secret. */
export interface AuditRecord {
  readonly id: string;
  readonly at: number; // epoch milliseconds
  readonly appId: string;
  /**
   * Where the record is kept: the instance's own trail (INSTANCE_TRAIL) for an event that
   * must outlive its app (its deletion), else the app's trail (absent).
   */
  readonly trail?: typeof INSTANCE_TRAIL | undefined;
  readonly type: string;
  readonly outcome: 'success' | 'failure';
  readonly [field: string]: unknown;
}

export interface AuditQuery {
  readonly type?: string | undefined;
  readonly email?: string | undefined;
  readonly from?: number | undefined; // epoch ms, inclusive
  readonly to?: number | undefined; // epoch ms, exclusive
  readonly limit: number;
  /** Return only records older than this one (paging, newest first). */
  readonly before?: { at: number; id: string } | undefined;
}

/**
 * The trail of events about the instance rather than kept with an app: not an app id (those
 * are UUIDs), and never purged with an app.
 */
export const INSTANCE_TRAIL = 'instance';

/** The trail a record is kept in: the instance's, or its app's. */
export function trailOf(record: AuditRecord): string {
  return record.trail ?? record.appId;
}

export interface AuditStore {
  /** Keeps the record in its trail (trailOf) for `retainSeconds`. */
  append(record: AuditRecord, retainSeconds: number): Promise<void>;
  /** A trail's records (an app id or INSTANCE_TRAIL), newest first. */
  query(trail: string, query: AuditQuery): Promise<AuditRecord[]>;
}

/** Tells every instance that an app changed, so cached Providers are rebuilt. */
export interface AppChangeBus {
  publish(appId: string): Promise<void>;
  subscribe(listener: AppChangeListener): void;
}

export interface AppChangeListener {
  /** The app changed: whatever is cached of it is stale. */
  changed(appId: string): void;
  /** Notices may have been lost (the bus was disconnected and is back): anything cached may be stale. */
  missed(): void;
}

/**
 * Hits of one request that count together, of any limiters: a hit asked for as the group's
 * `last` counts only when every hit of the group asked for before it was within its limit
 * (otherwise it counts nothing and answers true). On Redis, a group asked for in one turn
 * of the event loop is one script call, the `last` hit included.
 */
export class LimitGroup {
  /** The answers of the group's hits so far, in the order they were asked for. */
  readonly answers: Promise<boolean>[] = [];

  /** The `last` hit: counted by `count` only when every hit asked for before it was within its limit. */
  async afterTheOthers(count: () => Promise<boolean>): Promise<boolean> {
    return (await Promise.all(this.answers)).every(Boolean) ? count() : true;
  }
}

/** Where a hit stands in its group. */
export interface GroupedHit {
  readonly group: LimitGroup;
  readonly last?: boolean;
}

/** A fixed-window counter in the configured store (rate-limiter-flexible underneath). */
export interface RateLimiter {
  /** Counts one hit for `key`; false once more than the limit arrived in the window. */
  hit(key: string, grouped?: GroupedHit): Promise<boolean>;
  /** True when `key` has used its whole allowance in the current window (counts nothing). */
  exhausted(key: string): Promise<boolean>;
  /**
   * Takes back one hit of `key` that turned out not to be what the limit counts (a short
   * code that was right). Hitting first and refunding after keeps the limit's bound on a
   * burst: every request in flight holds its hit until it is known.
   */
  refund(key: string): Promise<void>;
}

/** One message handed out by `Outbox.claim`. */
export interface OutboxEntry {
  readonly id: string;
  /** What the queue stored: sealed, opaque to the store. */
  readonly sealed: string;
  /** Claims so far, this one included (a claimer that died counts too). */
  readonly attempts: number;
  /** Names this claim: only its holder may reschedule the message. */
  readonly claim: string;
}

/** A message's claim at the moment it is added. */
export interface OutboxLease {
  readonly claim: string;
  readonly until: number;
}

/** What one claim took, and `nextDue()` right after it. */
export interface OutboxClaim {
  readonly entries: readonly OutboxEntry[];
  readonly nextDue: number | undefined;
}

/**
 * Messages waiting to be delivered (sign-in mail, back-channel logout notifications),
 * shared by every instance; each kind has an outbox of its own. A message is due at a
 * time (epoch ms); claiming a due message leases it (makes it due again at the lease end),
 * atomically, so one instance delivers it and, if that instance dies, another picks it up
 * after the lease.
 */
export interface Outbox {
  /** False when the outbox lives in this process only (memory driver): lost on exit. */
  readonly durable: boolean;
  /**
   * Stores a message due at `dueAt`; with `lease`, stored already claimed by `lease.claim`
   * until `lease.until` (its first attempt counted), as if claimed at once: the adding
   * instance sends it without a claim of its own.
   */
  add(id: string, sealed: string, dueAt: number, lease?: OutboxLease): Promise<void>;
  /**
   * Up to `limit` messages due at `now`, earliest first, each leased until `leaseUntil`; and
   * when the earliest message is due after that (what the queue sleeps until), in the same
   * look-up.
   */
  claim(now: number, leaseUntil: number, limit: number): Promise<OutboxClaim>;
  /** Makes the message due at `dueAt`; false (and nothing changed) unless `claim` still holds it. */
  reschedule(id: string, claim: string, dueAt: number): Promise<boolean>;
  /** Deletes the message (sent or given up). */
  remove(id: string): Promise<void>;
  /** When the earliest message is due (a lease end counts); undefined when empty. */
  nextDue(): Promise<number | undefined>;
  /** How many messages are waiting, claimed ones included (metrics). */
  size(): Promise<number>;
}

/**
 * Told of every command sent to a network store (Redis, MongoDB): metrics. Called on the
 * hot path of every request, so it must be cheap, and it must never throw.
 */
export interface StoreObserver {
  /** `port` names the store interface (apps, oidc, outbox, ...); `failed`: unreachable, timed out, or a driver error. */
  command(store: string, port: string, seconds: number, failed: boolean): void;
}

/**
 * How long a readiness ping (Stores.ping) may take. Load balancers give a probe about a
 * second, so a stalled store is reported before that, however long the store deadline is.
 */
export const PING_DEADLINE_MS = 800;

export interface Stores {
  /** Which backing services hold the data, e.g. "memory" or "redis+mongodb". */
  readonly kind: string;
  readonly apps: AppStore;
  readonly accounts: AccountStore;
  readonly oidc: OidcStore;
  readonly magicLinks: MagicLinkStore;
  readonly audit: AuditStore;
  readonly changes: AppChangeBus;
  /** Sign-in mail waiting to be sent. */
  readonly outbox: Outbox;
  /** Back-channel logout notifications waiting to be delivered to apps. */
  readonly logoutOutbox: Outbox;
  /** A limiter allowing `points` hits per `durationSeconds` window per key, named `name`. */
  rateLimiter(name: string, points: number, durationSeconds: number): RateLimiter;
  /**
   * Removes everything that belongs to an app except its record or deletion mark (and the
   * instance trail's events about it). Safe to repeat, and to run on several instances at once.
   */
  purgeApp(appId: string): Promise<void>;
  /**
   * Rejects with StoreUnavailableError naming the first unreachable backing service, within
   * PING_DEADLINE_MS: the readiness probe. It never waits behind the application's commands.
   */
  ping(): Promise<void>;
  /**
   * The backing service known to be unreachable without asking it (its command connection
   * is down and being made again), or undefined. Read with every /readyz: the probe's last
   * ping may predate a connection that has just dropped.
   */
  unreachable(): string | undefined;
  /**
   * Hands every later command's answer over through `resume` (the last one set; undefined: at
   * once): at once when it returns undefined, else when its promise settles. Load shedding's turns: one socket read
   * can answer a hundred commands, whose callers' work must not all run in that one callback.
   * Failures and the readiness ping are handed over at once; the memory store answers each
   * caller in the turn that asked and has nothing to pace.
   */
  pace(resume: (() => Promise<void> | undefined) | undefined): void;
  /** Reports every later command to `observer` (the last one set); the memory store has none to report. */
  observe(observer: StoreObserver): void;
  close(): Promise<void>;
}

export class DuplicateError extends Error {
  constructor(what: string) {
    super(`${what} already exists`);
    this.name = 'DuplicateError';
  }
}

/** A backing service (Redis, MongoDB) cannot be reached; maps to 503 temporarily_unavailable. */
export class StoreUnavailableError extends Error {
  readonly store: string;
  constructor(store: string, cause?: unknown, message = `${store} is unavailable`) {
    super(message, { cause });
    this.name = 'StoreUnavailableError';
    this.store = store;
  }
}

/**
 * The store answered, and refused what Postern needs of it (a wrong password, an ACL user
 * without the rights, a read-only replica, a conflicting index): waiting will not mend it,
 * its settings must change. Start-up says so rather than "unavailable".
 */
export class StoreRefusedError extends StoreUnavailableError {
  constructor(store: string, cause: unknown) {
    super(store, cause, `${store} refuses what Postern needs`);
    this.name = 'StoreRefusedError';
  }
}

/**
 * A removal across two stores that failed after the first had removed its part: `removed`
 * is that part, so what follows from it (back-channel logout notices of the sessions already
 * gone) is not lost, while the caller still answers as for the store failure it is (503)
 * and its retry removes the rest.
 */
export class IncompleteRemovalError extends StoreUnavailableError {
  readonly removed: RemovedDocuments;
  constructor(removed: RemovedDocuments, failure: StoreUnavailableError) {
    super(failure.store, failure.cause);
    this.name = 'IncompleteRemovalError';
    this.removed = removed;
  }
}
