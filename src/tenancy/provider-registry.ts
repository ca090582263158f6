// One oidc-provider instance per app, built on first use and cached (an LRU sized by
// memory, so a scan over many app ids cannot hold every Provider in memory). When a
// Provider is dropped from it, its discovery document and JWKS, once served, stay in a
// second, far cheaper LRU, so spreading public-document traffic over more apps than fit
// the first does not rebuild a Provider per request. A change made on this instance
// calls `invalidate`; changes made on other instances arrive over the store's change bus
// (Redis pub/sub). As a safety net for missed messages, and the only mechanism when there
// is no bus, a cached entry older than `revalidateMs` is checked against the stored
// record's `updatedAt` before use.
import type { Middleware } from 'koa';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';
import { appPath } from '../apps/app-paths.ts';
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
  checkedAt: number;
}

const APP_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isAppId(value: string): boolean {
  return APP_ID.test(value);
}

export interface RegistryOptions {
  /** Providers kept. */
  readonly max?: number;
  /** Apps whose public documents are kept after their Provider was dropped. */
  readonly maxDocuments?: number;
  readonly revalidateMs?: number;
}

/**
 * Heap one cached Provider takes with its discovery document and JWKS kept (measured with
 * --expose-gc over 300 apps: about 66 KiB, plus 2 KiB for the JWKS), and one app's kept
 * documents alone (2-6 KiB: the JWKS grows with each algorithm's keys).
 */
export const PROVIDER_BYTES = 70 * 1024;
export const DOCUMENTS_BYTES = 8 * 1024;

/** PROVIDER_CACHE_MB split between the two caches: three quarters for Providers. */
export function cacheSizes(megabytes: number): { max: number; maxDocuments: number } {
  const bytes = megabytes * 2 ** 20;
  return { max: Math.max(1, Math.floor((bytes * 0.75) / PROVIDER_BYTES)), maxDocuments: Math.floor((bytes * 0.25) / DOCUMENTS_BYTES) };
}

/** What is kept of an app whose Provider was dropped: its documents, and the record they were made from. */
interface KeptDocuments {
  readonly app: AppRecord;
  readonly documents: PublicDocuments;
  checkedAt: number;
}

export class ProviderRegistry {
  readonly #cache = new Map<string, Entry>();
  readonly #apps: AppStore;
  readonly #create: (app: AppRecord) => { provider: Provider; issuer: string };
  readonly #max: number;
  readonly #documents = new Map<string, KeptDocuments>();
  readonly #maxDocuments: number;
  readonly #revalidateMs: number;

  constructor(apps: AppStore, build: (app: AppRecord) => { provider: Provider; issuer: string }, options: RegistryOptions = {}) {
    this.#apps = apps;
    this.#create = build;
    this.#max = options.max ?? 500;
    this.#maxDocuments = options.maxDocuments ?? 0;
    this.#revalidateMs = options.revalidateMs ?? Number.POSITIVE_INFINITY;
  }

  #build(app: AppRecord): LiveProvider {
    const { provider, issuer } = this.#create(app);
    return { app, provider, issuer, handle: mount(appPath(app.id), provider as never), documents: new PublicDocuments() };
  }

  /**
   * The app's Provider. `revalidate` checks a cached one against the stored record now,
   * whatever its age: for requests that must see the app as it is (a sign-in finishing).
   */
  async get(appId: string, options: { revalidate?: boolean } = {}): Promise<LiveProvider | undefined> {
    if (!isAppId(appId)) return undefined;
    const cached = this.#cache.get(appId);
    if (!cached) return this.#load(appId, this.#apps.get(appId));
    this.#cache.delete(appId); // re-insert: most recently used last
    this.#cache.set(appId, cached);
    if (!options.revalidate && Date.now() - cached.checkedAt < this.#revalidateMs) return cached.loading;
    const [live, stored] = await Promise.all([cached.loading, this.#apps.get(appId)]);
    if (live && stored && stored.updatedAt === live.app.updatedAt) {
      cached.checkedAt = Date.now();
      return live;
    }
    if (this.#cache.get(appId) === cached) this.#cache.delete(appId);
    return this.#load(appId, Promise.resolve(stored));
  }

  /**
   * The app's public documents when they can be served without building its Provider:
   * its cached Provider's, or those kept after it was dropped, checked against the stored
   * record as a cached Provider is. Undefined when neither is at hand.
   */
  async documents(appId: string): Promise<PublicDocuments | undefined> {
    if (this.#cache.has(appId)) return (await this.get(appId))?.documents;
    const kept = this.#documents.get(appId);
    if (!kept) return undefined;
    this.#documents.delete(appId); // re-insert: most recently used last
    this.#documents.set(appId, kept);
    if (Date.now() - kept.checkedAt < this.#revalidateMs) return kept.documents;
    const stored = await this.#apps.get(appId);
    if (stored && stored.updatedAt === kept.app.updatedAt && this.#documents.get(appId) === kept) {
      kept.checkedAt = Date.now();
      return kept.documents;
    }
    if (this.#documents.get(appId) === kept) this.#documents.delete(appId);
    return undefined;
  }

  invalidate(appId: string): void {
    this.#cache.delete(appId);
    this.#documents.delete(appId);
  }

  /** Entries held: Providers, and apps with only their documents kept (tests, metrics). */
  get sizes(): { providers: number; documents: number } {
    return { providers: this.#cache.size, documents: this.#documents.size };
  }

  #load(appId: string, record: Promise<AppRecord | undefined>): Promise<LiveProvider | undefined> {
    this.#documents.delete(appId); // the Provider's own documents take over
    const entry: Entry = { loading: record.then((app) => (app ? this.#build(app) : undefined)), checkedAt: Date.now() };
    this.#cache.set(appId, entry);
    // Unknown ids and failures are not remembered: the app may be created a moment later.
    const forget = () => {
      if (this.#cache.get(appId) === entry) this.#cache.delete(appId);
    };
    entry.loading.then((live) => live || forget(), forget);
    while (this.#cache.size > this.#max) {
      const [oldest, dropped] = this.#cache.entries().next().value as [string, Entry];
      this.#cache.delete(oldest);
      void dropped.loading.then((live) => live && this.#keepDocuments(oldest, live, dropped.checkedAt), () => {});
    }
    return entry.loading;
  }

  #keepDocuments(appId: string, live: LiveProvider, checkedAt: number): void {
    // Nothing to keep before a document was served; a newer Provider or invalidate() wins.
    if (this.#maxDocuments === 0 || !live.documents.has('discovery') && !live.documents.has('jwks') || this.#cache.has(appId)) return;
    this.#documents.set(appId, { app: live.app, documents: live.documents, checkedAt });
    while (this.#documents.size > this.#maxDocuments) this.#documents.delete(this.#documents.keys().next().value as string);
  }
}
