// Discovery and the JWKS answered from a cache kept per Provider. The documents are the
// same for every request to one Provider (engine.ts, A33), and a Provider is rebuilt
// whenever its app changes, its keys rotate or a retired key is dropped (the registry
// drops the old one): so the cache, which lives and dies with the Provider, can never
// serve a document of another configuration. Each document carries a strong ETag, and a
// request whose If-None-Match names it is answered 304 with no body.
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import { ifNoneMatchNames } from '../http/entity-tags.ts';
import { JWKS_MAX_AGE_SECONDS } from '../keys/key-ring.ts';
import { engineCorsHeaders, isEngineRoute, PUBLIC_DOCUMENT_ROUTES } from '../oidc/engine.ts';

interface Kept {
  readonly body: string;
  readonly type: string;
  readonly etag: string;
}

/** Fresh enough that a next key published KEY_PROPAGATION_MS ago has reached every client that honours it (key-ring.ts). */
const CACHE_CONTROL = `public, max-age=${JWKS_MAX_AGE_SECONDS}`;

/**
 * Heap of one kept document beside its body, ETag and type characters, and of one app's
 * cache with the registry's entry for it: together with the characters, what --expose-gc
 * measured over 3,000 apps' kept discovery documents (3.6 KiB an app).
 */
const DOCUMENT_OVERHEAD_BYTES = 600;
const CACHE_OVERHEAD_BYTES = 700;

export class PublicDocuments {
  readonly #kept = new Map<string, Kept>();
  #bytes = CACHE_OVERHEAD_BYTES;
  /** Called with the new size whenever a document is kept, so a cache of these counts it. */
  onGrow: ((bytes: number) => void) | undefined;

  /** Heap this cache holds, about. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Which document the request asks for (GET only: HEAD and everything else goes to the engine). */
  static routeOf(ctx: Context, path: string): keyof typeof PUBLIC_DOCUMENT_ROUTES | undefined {
    if (ctx.method !== 'GET') return undefined;
    if (isEngineRoute(ctx, path, 'GET', PUBLIC_DOCUMENT_ROUTES.discovery)) return 'discovery';
    if (isEngineRoute(ctx, path, 'GET', PUBLIC_DOCUMENT_ROUTES.jwks)) return 'jwks';
    return undefined;
  }

  /** Whether `route`'s document is kept, so `serve` answers without the engine. */
  has(route: string): boolean {
    return this.#kept.has(route);
  }

  /** Answers from the cache, or runs the engine and keeps its answer when it is a 200 with a JSON body. */
  async serve(ctx: Context, route: string, engine: () => Promise<void>): Promise<void> {
    let kept = this.#kept.get(route);
    if (!kept) {
      await engine();
      if (ctx.status !== 200 || typeof ctx.body !== 'object' || ctx.body === null || Buffer.isBuffer(ctx.body)) return;
      const body = JSON.stringify(ctx.body);
      kept = { body, type: ctx.response.get('Content-Type') || 'application/json; charset=utf-8', etag: `"${createHash('sha256').update(body).digest('base64url')}"` };
      // Concurrent first requests each ran the engine: the first answer kept is counted once.
      if (!this.#kept.has(route)) {
        this.#kept.set(route, kept);
        this.#bytes += body.length + kept.etag.length + kept.type.length + DOCUMENT_OVERHEAD_BYTES;
        this.onGrow?.(this.#bytes);
      }
    }
    ctx.set(engineCorsHeaders(ctx));
    ctx.set('ETag', kept.etag);
    ctx.set('Cache-Control', CACHE_CONTROL);
    const ifNoneMatch = ctx.get('If-None-Match');
    if (ifNoneMatch && ifNoneMatchNames(ifNoneMatch, kept.etag)) {
      ctx.status = 304;
      ctx.body = null;
      return;
    }
    ctx.status = 200;
    ctx.type = kept.type;
    ctx.body = kept.body;
  }
}
