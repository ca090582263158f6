// One oidc-provider instance per app, built on use and cached from an app's second request
// (an LRU sized by memory, so a scan over many app ids cannot hold every Provider in
// memory; the first request's Provider is dropped after it, see #once). A request for
// an app's discovery document or JWKS alone never puts a Provider in that cache: when the
// document is not at hand, a Provider is built for that request and dropped after it
// (young-generation garbage), and the document is kept in a second, far cheaper LRU sized
// by bytes, as are the documents a dropped Provider had served. A Provider cache that keeps
// replacing its entries leaves the V8 heap fragmented (measured: resident memory about
// twice the live cache), so traffic spread over more apps than it holds must not churn it
// for documents any client may fetch; nor may engine traffic spread evenly over a few times
// more apps than it holds, where every app comes back often enough to be admitted: once the
// cache is full it replaces at most its size's worth of Providers every `replaceMs`, and the
// apps refused a place meanwhile are served as first requests are (young garbage). A change
// made on this instance calls `invalidate`; changes made on other instances arrive over
// the store's change bus (Redis pub/sub). As a safety net for missed messages, and the only
// mechanism when there is no bus, a cached entry older than `revalidateMs` is checked
// against the stored record's `updatedAt` before use; when the bus says messages may have
// been lost (it reconnected), `revalidateAll` makes every entry due for that check at once.
import type { Middleware } from 'koa';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';
import { appPath } from '../apps/app-paths.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { AppRecord, AppStore } from '../storage/ports.ts';
import { PublicDocuments } from './public-documents.ts';

export interface LiveProvider {
  readonly app: AppRecord;
  readonly provider: Provider;
  readonly issuer: string;
  /** The provider mounted under the app's path, ready for the root Koa app. */
  readonly handle: Middleware;
  /** Its discovery document and JWKS, once served: dropped with the Provider. */
  readonly documents: PublicDocuments;
}

interface Entry {
  readonly loading: Promise<LiveProvider | undefined>;
  /** What `loading` resolved to, once built: `ready` hands it out with no promise. */
  live?: LiveProvider;
  checked: Check;
}

/** When the stored record was last read to check a cached entry: the time its read began, and the round of revalidateAll then. */
interface Check {
  readonly at: number;
  readonly round: number;
}

const APP_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isAppId(value: string): boolean {
  return APP_ID.test(value);
}

export interface RegistryOptions {
  /** Providers kept. */
  readonly max?: number;
  /** Heap (bytes, about) for the public documents of apps with no cached Provider. */
  readonly maxDocumentBytes?: number;
  readonly revalidateMs?: number;
  /**
   * Once full, the Provider cache replaces at most `max` entries in this time (a few at once,
   * then evenly); unset: no bound. An evicted Provider is old-generation garbage, and V8
   * keeps the pages it freed.
   */
  readonly replaceMs?: number;
  /** What the replacement bound counts time by. */
  readonly clock?: Clock;
}

/** What answers a request for a public document: its cache, and the engine that fills it when the document is not kept yet. */
export interface DocumentSource {
  readonly documents: PublicDocuments;
  readonly handle?: Middleware;
}

/**
 * Heap one cached Provider takes with its discovery document and JWKS kept, once it has
 * served an engine request (bench/provider-heap.ts, 300 apps: 76-83 KiB; an estimate below
 * the real size lets the cache outgrow PROVIDER_CACHE_MB). Most of it is the engine's own
 * per-instance state: its configuration merged with its defaults, client schema and model
 * classes, router and compiled route patterns. Kept documents are counted by their own size
 * (PublicDocuments.bytes: about 3.6 KiB an app for discovery, 1.6 KiB more with the JWKS).
 */
export const PROVIDER_BYTES = 80 * 1024;

/**
 * Once full, the Provider cache replaces at most its size's worth of Providers in five
 * minutes: an app kept out meanwhile costs a build per request (about 1 CPU-ms), and the
 * apps asked for most take the places as they free up, being the ones most often refused.
 */
export const PROVIDER_CACHE_REPLACE_MS = 5 * 60_000;

/** PROVIDER_CACHE_MB split between the two caches: three quarters for Providers. */
export function cacheSizes(megabytes: number): { max: number; maxDocumentBytes: number } {
  const bytes = megabytes * 2 ** 20;
  return { max: Math.max(1, Math.floor((bytes * 0.75) / PROVIDER_BYTES)), maxDocumentBytes: Math.floor(bytes * 0.25) };
}

/** What is kept of an app with no cached Provider: its documents, and the version of the record they were made from. */
interface KeptDocuments {
  readonly updatedAt: number;
  readonly documents: PublicDocuments;
  checked: Check;
  /** Its documents' size when last counted into the cache's total. */
  bytes: number;
}

