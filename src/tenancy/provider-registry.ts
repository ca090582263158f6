// One oidc-provider instance per app, built on first use and cached (an LRU, so a scan
// over many app ids cannot hold every Provider in memory). A change made on this instance
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
  readonly max?: number;
  readonly revalidateMs?: number;
}

export class ProviderRegistry {
  readonly #cache = new Map<string, Entry>();
  readonly #apps: AppStore;
  readonly #create: (app: AppRecord) => { provider: Provider; issuer: string };
  readonly #max: number;
  readonly #revalidateMs: number;

  constructor(apps: AppStore, build: (app: AppRecord) => { provider: Provider; issuer: string }, options: RegistryOptions = {}) {
    this.#apps = apps;
    this.#create = build;
    this.#max = options.max ?? 500;
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

  invalidate(appId: string): void {
    this.#cache.delete(appId);
  }

  #load(appId: string, record: Promise<AppRecord | undefined>): Promise<LiveProvider | undefined> {
    const entry: Entry = { loading: record.then((app) => (app ? this.#build(app) : undefined)), checkedAt: Date.now() };
    this.#cache.set(appId, entry);
    // Unknown ids and failures are not remembered: the app may be created a moment later.
    const forget = () => {
      if (this.#cache.get(appId) === entry) this.#cache.delete(appId);
    };
    entry.loading.then((live) => live || forget(), forget);
    while (this.#cache.size > this.#max) {
      this.#cache.delete(this.#cache.keys().next().value as string);
    }
    return entry.loading;
  }
}
