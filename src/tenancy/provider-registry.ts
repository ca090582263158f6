// One oidc-provider instance per app, built on first use and cached (an LRU, so a
// scan over many app ids cannot hold every Provider in memory). Admin changes call
// `invalidate`, and the next request builds a Provider from the updated record.
import type { Middleware } from 'koa';
import mount from 'koa-mount';
import type Provider from 'oidc-provider';
import type { AppRecord, AppStore } from '../storage/ports.ts';

export interface LiveProvider {
  readonly app: AppRecord;
  readonly provider: Provider;
  readonly issuer: string;
  /** The provider mounted under the app's path, ready for the root Koa app. */
  readonly handle: Middleware;
}

const APP_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isAppId(value: string): boolean {
  return APP_ID.test(value);
}

export class ProviderRegistry {
  readonly #cache = new Map<string, Promise<LiveProvider | undefined>>();
  readonly #apps: AppStore;
  readonly #build: (app: AppRecord) => { provider: Provider; issuer: string };
  readonly #max: number;

  constructor(apps: AppStore, build: (app: AppRecord) => { provider: Provider; issuer: string }, max = 500) {
    this.#apps = apps;
    this.#build = build;
    this.#max = max;
  }

  /** Builds a Provider for a record without caching it (used to validate a new client). */
  build(app: AppRecord): LiveProvider {
    const { provider, issuer } = this.#build(app);
    return { app, provider, issuer, handle: mount(`/apps/${app.id}`, provider as never) };
  }

  get(appId: string): Promise<LiveProvider | undefined> {
    if (!isAppId(appId)) return Promise.resolve(undefined);
    const cached = this.#cache.get(appId);
    if (cached) {
      this.#cache.delete(appId); // re-insert: most recently used last
      this.#cache.set(appId, cached);
      return cached;
    }
    const loading = this.#apps.get(appId).then((app) => (app ? this.build(app) : undefined));
    this.#cache.set(appId, loading);
    // Unknown ids and failures are not remembered: the app may be created a moment later.
    loading.then(
      (live) => live || this.#forget(appId, loading),
      () => this.#forget(appId, loading),
    );
    while (this.#cache.size > this.#max) {
      const oldest = this.#cache.keys().next().value as string;
      this.#cache.delete(oldest);
    }
    return loading;
  }

  invalidate(appId: string): void {
    this.#cache.delete(appId);
  }

  #forget(appId: string, entry: Promise<LiveProvider | undefined>) {
    if (this.#cache.get(appId) === entry) this.#cache.delete(appId);
  }
}
