// The root app walks only the routers that have a route a request's path could be
// (http/mount-router.ts, mountRouters). Skipping a router must never change an answer: a
// router is skipped only when none of its routes could match, whatever the spelling.
import { expect } from 'chai';
import fc from 'fast-check';
import { pathsOf } from '../../src/http/mount-router.ts';
import { Harness } from '../helpers/harness.ts';
import { fillPath, otherSpellings, routesOf } from '../helpers/routes.ts';
import { raw } from './support.ts';

describe('router dispatch', () => {
  const h = new Harness();
  let appId: string;
  before(async () => {
    await h.start();
    appId = (await h.createApp()).app_id;
  });
  after(() => h.stop());

  it('reads every route of every router as segments, so no router is walked for paths it cannot serve', () => {
    for (const [name, router] of Object.entries(h.server.routers)) expect(pathsOf(router), name).to.be.a('function');
  });

  it('never rules out a router whose route matches the path (any spelling, parameter values, trailing slashes, empty segments)', () => {
    for (const [name, router] of Object.entries(h.server.routers)) {
      const mayMatch = pathsOf(router)!;
      const templates = routesOf(router).map((r) => r.path);
      const filled = templates.flatMap((t) => [fillPath(t, {}, 'x'), fillPath(t, {}, 'A%2F.b'), ...otherSpellings(t)]);
      const paths = fc.oneof(
        fc.webPath(),
        fc.constantFrom(...filled),
        fc.constantFrom(...filled).map((p) => `${p}/`),
        fc.constantFrom(...templates).chain((t) => fc.string({ minLength: 0, maxLength: 6 }).map((v) => fillPath(t, {}, v))),
      );
      fc.assert(
        fc.property(paths, (path) => {
          const matched = router.stack.some((layer) => layer.methods.length > 0 && layer.match(path));
          return !matched || mayMatch(path.split('/'));
        }),
        { numRuns: 3000 },
      );
      expect(templates.every((t) => mayMatch(fillPath(t, {}, 'x').split('/'))), name).to.equal(true);
    }
  });

  it('rules out every router for an app engine path, which then goes straight to the engine', () => {
    for (const path of [`/apps/${appId}/me`, `/apps/${appId}/token`, `/apps/${appId}/auth`, `/apps/${appId}/jwks`]) {
      for (const [name, router] of Object.entries(h.server.routers)) expect(pathsOf(router)!(path.split('/')), `${name} ${path}`).to.equal(false);
    }
  });

  it('still answers a known path with a method it lacks 405, with Allow, and an unknown method 501', async () => {
    const lacking = await raw(h.url, '/healthz', { method: 'PUT' });
    expect(lacking.status).to.equal(405);
    expect(lacking.headers['allow']).to.include('GET');
    expect(JSON.parse(lacking.body)).to.include({ error: 'invalid_request' });
    for (const target of ['/healthz', '/nowhere']) {
      const unknown = await raw(h.url, target, { method: 'PROPFIND' });
      expect(unknown.status, target).to.equal(501);
    }
  });

  it('serves the engine behind the routers as before', async () => {
    const discovery = await raw(h.url, `/apps/${appId}/.well-known/openid-configuration`);
    expect(discovery.status).to.equal(200);
    const missing = await raw(h.url, `/apps/${appId}/no-such-endpoint`);
    expect(missing.status).to.equal(404);
  });
});