export class ProviderRegistry {
  readonly #cache = new Map<string, Entry>();
  readonly #apps: AppStore;
  readonly #create: (app: AppRecord) => { provider: Provider; issuer: string };
  readonly #max: number;
  /** Apps asked for once lately, not cached (insertion order: oldest first, as many as Providers are kept). */
  readonly #seen = new Set<string>();
  readonly #documents = new Map<string, KeptDocuments>();
  #documentBytes = 0;
  readonly #maxDocumentBytes: number;
  /** Providers being built for a document request alone: concurrent first requests share one. */
  readonly #building = new Map<string, Promise<DocumentSource | undefined>>();
  readonly #revalidateMs: number;
  readonly #replaceMs: number;
  readonly #clock: Clock;
  /** Replacements the full cache may make now: refilled by `max` every `replaceMs`, up to a hundredth of `max` (at least one). */
  #replacements = 1;
  #refilledAt: number;
  /** Calls of revalidateAll so far: an entry whose check began in an earlier round is due for a check. */
  #round = 0;

  constructor(apps: AppStore, build: (app: AppRecord) => { provider: Provider; issuer: string }, options: RegistryOptions = {}) {
    this.#apps = apps;
    this.#create = build;
    this.#max = options.max ?? 500;
    this.#maxDocumentBytes = options.maxDocumentBytes ?? 16 * 2 ** 20;
    this.#revalidateMs = options.revalidateMs ?? Number.POSITIVE_INFINITY;
    this.#replaceMs = options.replaceMs ?? 0;
    this.#clock = options.clock ?? systemClock;
    this.#refilledAt = this.#clock.now();
  }

