// The cache of apps' Providers is sized by memory (PROVIDER_CACHE_MB) and takes an app from
// its second request (the first one's Provider is dropped after it). Discovery and the
// JWKS never put a Provider in it: they are kept in a second cache bounded by bytes, filled
// by a Provider built for the one request (or by a cached Provider when it is dropped),
// served without a rebuild, dropped on any change of the app.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
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
import { TestClock } from '../helpers/clock.ts';
import { withMethods } from '../helpers/with-methods.ts';

describe('provider cache sized by memory, with public documents kept past eviction', function () {
  this.timeout(30_000);
  let stores: Stores;
  let http: Server;
  let url: string;
  let registry: ProviderRegistry;
  const built: string[] = [];
  /** Runs inside a build, after the record was read: a change notice arriving then. */
  let duringBuild: ((app: AppRecord) => void) | undefined;
  const apps: AppRecord[] = [];

  const clock = new TestClock();
  const start = async (revalidateMs: number, maxDocumentBytes = 2 ** 20, replaceMs?: number) => {
    registry = new ProviderRegistry(
      stores.apps,
      (app) => {
        built.push(app.id);
        duringBuild?.(app);
        const issuer = issuerOf(url, app.id);
        return { provider: new Provider(issuer, providerConfiguration(app, issuer, providerDeps(stores))), issuer };
      },
      { max: 2, maxDocumentBytes, revalidateMs, replaceMs, clock },
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
  /** A request only a Provider answers (the engine refuses it: no redirect_uri). */
  const authorize = (app: AppRecord) => fetch(`${issuerOf(url, app.id)}/auth?client_id=${app.id}`);
  /** An app in use: asked for twice, so its Provider is cached. */
  const use = async (app: AppRecord) => {
    for (let i = 0; i < 2; i++) expect((await authorize(app)).status).to.equal(400);
  };
  const restart = async (revalidateMs: number, maxDocumentBytes?: number, replaceMs?: number) => {
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
    built.length = 0;
    await start(revalidateMs, maxDocumentBytes, replaceMs);
  };

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

  it('divides PROVIDER_CACHE_MB: three quarters for Providers at their measured size, a quarter of the bytes for documents', () => {
    expect(cacheSizes(512)).to.deep.equal({ max: Math.floor((512 * 2 ** 20 * 0.75) / PROVIDER_BYTES), maxDocumentBytes: 128 * 2 ** 20 });
    expect(cacheSizes(8).max).to.be.within(70, 80);
  });

  it('serves discovery and the JWKS without caching a Provider: one build per document, then the same bytes and ETag', async () => {
    const [a] = apps as [AppRecord];
    const first = await discovery(a);
    const body = await first.text();
    expect(first.status).to.equal(200);
    expect((await discovery(a, '/jwks')).status).to.equal(200);
    expect(built).to.deep.equal([a.id, a.id]);
    expect(registry.sizes).to.include({ providers: 0, documents: 1 });
    const again = await discovery(a);
    expect(await again.text()).to.equal(body);
    expect(again.headers.get('etag')).to.equal(first.headers.get('etag'));
    expect((await discovery(a, '/jwks')).status).to.equal(200);
    expect((await fetch(`${issuerOf(url, a.id)}/.WELL-KNOWN/openid-configuration`, { headers: { 'if-none-match': first.headers.get('etag')! } })).status).to.equal(304);
    expect(built, 'no rebuild for kept documents').to.deep.equal([a.id, a.id]);
    // An app in use has its Provider cached, and that Provider's own documents take over.
    await use(a);
    expect(registry.sizes).to.include({ providers: 1, documents: 0 });
    expect(await (await discovery(a)).text()).to.equal(body);
    expect(built).to.deep.equal([a.id, a.id, a.id, a.id]);
  });

  it('leaves the Provider cache alone however many apps are asked for their documents', async () => {
    const [a, b] = apps as [AppRecord, AppRecord];
    for (const app of [a, b]) await use(app);
    for (const app of apps) for (const path of ['/.well-known/openid-configuration', '/jwks']) expect((await discovery(app, path)).status).to.equal(200);
    expect(registry.sizes).to.include({ providers: 2, documents: 2 });
    built.length = 0;
    for (const app of [a, b]) await (await authorize(app)).text();
    expect(built, 'the apps in use kept their Providers').to.deep.equal([]);
    // Requests only a Provider answers, spread over more apps than it holds, in parallel: bounded.
    await Promise.all([...apps, ...apps, ...apps].map(async (app) => (await authorize(app)).text()));
    expect(registry.sizes.providers).to.equal(2);
  });

  it('caches an app\'s Provider from its second request: a scan of apps asked for once evicts none in use', async () => {
    const [a, b, c, d] = apps as [AppRecord, AppRecord, AppRecord, AppRecord];
    await authorize(a);
    expect(registry.sizes.providers, 'the first request\'s Provider is dropped after it').to.equal(0);
    await authorize(a);
    await use(b);
    expect(registry.sizes.providers).to.equal(2);
    built.length = 0;
    await Promise.all([c, d].map(async (app) => (await authorize(app)).text()));
    await Promise.all([a, b].map(async (app) => (await authorize(app)).text()));
    expect(built, 'a and b kept their places').to.deep.equal([c.id, d.id]);
    // A burst of first requests to one app builds twice at most: once alone, once for the cache.
    registry.invalidate(c.id);
    built.length = 0;
    const answers = await Promise.all(Array.from({ length: 12 }, () => authorize(c)));
    expect(answers.map((res) => res.status)).to.deep.equal(Array(12).fill(400));
    expect(built).to.deep.equal([c.id, c.id]);
  });

  it('once full, replaces at most its size in Providers per replaceMs, however often other apps come back', async () => {
    await restart(Number.POSITIVE_INFINITY, undefined, 60_000);
    const [a, b, c, d] = apps as [AppRecord, AppRecord, AppRecord, AppRecord];
    await use(a);
    await use(b);
    await use(c); // the one replacement at hand: a goes
    expect(registry.sizes.providers).to.equal(2);
    built.length = 0;
    // Engine traffic spread over more apps than the cache holds, in parallel bursts: each
    // request to an app kept out is served by a Provider of its own, and nothing is replaced.
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all([a, d, a, d, b, c].map((app) => authorize(app)));
      expect(answers.map((res) => res.status)).to.deep.equal(Array(6).fill(400));
    }
    expect(built.filter((id) => id === b.id || id === c.id), 'b and c kept their places').to.deep.equal([]);
    expect(built.filter((id) => id === a.id || id === d.id)).to.have.length(12);
    // Half of replaceMs later, one place (max / 2 = 1) is free again: the next app asked for again takes it.
    clock.travel(30);
    built.length = 0;
    await authorize(d);
    await authorize(d);
    await authorize(a);
    expect(built, 'd cached from its next request, a still kept out').to.deep.equal([d.id, a.id]);
    clock.reset();
  });

  it('builds once for a burst of first requests to one app, and every answer is the same document', async () => {
    const [, b] = apps as [AppRecord, AppRecord];
    const answers = await Promise.all(Array.from({ length: 12 }, () => discovery(b)));
    const etags = new Set(answers.map((res) => res.headers.get('etag')));
    expect(answers.map((res) => res.status)).to.deep.equal(Array(12).fill(200));
    expect([...etags]).to.have.length(1);
    expect(built).to.deep.equal([b.id]);
  });

  it('keeps the documents a dropped Provider had served', async () => {
    const [a, b, c] = apps as [AppRecord, AppRecord, AppRecord];
    await use(a);
    const served = await (await discovery(a)).text();
    for (const app of [b, c]) await use(app);
    expect(registry.sizes).to.include({ providers: 2, documents: 1 });
    expect(await (await discovery(a)).text()).to.equal(served);
    expect(built).to.deep.equal([a.id, a.id, b.id, b.id, c.id, c.id]);
  });

  it('bounds the kept documents by their bytes: the least recently used go first', async () => {
    const [a] = apps as [AppRecord];
    await (await discovery(a)).text();
    const one = registry.sizes.documentBytes;
    expect(one, 'the document\'s own characters are counted').to.be.above(2000);
    await restart(Number.POSITIVE_INFINITY, Math.floor(2.5 * one));
    for (const app of apps) await (await discovery(app)).text();
    expect(registry.sizes).to.include({ providers: 0, documents: 2 });
    expect(registry.sizes.documentBytes).to.be.at.most(2.5 * one);
    built.length = 0;
    for (const app of apps.slice(2)) await (await discovery(app)).text();
    expect(built, 'the two most recent are kept').to.deep.equal([]);
    await (await discovery(a)).text();
    expect(built).to.deep.equal([a.id]);
    // A JWKS served later counts too, and pushes out the oldest.
    for (const app of apps.slice(-2)) await (await discovery(app, '/jwks')).text();
    expect(registry.sizes.documentBytes).to.be.at.most(2.5 * one);
  });

  it('hands out a cached, built Provider at once (ready), and nothing for an app not cached, a malformed id or one invalidated', async () => {
    const [a, b] = apps as [AppRecord, AppRecord];
    expect(registry.ready(a.id)).to.equal(undefined);
    expect((await authorize(a)).status).to.equal(400); // first request: its Provider is not kept
    expect(registry.ready(a.id)).to.equal(undefined);
    await use(a);
    const live = registry.ready(a.id);
    expect(live?.app.id).to.equal(a.id);
    expect(await registry.get(a.id)).to.equal(live);
    for (const id of [b.id, a.id.toUpperCase(), `${a.id}/`, '', 'x'.repeat(10_000)]) expect(registry.ready(id)).to.equal(undefined);
    registry.invalidate(a.id);
    expect(registry.ready(a.id)).to.equal(undefined);
  });

  it('never hands out at once a Provider due for a check: a change another instance made reaches the next engine request', async () => {
    const a = apps[0]!;
    await restart(0);
    await use(a);
    expect(registry.ready(a.id)).to.equal(undefined); // older than revalidateMs (0) as soon as it is cached
    const builds = built.filter((id) => id === a.id).length;
    // Another instance changed the app and this one missed the notice.
    const stored = (await stores.apps.get(a.id))!;
    const changed = { ...stored, updatedAt: stored.updatedAt + 1 };
    expect(await stores.apps.replace(changed, stored.updatedAt)).to.equal(true);
    expect((await authorize(a)).status).to.equal(400);
    expect(built.filter((id) => id === a.id)).to.have.length(builds + 1);
    expect((await registry.get(a.id))?.app.updatedAt).to.equal(changed.updatedAt);
    await stores.apps.replace(stored, changed.updatedAt);
  });

  it('drops kept documents when the app changes here (invalidate) or in the store (revalidation)', async () => {
    const [a, b, c] = apps as [AppRecord, AppRecord, AppRecord];
    for (const app of [a, b, c]) await (await discovery(app)).text();
    registry.invalidate(a.id);
    expect(registry.sizes).to.include({ documents: 2 });
    await (await discovery(a)).text();
    expect(built.filter((id) => id === a.id)).to.have.length(2);

    // Another instance renamed the app and this one missed the notice: revalidation sees it.
    await restart(0);
    for (const app of [a, b, c]) await (await discovery(app, '/jwks')).text();
    const stored = (await stores.apps.get(a.id))!;
    const changed = { ...stored, keys: stored.keys.slice(0, 2), updatedAt: stored.updatedAt + 1 };
    expect(await stores.apps.replace(changed, stored.updatedAt)).to.equal(true);
    const jwks = (await (await discovery(a, '/jwks')).json()) as { keys: unknown[] };
    expect(jwks.keys).to.have.length(2);
    await stores.apps.replace(stored, changed.updatedAt);
  });

  it('checks every cached Provider and kept document against the store after revalidateAll (notices were lost), and rebuilds only what changed', async () => {
    const [a, b, c] = apps as [AppRecord, AppRecord, AppRecord];
    await use(a);
    await use(b);
    const jwksOf = async (app: AppRecord) => ((await (await discovery(app, '/jwks')).json()) as { keys: unknown[] }).keys.length;
    const published = await jwksOf(c);
    // Another instance changed a and c, and this one missed both notices: with no
    // revalidation age (Redis's 30 s stands for it here), they are served as cached.
    const storedA = (await stores.apps.get(a.id))!;
    const storedC = (await stores.apps.get(c.id))!;
    const changedA = { ...storedA, updatedAt: storedA.updatedAt + 1 };
    const changedC = { ...storedC, keys: storedC.keys.slice(0, 1), updatedAt: storedC.updatedAt + 1 };
    try {
      expect(await stores.apps.replace(changedA, storedA.updatedAt)).to.equal(true);
      expect(await stores.apps.replace(changedC, storedC.updatedAt)).to.equal(true);
      expect(registry.ready(a.id)?.app.updatedAt).to.equal(storedA.updatedAt);
      expect(await jwksOf(c)).to.equal(published).and.above(1);

      registry.revalidateAll();
      expect(registry.ready(a.id), 'due for a check').to.equal(undefined);
      expect(registry.ready(b.id), 'due for a check').to.equal(undefined);
      const builds = built.length;
      expect((await authorize(a)).status).to.equal(400);
      expect((await authorize(b)).status).to.equal(400);
      expect(built.slice(builds), 'only the changed app is rebuilt').to.deep.equal([a.id]);
      expect(registry.ready(a.id)?.app.updatedAt).to.equal(changedA.updatedAt);
      expect(registry.ready(b.id), 'checked, so fresh again').not.to.equal(undefined);
      expect(await jwksOf(c)).to.equal(1);
    } finally {
      await stores.apps.replace(storedA, changedA.updatedAt);
      await stores.apps.replace(storedC, changedC.updatedAt);
    }
  });

  it('does not count a check whose read began before revalidateAll: that read may predate the change whose notice was lost', async () => {
    const [a] = apps as [AppRecord];
    // The store answers with the record as it was when asked, once `hold` settles.
    let hold: Promise<void> = Promise.resolve();
    const slow = withMethods(stores.apps, {
      get: (get) => async (id) => {
        const record = await get(id);
        await hold;
        return record;
      },
    });
    const own = new ProviderRegistry(slow, (app) => {
      const issuer = issuerOf(url, app.id);
      return { provider: new Provider(issuer, providerConfiguration(app, issuer, providerDeps(stores))), issuer };
    });
    for (let i = 0; i < 2; i++) await own.get(a.id);
    const stored = (await stores.apps.get(a.id))!;
    own.revalidateAll();
    let release!: () => void;
    hold = new Promise((resolve) => (release = resolve));
    const checking = own.get(a.id); // reads the record as it is now
    await new Promise((r) => setTimeout(r, 5));
    const changed = { ...stored, updatedAt: stored.updatedAt + 1 };
    try {
      // The change lands and its notice is lost; the bus is back and says so; then the old read returns.
      expect(await stores.apps.replace(changed, stored.updatedAt)).to.equal(true);
      await new Promise((r) => setTimeout(r, 5));
      own.revalidateAll();
      await new Promise((r) => setTimeout(r, 5));
      release();
      expect((await checking)?.app.updatedAt).to.equal(stored.updatedAt);
      expect(own.ready(a.id), 'the old read does not make it fresh').to.equal(undefined);
      expect((await own.get(a.id))?.app.updatedAt).to.equal(changed.updatedAt);
      expect(own.ready(a.id)?.app.updatedAt).to.equal(changed.updatedAt);
    } finally {
      release();
      await stores.apps.replace(stored, changed.updatedAt);
    }
  });

  it('keeps nothing from a build that an invalidation overtook', async () => {
    const [, , , d] = apps as [AppRecord, AppRecord, AppRecord, AppRecord];
    duringBuild = (app) => registry.invalidate(app.id);
    try {
      expect((await discovery(d)).status).to.equal(200);
    } finally {
      duringBuild = undefined;
    }
    expect(registry.sizes).to.deep.equal({ providers: 0, documents: 0, documentBytes: 0 });
    await (await discovery(d)).text();
    expect(registry.sizes).to.include({ documents: 1 });
  });

  it('keeps and builds nothing for a malformed or unknown app id, however many at once', async () => {
    expect((await fetch(`${url}/apps/NOT-AN-ID/.well-known/openid-configuration`)).status).to.equal(404);
    const unknown = await Promise.all(Array.from({ length: 40 }, () => fetch(`${url}/apps/${randomUUID()}/jwks`)));
    expect(unknown.map((res) => res.status)).to.deep.equal(Array(40).fill(404));
    expect(registry.sizes).to.deep.equal({ providers: 0, documents: 0, documentBytes: 0 });
    expect(built).to.deep.equal([]);
  });
});
