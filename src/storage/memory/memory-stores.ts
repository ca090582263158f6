// The zero-set-up store: everything in this process, gone on restart. The default when
// neither REDIS_URL nor MONGODB_URI is set; one instance only. Nothing here can become
// unreachable, so unlike the Redis and MongoDB drivers it needs no guard.
import { systemClock, type Clock } from '../../clock.ts';
import { matchesAudit, newestFirst } from '../audit-filter.ts';
import { supersededIn } from '../link-successor.ts';
import { LocalChangeBus } from '../local-change-bus.ts';
import { appCursorOf, DuplicateError, trailOf, type AppCursor } from '../ports.ts';
import type {
  AppDeletion,
  AuditQuery,
  AuditRecord,
  AuditStore,
  AccountRecord,
  AccountStore,
  AppRecord,
  AppStore,
  MagicLinkRecord,
  MagicLinkStore,
  Stores,
} from '../ports.ts';
import { rateLimiterFactory } from '../rate-limiters.ts';
import { MemoryOidcStore } from './memory-oidc-store.ts';
import { MemoryOutbox } from './memory-outbox.ts';
import { TtlMap } from './ttl-map.ts';

class MemoryAppStore implements AppStore {
  readonly #apps = new Map<string, AppRecord>();
  /** Every app's cursor, sorted: a page is a binary search and a slice. */
  readonly #order: AppCursor[] = [];
  /** Deletion marks by app id. */
  readonly #deleted = new Map<string, AppDeletion>();
  async insert(app: AppRecord) {
    // A marked id stays taken until the mark is forgotten, as in every driver.
    if (this.#apps.has(app.id) || this.#deleted.has(app.id)) throw new DuplicateError(`app ${app.id}`);
    this.#apps.set(app.id, structuredClone(app));
    const cursor = appCursorOf(app);
    this.#order.splice(firstAfter(this.#order, cursor), 0, cursor);
  }
  async get(id: string) {
    const app = this.#apps.get(id);
    return app && structuredClone(app);
  }
  async page(limit: number, after?: AppCursor) {
    const start = after === undefined ? 0 : firstAfter(this.#order, after);
    const cursors = this.#order.slice(start, start + limit);
    const next = start + limit < this.#order.length ? cursors.at(-1) : undefined;
    return { apps: cursors.map((c) => structuredClone(this.#apps.get(c.slice(c.indexOf(':') + 1))!)), next };
  }
  async replace(app: AppRecord, expectedUpdatedAt?: number) {
    const stored = this.#apps.get(app.id);
    if (!stored || (expectedUpdatedAt !== undefined && stored.updatedAt !== expectedUpdatedAt)) return false;
    this.#apps.set(app.id, structuredClone(app));
    return true;
  }
  async delete(id: string, deletedAt: number, expectedUpdatedAt?: number) {
    const app = this.#apps.get(id);
    if (!app || (expectedUpdatedAt !== undefined && app.updatedAt !== expectedUpdatedAt)) return false;
    this.#apps.delete(id);
    // The cursor is the one inserted: createdAt is never changed by a replace.
    const at = firstAfter(this.#order, appCursorOf(app)) - 1;
    if (this.#order[at] === appCursorOf(app)) this.#order.splice(at, 1);
    this.#deleted.set(id, { id, deletedAt });
    return true;
  }
  async deletion(id: string) {
    const mark = this.#deleted.get(id);
    return mark && { ...mark };
  }
  async deletions(limit: number, after?: AppDeletion) {
    const marks = [...this.#deleted.values()].filter((mark) => after === undefined || markOrder(mark, after) > 0);
    return marks.sort(markOrder).slice(0, limit).map((mark) => ({ ...mark }));
  }
  async purged(id: string, at: number) {
    const mark = this.#deleted.get(id);
    if (mark) this.#deleted.set(id, { ...mark, purgedAt: Math.max(mark.purgedAt ?? at, at) });
  }
  async forget(id: string) {
    this.#deleted.delete(id);
  }
}

/** Index of the first cursor in `sorted` greater than `cursor`. */
function firstAfter(sorted: readonly AppCursor[], cursor: AppCursor): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid]! <= cursor) low = mid + 1;
    else high = mid;
  }
  return low;
}

class MemoryAccountStore implements AccountStore {
  readonly byApp = new Map<string, Map<string, AccountRecord>>();
  async recordLogin(appId: string, email: string, at: number) {
    let accounts = this.byApp.get(appId);
    if (!accounts) this.byApp.set(appId, (accounts = new Map()));
    const existing = accounts.get(email);
    const record = { email, createdAt: existing?.createdAt ?? at, lastLoginAt: at };
    accounts.set(email, record);
    return { ...record };
  }
  async find(appId: string, email: string) {
    const found = this.byApp.get(appId)?.get(email);
    return found && { ...found };
  }
}

export class MemoryMagicLinkStore implements MagicLinkStore {
  readonly records: TtlMap<MagicLinkRecord>;
  readonly latest: TtlMap<string>;
  constructor(clock: Clock) {
    this.records = new TtlMap(clock);
    this.latest = new TtlMap(clock);
  }
  async save(record: MagicLinkRecord, retainSeconds: number) {
    this.records.set(`${record.appId}:${record.hash}`, { ...record }, retainSeconds);
    this.latest.set(`${record.appId}:${record.interactionUid}`, record.hash, retainSeconds);
  }
  async find(appId: string, hash: string) {
    const found = this.records.get(`${appId}:${hash}`);
    return found && { ...found };
  }
  async latestForAttempt(appId: string, interactionUid: string) {
    const hash = this.latest.get(`${appId}:${interactionUid}`);
    return hash ? this.find(appId, hash) : undefined;
  }
  async findWithSuccessor(appId: string, hash: string) {
    const record = await this.find(appId, hash);
    return record && { record, superseded: await supersededIn(this, record) };
  }
  async useCurrent(appId: string, hash: string, interactionUid: string, at: number) {
    // No await between the read and the write: atomic within this process.
    const key = `${appId}:${hash}`;
    const found = this.records.get(key);
    if (!found) return undefined;
    const record = { ...found };
    if (found.interactionUid !== interactionUid) return { record, superseded: false, used: false };
    const latest = this.latest.get(`${appId}:${interactionUid}`);
    const superseded = latest !== undefined && latest !== hash && this.records.get(`${appId}:${latest}`) !== undefined;
    const used = !superseded && found.usedAt === undefined && found.expiresAt > at;
    if (used) this.records.update(key, { ...found, usedAt: at });
    return { record, superseded, used };
  }
  async takeAttempt(appId: string, hash: string, max: number) {
    // No await between the read and the write: atomic within this process.
    const key = `${appId}:${hash}`;
    const found = this.records.get(key);
    if (!found || (found.attempts ?? 0) >= max) return 0;
    const attempts = (found.attempts ?? 0) + 1;
    this.records.update(key, { ...found, attempts });
    return attempts;
  }
}

class MemoryAuditStore implements AuditStore {
  readonly records: TtlMap<AuditRecord>;
  constructor(clock: Clock) {
    this.records = new TtlMap(clock);
  }
  async append(record: AuditRecord, retainSeconds: number) {
    this.records.set(`${trailOf(record)}:${record.id}`, structuredClone(record), retainSeconds);
  }
  async query(trail: string, query: AuditQuery) {
    const found: AuditRecord[] = [];
    for (const [key, record] of this.records.entries()) {
      if (key.startsWith(`${trail}:`) && matchesAudit(record, query)) found.push(structuredClone(record));
    }
    return found.sort(newestFirst).slice(0, query.limit);
  }
}

/**
 * `clock` decides when records expire and stamps what the stores stamp themselves
 * (`consumed`). Rate limiters keep their own windows on timers.
 */
export function openMemoryStores(clock: Clock = systemClock): Stores {
  const oidc = new MemoryOidcStore(clock);
  const accounts = new MemoryAccountStore();
  const magicLinks = new MemoryMagicLinkStore(clock);
  const audit = new MemoryAuditStore(clock);
  const sweeper = setInterval(() => {
    for (const map of oidc.apps.values()) map.sweep();
    magicLinks.records.sweep();
    magicLinks.latest.sweep();
    audit.records.sweep();
  }, 60_000);
  sweeper.unref();
  return {
    kind: 'memory',
    apps: new MemoryAppStore(),
    accounts,
    oidc,
    magicLinks,
    audit,
    changes: new LocalChangeBus(),
    outbox: new MemoryOutbox(),
    logoutOutbox: new MemoryOutbox(),
    rateLimiter: rateLimiterFactory({ kind: 'memory' }),
    async purgeApp(appId: string) {
      oidc.apps.delete(appId);
      accounts.byApp.delete(appId);
      for (const map of [magicLinks.records, magicLinks.latest, audit.records] as TtlMap<unknown>[]) {
        for (const [key] of map.entries()) if (key.startsWith(`${appId}:`)) map.delete(key);
      }
    },
    async ping() {},
    unreachable: () => undefined,
    observe() {}, // a Map in this process: nothing to time, nothing that fails
    // Answered in the turn that asked, one caller at a time: no batch of answers to spread out.
    pace() {},
    async close() {
      clearInterval(sweeper);
    },
  };
}

/** Deletion marks' order: by time, then by id (as Redis orders a sorted set's members, and MongoDB's index). */
function markOrder(a: AppDeletion, b: AppDeletion): number {
  return a.deletedAt - b.deletedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}
