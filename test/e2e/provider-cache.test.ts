// The cache of apps' Providers is sized by memory (PROVIDER_CACHE_MB), and an app whose
// Provider was dropped keeps its discovery document and JWKS in a second, bounded cache:
// served without a rebuild, dropped on any change of the app.
import { expect } from 'chai';
import Koa from 'koa';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { issuerOf } from '../../src/apps/app-paths.ts';
import { errorPage } from '../../interactions/views/pages.ts';
import { errorHandler } from '../../src/http/error-handler.ts';
import { securityHeaders } from '../../src/http/request-context.ts';
import { createLogger } from '../../src/log.ts';
import { providerConfiguration } from '../../src/oidc/provider-config.ts';
import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import type { AppRecord, Stores } from '../../src/storage/ports.ts';
import { mountApps } from '../../src/tenancy/app-mount.ts';
import { cacheSizes, ProviderRegistry, PROVIDER_BYTES } from '../../src/tenancy/provider-registry.ts';
import { makeApp, providerDeps } from '../engine/engine-fixture.ts';

describe('provider cache sized by memory, with public documents kept past eviction', function () {
  this.timeout(30_000);
  let stores: Stores;
  let http: Server;
  let url: string;
  let registry: ProviderRegistry;
  const built: string[] = [];
  const apps: AppRecord[] = [];

  const start = async (revalidateMs: number) => {
    registry = new ProviderRegistry(
      stores.apps,
      (app) => {
        built.push(app.id);
        const issuer = issuerOf(url, app.id);
        return { provider: new Provider(issuer, providerConfiguration(app, issuer, providerDeps(stores))), issuer };
      },
      { max: 2, maxDocuments: 2, revalidateMs },
    );
    const koa = new Koa({ proxy: true });
    koa.use(securityHeaders(false));
    koa.use(errorHandler(createLogger('silent'), errorPage));
    koa.use(mountApps(registry));
    http = createServer(koa.callback());
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://localhost:${(http.address() as AddressInfo).port}`;
  };
  const discovery = (app: AppRecord, path = '/.well-known/openid-configuration') => fetch(`${issuerOf(url, app.id)}${path}`);

  before(async () => {
    stores = openMemoryStores();
    for (let i = 0; i < 4; i++) {
      const { app } = await makeApp();
      await stores.apps.insert(app);
      apps.push(app);
    }
  });
  beforeEach(() => start(Number.POSITIVE_INFINITY));
  afterEach(async () => {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
    built.length = 0;
  });
  after(() => stores.close());

  it('divides PROVIDER_CACHE_MB: three quarters for Providers at their measured size, the rest for documents', () => {
    expect(cacheSizes(512)).to.deep.equal({ max: Math.floor((512 * 2 ** 20 * 0.75) / PROVIDER_BYTES), maxDocuments: 16_384 });
    expect(cacheSizes(8).max).to.be.within(80, 90);
  });

  it('serves a dropped Provider\'s documents without rebuilding it, the same bytes and ETag', async () => {
    const [a, b, c] = apps as [AppRecord, AppRecord, AppRecord];
    const first = await discovery(a);
    const body = await first.text();
    await (await discovery(a, '/jwks')).text();
    for (const app of [b, c]) await (await discovery(app)).text();
    expect(registry.sizes).to.deep.equal({ providers: 2, documents: 1 });
    expect(built).to.deep.equal([a.id, b.id, c.id]);
    const again = await discovery(a);
    expect(await again.text()).to.equal(body);
    expect(again.headers.get('etag')).to.equal(first.headers.get('etag'));
    expect((await discovery(a, '/jwks')).status).to.equal(200);
    expect((await fetch(`${issuerOf(url, a.id)}/.well-known/openid-configuration`, { headers: { 'if-none-match': first.headers.get('etag')! } })).status).to.equal(304);
    expect(built, 'no rebuild for kept documents').to.deep.equal([a.id, b.id, c.id]);
    // Anything else of that app needs its Provider: built again, and its documents move back with it.
    expect((await fetch(`${issuerOf(url, a.id)}/auth?client_id=${a.id}`)).status).to.equal(400);
    expect(built).to.deep.equal([a.id, b.id, c.id, a.id]);
  });

  it('bounds both caches: the least recently used documents go first', async () => {
    for (const app of apps) await (await discovery(app)).text();
    for (const app of apps) await (await discovery(app)).text();
    expect(registry.sizes.providers).to.equal(2);
    expect(registry.sizes.documents).to.be.at.most(2);
  });

  it('drops kept documents when the app changes here (invalidate) or in the store (revalidation)', async () => {
    const [a, b, c] = apps as [AppRecord, AppRecord, AppRecord];
    for (const app of [a, b, c]) await (await discovery(app)).text();
    registry.invalidate(a.id);
    expect(registry.sizes.documents).to.equal(0);
    await (await discovery(a)).text();
    expect(built.filter((id) => id === a.id)).to.have.length(2);

    // Another instance renamed the app and this one missed the notice: revalidation sees it.
    afterEachClose();
    await start(0);
    for (const app of [a, b, c]) await (await discovery(app)).text();
    const stored = (await stores.apps.get(a.id))!;
    const changed = { ...stored, keys: stored.keys.slice(0, 2), updatedAt: stored.updatedAt + 1 };
    expect(await stores.apps.replace(changed, stored.updatedAt)).to.equal(true);
    const jwks = (await (await discovery(a, '/jwks')).json()) as { keys: unknown[] };
    expect(jwks.keys).to.have.length(2);
  });

  it('keeps nothing for a malformed or unknown app id', async () => {
    expect((await fetch(`${url}/apps/NOT-AN-ID/.well-known/openid-configuration`)).status).to.equal(404);
    expect((await fetch(`${url}/apps/00000000-0000-4000-8000-000000000000/jwks`)).status).to.equal(404);
    expect(registry.sizes).to.deep.equal({ providers: 0, documents: 0 });
  });

  function afterEachClose() {
    http.closeAllConnections();
    http.close();
  }
});
