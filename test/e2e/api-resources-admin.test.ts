// The admin API for an app's APIs (resources): register, list, read, change, delete;
// validation with clear 400s; audit events; and a change reaches the app's Provider.
import { expect } from 'chai';
import { Harness, type AppJson } from '../helpers/harness.ts';

interface ResourceJson {
  id: string;
  identifier: string;
  name: string | null;
  scopes: string[];
  access_token_ttl: number;
  created_at: string;
  updated_at: string;
}

describe('admin API: API resources', function () {
  this.timeout(60_000);
  const h = new Harness();
  let app: AppJson;
  before(async () => {
    await h.start();
    app = await h.createApp();
  });
  after(() => h.stop());

  const base = (target: AppJson = app) => `/admin/apps/${target.app_id}/resources`;
  const create = (body: unknown, target: AppJson = app) => h.admin('POST', base(target), body);
  const auditTypes = async (target: AppJson) => {
    await h.server.audit.flushed();
    const page = await h.admin('GET', `/admin/apps/${target.app_id}/audit`);
    return (page.body.events as { type: string; reason?: string }[]).filter((e) => e.type.startsWith('resource.'));
  };

  describe('the admin', () => {
    it('registers, lists, reads, changes and deletes a resource, each change audited', async () => {
      const target = await h.createApp({ name: 'CRUD' });
      const created = await create({ identifier: 'https://api.example.com', name: 'Things API', scopes: ['read:things', 'write:things'], access_token_ttl: 600 }, target);
      expect(created.status).to.equal(201);
      const resource = created.body as ResourceJson;
      expect(resource.id).to.match(/^res_[A-Za-z0-9_-]{16}$/);
      expect(resource).to.include({ identifier: 'https://api.example.com', name: 'Things API', access_token_ttl: 600 });
      expect(resource.scopes).to.deep.equal(['read:things', 'write:things']);
      expect(created.headers.get('location')).to.equal(`${base(target)}/${resource.id}`);

      expect((await h.admin('GET', base(target))).body).to.deep.equal({ resources: [resource] });
      expect((await h.admin('GET', `${base(target)}/${resource.id}`)).body).to.deep.equal(resource);

      const patched = await h.admin('PATCH', `${base(target)}/${resource.id}`, { scopes: ['read:things'], name: null, access_token_ttl: 60 });
      expect(patched.status).to.equal(200);
      expect(patched.body).to.include({ id: resource.id, identifier: 'https://api.example.com', name: null, access_token_ttl: 60 });
      expect(patched.body.scopes).to.deep.equal(['read:things']);

      expect((await h.admin('DELETE', `${base(target)}/${resource.id}`)).status).to.equal(204);
      expect((await h.admin('GET', `${base(target)}/${resource.id}`)).status).to.equal(404);
      expect((await h.admin('GET', base(target))).body).to.deep.equal({ resources: [] });

      const events = await auditTypes(target);
      expect(events.map((e) => e.type).sort()).to.deep.equal(['resource.created', 'resource.deleted', 'resource.updated']);
      for (const event of events) expect(event.reason).to.equal(`${resource.id} https://api.example.com`);
    });

    it('gets the default lifetime (5 minutes) and may use http on a loopback host', async () => {
      const res = await create({ identifier: 'http://localhost:4000/api', scopes: ['x'] });
      expect(res.status).to.equal(201);
      expect(res.body).to.include({ access_token_ttl: 300, name: null });
    });

    it('a change reaches the app at once: a new scope can be asked for on the next request', async () => {
      const target = await h.createApp({ name: 'Live change' });
      const { id } = (await create({ identifier: 'https://live.example.com', scopes: ['a'] }, target)).body as ResourceJson;
      const answerTo = async (scope: string) => {
        const { url } = await h.authorizationRequest(target, { scope, params: { resource: 'https://live.example.com' } });
        return (await fetch(url, { redirect: 'manual' })).headers.get('location') ?? '';
      };
      expect(new URL(await answerTo('openid b')).searchParams.get('error')).to.equal('invalid_target');
      await h.admin('PATCH', `${base(target)}/${id}`, { scopes: ['a', 'b'] });
      // Now the request goes on to the hosted login.
      expect(await answerTo('openid b')).to.include(`/apps/${target.app_id}/interaction/`);
    });
  });

  describe('hostile or mistaken input', () => {
    const refusals: [string, unknown, RegExp][] = [
      ['http on a public host', { identifier: 'http://api.example.com', scopes: ['x'] }, /identifier must use https/],
      ['a fragment', { identifier: 'https://api.example.com/#x', scopes: ['x'] }, /identifier must not contain a fragment/],
      ['a query', { identifier: 'https://api.example.com/?v=1', scopes: ['x'] }, /must not contain a query/],
      ['a relative URI', { identifier: '/api', scopes: ['x'] }, /identifier must be an absolute URI/],
      ['a private-use scheme', { identifier: 'com.example.app:/api', scopes: ['x'] }, /identifier must use https/],
      ['credentials', { identifier: 'https://user:pw@api.example.com', scopes: ['x'] }, /must not contain credentials/],
      ['an OpenID scope', { identifier: 'https://a.example.com', scopes: ['read', 'openid'] }, /OpenID Connect scope "openid"/],
      ['offline_access', { identifier: 'https://a.example.com', scopes: ['offline_access'] }, /OpenID Connect scope/],
      ['a scope with a space', { identifier: 'https://a.example.com', scopes: ['read things'] }, /scope tokens/],
      ['a scope with a quote', { identifier: 'https://a.example.com', scopes: ['read"'] }, /scope tokens/],
      ['a non-ASCII scope', { identifier: 'https://a.example.com', scopes: ['lire:tête'] }, /scope tokens/],
      ['no scopes', { identifier: 'https://a.example.com', scopes: [] }, /scopes must be an array of 1/],
      ['scopes as a string', { identifier: 'https://a.example.com', scopes: 'read' }, /scopes must be an array/],
      ['a TTL too short', { identifier: 'https://a.example.com', scopes: ['x'], access_token_ttl: 59 }, /access_token_ttl must be an integer number of seconds from 60 to 3600/],
      ['a TTL too long', { identifier: 'https://a.example.com', scopes: ['x'], access_token_ttl: 3601 }, /from 60 to 3600/],
      ['a fractional TTL', { identifier: 'https://a.example.com', scopes: ['x'], access_token_ttl: 300.5 }, /access_token_ttl/],
      ['an unknown field', { identifier: 'https://a.example.com', scopes: ['x'], audience: 'y' }, /Unknown field "audience"/],
      ['no identifier', { scopes: ['x'] }, /identifier is required/],
      ['an array body', [], /JSON object/],
      ['a name with a bidi override', { identifier: 'https://a.example.com', scopes: ['x'], name: 'a\u202Eb' }, /control characters/],
    ];
    for (const [what, body, message] of refusals) {
      it(`refuses ${what} with a 400 that says why`, async () => {
        const res = await create(body);
        expect(res.status, JSON.stringify(res.body)).to.equal(400);
        expect(res.body.error_description).to.match(message);
      });
    }

    it("refuses Postern's own URLs as an identifier, in any spelling: the issuer and URIs under it, another app's issuer, PUBLIC_URL", async () => {
      const other = await h.createApp({ name: 'Other issuer' });
      const own = [app.issuer, `${app.issuer}/`, `${app.issuer}/me`, app.issuer.replace('/apps/', '/APPS/'), app.issuer.replace('/apps/', '/%61pps/')];
      for (const identifier of [...own, other.issuer, h.url, `${h.url}/`, `${h.url}/admin`]) {
        const res = await create({ identifier, scopes: ['x'] });
        expect(res.status, identifier).to.equal(400);
        expect(res.body.error_description).to.match(/must not be Postern's own URL/);
      }
    });

    it('refuses a second resource with the same identifier in another spelling, also in a parallel burst', async () => {
      const target = await h.createApp({ name: 'Unique' });
      expect((await create({ identifier: 'https://dup.example.com', scopes: ['x'] }, target)).status).to.equal(201);
      for (const identifier of ['https://dup.example.com', 'https://DUP.example.com/', 'https://dup.example.com:443']) {
        const res = await create({ identifier, scopes: ['y'] }, target);
        expect(res.status, identifier).to.equal(400);
        expect(res.body.error_description).to.match(/already registered/);
      }
      const burst = await Promise.all(Array.from({ length: 6 }, () => create({ identifier: 'https://burst.example.com', scopes: ['x'] }, target)));
      expect(burst.filter((r) => r.status === 201)).to.have.length(1);
      expect(burst.filter((r) => r.status !== 201).every((r) => r.status === 400 || r.status === 409)).to.equal(true);
      const identifiers = ((await h.admin('GET', base(target))).body.resources as ResourceJson[]).map((r) => r.identifier);
      expect(identifiers.sort()).to.deep.equal(['https://burst.example.com', 'https://dup.example.com']);
    });

    it("cannot reach another app's resource through its own app's path, nor an unknown app's", async () => {
      const owner = await h.createApp({ name: 'Owner' });
      const { id } = (await create({ identifier: 'https://owned.example.com', scopes: ['x'] }, owner)).body as ResourceJson;
      for (const method of ['GET', 'PATCH', 'DELETE']) {
        const res = await h.admin(method, `${base(app)}/${id}`, method === 'PATCH' ? { name: 'stolen' } : undefined);
        expect(res.status, method).to.equal(404);
      }
      expect((await h.admin('GET', `/admin/apps/00000000-0000-4000-8000-000000000000/resources`)).status).to.equal(404);
      expect((await h.admin('GET', `${base(owner)}/${id}`)).body.name).to.equal(null);
    });

    it('needs the admin token', async () => {
      expect((await h.admin('GET', base(), undefined, '')).status).to.equal(401);
      expect((await h.admin('POST', base(), { identifier: 'https://x.example.com', scopes: ['x'] }, 'wrong')).status).to.equal(401);
    });

    it('refuses more than 20 resources per app', async () => {
      const target = await h.createApp({ name: 'Many' });
      for (let i = 0; i < 20; i++) expect((await create({ identifier: `https://api${i}.example.com`, scopes: ['x'] }, target)).status).to.equal(201);
      const res = await create({ identifier: 'https://api20.example.com', scopes: ['x'] }, target);
      expect(res.status).to.equal(400);
      expect(res.body.error_description).to.match(/at most 20 resources/);
    });
  });
});
