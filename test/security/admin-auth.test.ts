// The admin token guards every admin operation, whatever the spelling of the path: every
// route the admin router has (read from the router itself, so a new route is covered
// without touching this file) × every spelling a lenient server, proxy or framework might
// treat as the same path × every HTTP method, without the token. Each answer is 401 and
// nothing changes. Against a development server and a production one (Redis, https
// PUBLIC_URL), with forged headers, in parallel bursts, with the lockout counting every
// spelling, with a route mounted without the gate, and with Redis gone.
import { expect } from 'chai';
import Koa from 'koa';
import { createServer, METHODS } from 'node:http';
import type { AddressInfo } from 'node:net';
import { requireAdminGate } from '../../src/admin/admin-auth.ts';
import { adminRouter } from '../../src/admin/admin-routes.ts';
import { clientRouter } from '../../src/admin/client-routes.ts';
import { adminSignOutRouter } from '../../src/admin/sign-out-routes.ts';
import { errorPage } from '../../interactions/views/pages.ts';
import { errorHandler } from '../../src/http/error-handler.ts';
import { createLogger } from '../../src/log.ts';
import { ADMIN_TOKEN, Harness, type AppJson } from '../helpers/harness.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { fillPath, otherSpellings, routesOf } from '../helpers/routes.ts';
import { contentTypeOf, expectNoLeak, raw, type RawReply } from './support.ts';

/** Every method Node's HTTP server accepts, but CONNECT (a tunnel, never routed). */
const ALL_METHODS = METHODS.filter((m) => m !== 'CONNECT');
const HOSTILE_BODY = JSON.stringify({ name: 'x', redirect_uris: ['https://evil.example/cb'] });

/**
 * Every spelling of an admin route to try without the token: the canonical path, every
 * other spelling of it (test/helpers/routes.ts), and the same path or another spelling
 * behind a query, a fragment or an absolute-form target.
 */
function spellings(template: string, id: string): string[] {
  const path = fillPath(template, {}, id);
  const others = otherSpellings(template, { id });
  return [
    path,
    ...others,
    `${path}?x=1`,
    `${path}#fragment`,
    `http://evil.example${path}`,
    `http://localhost${others[0]}`,
    `HTTPS://evil.example${others.find((o) => o.includes('%'))}`,
  ];
}

/** Every route of the admin API, whichever router declares it: a new router under /admin is walked too. */
const adminRoutes = (h: Harness) =>
  Object.values(h.server.routers)
    .flatMap(routesOf)
    .filter((route) => route.path === '/admin' || route.path.startsWith('/admin/'));

/** The distinct path templates of the admin API's routes. */
const adminTemplates = (h: Harness) => [...new Set(adminRoutes(h).map((route) => route.path))];

/** Runs `tasks` with at most `width` in flight: parallel bursts, bounded. */
async function inParallel<T>(tasks: (() => Promise<T>)[], width = 32): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < tasks.length) {
        const i = next++;
        results[i] = await tasks[i]!();
      }
    }),
  );
  return results;
}

/** Everything an admin could see: apps (with keys and timestamps) and each app's audit trail. */
async function snapshot(h: Harness) {
  const apps = await h.admin('GET', '/admin/apps');
  expect(apps.status).to.equal(200);
  const audits = [];
  for (const app of apps.body.apps as AppJson[]) {
    audits.push((await h.admin('GET', `/admin/apps/${app.app_id}/audit?limit=200`)).body);
  }
  return { apps: apps.body, audits, mails: h.smtp.mails.length };
}

function expectRefused(reply: RawReply, label: string, status = 401) {
  expect(reply.status, `${label} → ${reply.status} ${reply.body.slice(0, 200)}`).to.equal(status);
  expectNoLeak(reply.body, label);
  if (status === 401) expect(reply.headers['www-authenticate'], label).to.equal('Bearer realm="postern-admin"');
}

const MODES = {
  development: async (_redis: RedisServer) => ({}),
  production: async (redis: RedisServer) => {
    await redis.start();
    return { NODE_ENV: 'production', PUBLIC_URL: 'https://login.example.test', REDIS_URL: redis.url };
  },
};