  #build(app: AppRecord): LiveProvider {
    const { provider, issuer } = this.#create(app);
    return { app, provider, issuer, handle: mount(appPath(app.id), provider as never), documents: new PublicDocuments() };
  }

  /**
   * The cached Provider of the app, at once, when it is built and needs no check against
   * the stored record (younger than `revalidateMs`); else undefined, and `get` decides.
   * Most requests are to an app in use: they pay neither a promise nor a turn of the
   * microtask queue for the look-up.
   */
  ready(appId: string): LiveProvider | undefined {
    const cached = this.#cache.get(appId);
    if (!cached?.live || !this.#fresh(cached.checked)) return undefined;
    this.#touch(appId, cached);
    return cached.live;
  }

  /**
   * The app's Provider. `revalidate` checks a cached one against the stored record now,
   * whatever its age: for requests that must see the app as it is (a sign-in finishing).
   */
  async get(appId: string, options: { revalidate?: boolean } = {}): Promise<LiveProvider | undefined> {
    if (!isAppId(appId)) return undefined;
    const cached = this.#cache.get(appId);
    if (!cached) return this.#seen.delete(appId) && this.#mayTakePlace() ? this.#load(appId, this.#apps.get(appId)) : this.#once(appId);
    this.#touch(appId, cached);
    if (!options.revalidate && this.#fresh(cached.checked)) return cached.loading;
    const check = this.#begin();
    const [live, stored] = await Promise.all([cached.loading, this.#apps.get(appId)]);
    if (live && stored && stored.updatedAt === live.app.updatedAt) {
      cached.checked = check;
      return live;
    }
    if (this.#cache.get(appId) === cached) this.#cache.delete(appId);
    return this.#load(appId, Promise.resolve(stored), check);
  }

  /**
   * The first request to an app not cached gets a Provider of its own, not cached: only an
   * app asked for again while it is remembered here is worth a place, so a scan over many
   * apps (or traffic spread thinner than the cache) neither evicts the apps in use nor
   * churns the old generation. Remembered before the record is read, so a burst of first
   * requests builds at most twice.
   */
  async #once(appId: string): Promise<LiveProvider | undefined> {
    this.#seen.add(appId);
    while (this.#seen.size > this.#max) this.#seen.delete(this.#seen.values().next().value as string);
    const app = await this.#apps.get(appId);
    if (!app) this.#seen.delete(appId); // unknown ids take no one's place
    return app && this.#build(app);
  }

  /** Marks a cached entry most recently used: the Map's order is the eviction order. */
  #touch(appId: string, entry: Entry): void {
    this.#cache.delete(appId);
    this.#cache.set(appId, entry);
  }

  /** Whether an app asked for again may have a place: free while the cache fills, then within the replacement bound. */
  #mayTakePlace(): boolean {
    if (this.#cache.size < this.#max || this.#replaceMs <= 0) return true;
    const now = this.#clock.now();
    const most = Math.max(1, this.#max / 100);
    this.#replacements = Math.min(most, this.#replacements + ((now - this.#refilledAt) * this.#max) / this.#replaceMs);
    this.#refilledAt = now;
    if (this.#replacements < 1) return false;
    this.#replacements -= 1;
    return true;
  }

  /**
   * What serves `route` (discovery or the JWKS) of the app: its cached Provider; else its
   * kept documents when they hold that one (checked against the stored record as a cached
   * Provider is); else a Provider built for this request alone, never cached, whose answer
   * joins the kept documents. Undefined: no such app.
   */
  async forDocument(appId: string, route: string): Promise<DocumentSource | undefined> {
    if (!isAppId(appId)) return undefined;
    if (this.#cache.has(appId)) return this.get(appId);
    const kept = await this.#kept(appId);
    if (kept?.has(route)) return { documents: kept };
    return this.#transient(appId);
  }

  async #kept(appId: string): Promise<PublicDocuments | undefined> {
    const kept = this.#documents.get(appId);
    if (!kept) return undefined;
    this.#documents.delete(appId); // re-insert: most recently used last
    this.#documents.set(appId, kept);
    if (this.#fresh(kept.checked)) return kept.documents;
    const check = this.#begin();
    const stored = await this.#apps.get(appId);
    if (stored && stored.updatedAt === kept.updatedAt && this.#documents.get(appId) === kept) {
      kept.checked = check;
      return kept.documents;
    }
    if (this.#documents.get(appId) === kept) this.#forget(appId);
    return undefined;
  }

  #transient(appId: string): Promise<DocumentSource | undefined> {
    const pending = this.#building.get(appId);
    if (pending) return pending;
    const check = this.#begin();
    const building: Promise<DocumentSource | undefined> = this.#apps.get(appId).then((app) => {
      if (!app) return undefined;
      const { handle } = this.#build(app);
      // Documents another document's request kept for the same record are added to, so
      // an app's discovery and JWKS stay together; invalidate() during the build or a
      // Provider cached meanwhile wins, and this request's answer is then not kept.
      const prior = this.#documents.get(appId);
      let documents = prior?.updatedAt === app.updatedAt ? prior.documents : new PublicDocuments();
      if (this.#building.get(appId) !== building || this.#cache.has(appId)) documents = new PublicDocuments();
      else if (documents !== prior?.documents) this.#keep(appId, app.updatedAt, check, documents);
      return { documents, handle };
    });
    this.#building.set(appId, building);
    const settled = () => {
      if (this.#building.get(appId) === building) this.#building.delete(appId);
    };
    building.then(settled, settled);
    return building;
  }

  /**
   * Every cached Provider and kept document is checked against its stored record before its
   * next use, as if older than `revalidateMs`: for when change notices may have been lost
   * (the bus reconnected). A check whose read began before this call does not count, since
   * that read may predate a change whose notice was lost (each check is stamped with the
   * round its read began in).
   */
  revalidateAll(): void {
    this.#round++;
  }

  /** A check of a stored record, stamped as its read begins. */
  #begin(): Check {
    return { at: Date.now(), round: this.#round };
  }

  /** Whether an entry may be used without a check. */
  #fresh(checked: Check): boolean {
    return checked.round === this.#round && Date.now() - checked.at < this.#revalidateMs;
  }

  invalidate(appId: string): void {
    this.#cache.delete(appId);
    this.#seen.delete(appId);
    this.#building.delete(appId);
    this.#forget(appId);
  }

  /** Entries held: Providers, and apps with only their documents kept, with those documents' bytes (tests, metrics). */
  get sizes(): { providers: number; documents: number; documentBytes: number } {
    return { providers: this.#cache.size, documents: this.#documents.size, documentBytes: this.#documentBytes };
  }

  /** Caches the Provider of `record`, the read stamped `check`. */
  #load(appId: string, record: Promise<AppRecord | undefined>, check = this.#begin()): Promise<LiveProvider | undefined> {
    this.#forget(appId); // the Provider's own documents take over
    const entry: Entry = { loading: record.then((app) => (app ? this.#build(app) : undefined)), checked: check };
    this.#cache.set(appId, entry);
    // Unknown ids and failures are not remembered: the app may be created a moment later.
    const forget = () => {
      if (this.#cache.get(appId) === entry) this.#cache.delete(appId);
    };
    entry.loading.then((live) => (live ? (entry.live = live) : forget()), forget);
    while (this.#cache.size > this.#max) {
      const [oldest, dropped] = this.#cache.entries().next().value as [string, Entry];
      this.#cache.delete(oldest);
      void dropped.loading.then((live) => live && this.#keepDocuments(oldest, live, dropped.checked), () => {});
    }
    return entry.loading;
  }

  #keepDocuments(appId: string, live: LiveProvider, checked: Check): void {
    // Nothing to keep before a document was served; a newer Provider or invalidate() wins.
    if (!live.documents.has('discovery') && !live.documents.has('jwks') || this.#cache.has(appId)) return;
    this.#keep(appId, live.app.updatedAt, checked, live.documents);
  }

  #keep(appId: string, updatedAt: number, checked: Check, documents: PublicDocuments): void {
    this.#forget(appId);
    const kept: KeptDocuments = { updatedAt, documents, checked, bytes: documents.bytes };
    // A document served after this counts from then on, and may push the oldest out.
    documents.onGrow = (bytes) => {
      if (this.#documents.get(appId) !== kept) return;
      this.#documentBytes += bytes - kept.bytes;
      kept.bytes = bytes;
      this.#trimDocuments();
    };
    this.#documents.set(appId, kept);
    this.#documentBytes += kept.bytes;
    this.#trimDocuments();
  }

  #forget(appId: string): void {
    const kept = this.#documents.get(appId);
    if (!kept) return;
    this.#documents.delete(appId);
    this.#documentBytes -= kept.bytes;
  }

  #trimDocuments(): void {
    while (this.#documentBytes > this.#maxDocumentBytes && this.#documents.size > 0) this.#forget(this.#documents.keys().next().value as string);
  }
}