for (const [mode, environment] of Object.entries(MODES)) {
  describe(`admin authentication on a ${mode} server, whatever the spelling of the path`, function () {
    this.timeout(120_000);
    const h = new Harness();
    const redis = new RedisServer();
    let app: AppJson;

    before(async () => {
      await h.start(await environment(redis), { adminAuthFailuresPerIp: 1_000_000 });
      app = await h.createApp({ name: 'Victim App' });
      await h.createApp({ name: 'Second App' });
    });
    after(async () => {
      await h.stop();
      await redis.destroy();
    });

    it('enumerates the admin routes from the router', () => {
      const paths = adminTemplates(h).map((template) => fillPath(template, {}, app.app_id));
      expect(paths).to.include.members([
        `/admin/apps`,
        `/admin/apps/${app.app_id}`,
        `/admin/apps/${app.app_id}/audit`,
        `/admin/apps/${app.app_id}/sign-outs`,
        `/admin/apps/${app.app_id}/clients/${app.app_id}/secret`,
        `/admin/apps/${app.app_id}/initial-access-tokens`,
      ]);
    });

    it('refuses every route × spelling × method without the token with 401, and changes nothing', async () => {
      const before = await snapshot(h);
      const tasks = [];
      for (const template of adminTemplates(h)) {
        for (const target of spellings(template, app.app_id)) {
          for (const method of ALL_METHODS) {
            const label = `${method} ${target}`;
            tasks.push(async () => {
              const reply = await raw(h.url, target, {
                method,
                headers: { 'content-type': 'application/json' },
                ...(method === 'HEAD' ? {} : { body: HOSTILE_BODY }),
              });
              expectRefused(reply, label);
              return label;
            });
          }
        }
      }
      expect(tasks.length).to.be.greaterThan(2000);
      await inParallel(tasks);
      expect(await snapshot(h)).to.deep.equal(before);
    });

    it('refuses wrong tokens and forged headers in every spelling the same way', async () => {
      const before = await snapshot(h);
      const forged: Record<string, string>[] = [
        { authorization: 'Bearer wrong-token-0123456789abcdef0123456789' },
        { authorization: `Bearer ${ADMIN_TOKEN.toUpperCase()}` },
        { authorization: `Bearer ${ADMIN_TOKEN}x` },
        { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
        { authorization: ADMIN_TOKEN },
        { authorization: `Bearer  ${ADMIN_TOKEN}` },
        { 'x-original-url': '/healthz', 'x-rewrite-url': '/healthz' },
        { 'x-http-method-override': 'GET', 'x-forwarded-prefix': '/apps' },
        { 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1', forwarded: 'for=127.0.0.1;host=localhost' },
        { host: 'localhost', 'x-forwarded-host': 'admin.internal' },
        { 'x-admin-token': ADMIN_TOKEN, cookie: `admin_token=${ADMIN_TOKEN}` },
      ];
      const tasks = [];
      for (const template of adminTemplates(h)) {
        for (const target of spellings(template, app.app_id)) {
          for (const headers of forged) {
            for (const method of ['GET', 'POST', 'PATCH', 'DELETE', 'OPTIONS']) {
              tasks.push(async () => {
                const reply = await raw(h.url, target, { method, headers: { ...headers, 'content-type': 'application/json' }, body: HOSTILE_BODY });
                expectRefused(reply, `${method} ${target} ${JSON.stringify(headers)}`);
              });
            }
          }
        }
      }
      await inParallel(tasks);
      expect(await snapshot(h)).to.deep.equal(before);
    });

    it('with the token, answers only the canonical spelling: every other one is 404 and changes nothing', async () => {
      const before = await snapshot(h);
      const tasks = [];
      for (const layer of adminRoutes(h)) {
        for (const target of otherSpellings(layer.path, { id: app.app_id })) {
          for (const method of layer.methods) {
            tasks.push(async () => {
              const reply = await raw(h.url, target, {
                method,
                headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
                ...(method === 'HEAD' ? {} : { body: HOSTILE_BODY }),
              });
              expect(reply.status, `${method} ${target} → ${reply.body.slice(0, 200)}`).to.equal(404);
            });
          }
        }
      }
      await inParallel(tasks);
      expect(await snapshot(h)).to.deep.equal(before);
    });

    it('never lets a target that is neither a path nor an absolute URL reach Postern (the HTTP parser answers 400)', async () => {
      const logged = h.logs.length;
      for (const target of ['\\admin\\apps', 'admin/apps', '%2Fadmin/apps']) {
        expect((await raw(h.url, target)).status, target).to.equal(400);
      }
      expect(h.logs.slice(logged).filter((line) => line.includes('"msg":"request"'))).to.deep.equal([]);
    });

    it('answers a browser (Accept: text/html) on any spelling with the JSON 401, not a page', async () => {
      for (const target of ['/ADMIN/apps', '/%61dmin/apps', '/x/../admin']) {
        const reply = await raw(h.url, target, { headers: { accept: 'text/html' } });
        expectRefused(reply, target);
        expect(contentTypeOf(reply)).to.match(/^application\/json/);
        expect(reply.headers['cache-control']).to.equal('no-store');
      }
    });

    it('still serves the canonical path with the token (HEAD and OPTIONS included)', async () => {
      const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
      expect((await raw(h.url, '/admin/apps', { headers: auth })).status).to.equal(200);
      expect((await raw(h.url, '/admin/apps', { method: 'HEAD', headers: auth })).status).to.equal(200);
      const options = await raw(h.url, '/admin/apps', { method: 'OPTIONS', headers: auth });
      expect(options.status).to.equal(200);
      expect(String(options.headers.allow)).to.include('POST');
      expect((await raw(h.url, `http://evil.example/admin/apps/${app.app_id}`, { headers: auth })).status).to.equal(200);
    });
  });
}

describe('admin authentication: lockout, wiring and outages', function () {
  this.timeout(60_000);

  it('counts failures in every spelling towards the per-IP lockout', async () => {
    const h = await new Harness().start({}, { adminAuthFailuresPerIp: 6 });
    try {
      for (const target of ['/ADMIN/apps', '/%61dmin/apps', '//admin/apps', '/x/../admin/apps', '/admin/apps/', '/Admin/Apps']) {
        expect((await raw(h.url, target)).status, target).to.equal(401);
      }
      // The right token on the right path is now refused too: guessing cannot go on.
      expect((await h.admin('GET', '/admin/apps')).status).to.equal(429);
      expect((await raw(h.url, '/ADMIN/apps', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).to.equal(429);
    } finally {
      await h.stop();
    }
  });

  it('refuses every admin route reached without the gate (a wiring mistake fails closed)', async () => {
    const touched: string[] = [];
    const spy = new Proxy({}, { get: (_t, name) => (touched.push(String(name)), () => Promise.reject(new Error('service reached'))) });
    const router = adminRouter({ apps: spy as never, publicUrl: 'http://localhost', audit: spy as never, rules: { httpLoopbackEndpoints: false } });
    const signOuts = adminSignOutRouter({ apps: spy as never, documents: spy as never, backchannel: spy as never, audit: spy as never });
    const clients = clientRouter({ apps: spy as never, clients: spy as never, audit: spy as never, rules: { httpLoopbackEndpoints: false } });
    const app = new Koa();
    app.use(errorHandler(createLogger('silent'), errorPage));
    app.use(router.routes());
    app.use(signOuts.routes());
    app.use(clients.routes());
    const http = createServer(app.callback());
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    try {
      const layers = [router, signOuts, clients].flatMap(routesOf);
      expect(layers.length).to.be.greaterThan(18);
      for (const layer of layers) {
        expect(layer.stack[0], `${layer.path} starts with requireAdminGate`).to.equal(requireAdminGate);
        for (const method of layer.methods) {
          const path = fillPath(layer.path, {}, '0b6d1f7e-3b2a-4c9d-8e7f-0a1b2c3d4e5f');
          const reply = await raw(url, path, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, ...(method === 'HEAD' ? {} : { body: HOSTILE_BODY }) });
          expect(reply.status, `${method} ${path}`).to.equal(401);
        }
      }
      expect(touched, 'no service was reached').to.deep.equal([]);
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it('lets nothing through while Redis is down, and nothing changed once it is back', async () => {
    const redis = await new RedisServer().start();
    const h = await new Harness().start({ REDIS_URL: redis.url }, { adminAuthFailuresPerIp: 1_000_000 });
    try {
      const app = await h.createApp();
      const before = await snapshot(h);
      await redis.stop();
      const targets = spellings('/admin/apps/:id', app.app_id);
      const replies = await inParallel(
        targets.flatMap((target) =>
          ['GET', 'PATCH', 'DELETE', 'POST'].map((method) => () => raw(h.url, target, { method, headers: { 'content-type': 'application/json' }, body: HOSTILE_BODY })),
        ),
        8,
      );
      for (const reply of replies) {
        expect(reply.status, reply.body.slice(0, 200)).to.be.oneOf([401, 503]);
        expectNoLeak(reply.body, 'redis down');
      }
      await redis.start(redis.port);
      await h.untilReady();
      expect(await snapshot(h)).to.deep.equal(before);
    } finally {
      await h.stop();
      await redis.destroy();
    }
  });
});
