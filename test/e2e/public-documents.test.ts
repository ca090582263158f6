// Discovery and the JWKS come from a cache kept per Provider (src/tenancy/public-documents.ts):
// the same bytes as the engine's answer, a strong ETag, 304 for a matching If-None-Match,
// and a new document as soon as the app or its keys change.
import { expect } from 'chai';
import { Harness, type AppJson } from '../helpers/harness.ts';

const DISCOVERY = '/.well-known/openid-configuration';

describe('discovery and JWKS from the per-app cache', () => {
  const h = new Harness();
  let app: AppJson;
  let other: AppJson;

  before(async () => {
    await h.start();
    app = await h.createApp({ name: 'Cached' });
    other = await h.createApp({ name: 'Other' });
  });
  after(() => h.stop());

  const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });

  for (const path of [DISCOVERY, '/jwks']) {
    it(`${path}: the first answer and every later one are the same document, with an ETag and public caching`, async () => {
      const answers = await Promise.all(Array.from({ length: 20 }, () => get(`${app.issuer}${path}`)));
      const bodies = await Promise.all(answers.map((r) => r.text()));
      for (const res of answers) {
        expect(res.status).to.equal(200);
        expect(res.headers.get('etag')).to.match(/^"[A-Za-z0-9_-]{43}"$/);
        expect(res.headers.get('etag')).to.equal(answers[0]!.headers.get('etag'));
        expect(res.headers.get('cache-control')).to.equal('public, max-age=300');
        expect(res.headers.get('content-type')).to.equal(path === '/jwks' ? 'application/jwk-set+json; charset=utf-8' : 'application/json; charset=utf-8');
        expect(res.headers.get('x-content-type-options')).to.equal('nosniff');
      }
      expect(new Set(bodies).size).to.equal(1);
      expect(JSON.parse(bodies[0]!)).to.be.an('object');
    });

    it(`${path}: 304 with no body for a matching If-None-Match (also weak, in a list, or "*"), 200 for any other tag`, async () => {
      const etag = (await get(`${app.issuer}${path}`)).headers.get('etag')!;
      for (const tag of [etag, `W/${etag}`, `"nope", ${etag}`, '*']) {
        const res = await get(`${app.issuer}${path}`, { 'if-none-match': tag });
        expect(res.status, tag).to.equal(304);
        expect(await res.text()).to.equal('');
        expect(res.headers.get('etag')).to.equal(etag);
        expect(res.headers.get('cache-control')).to.equal('public, max-age=300');
      }
      for (const tag of ['"nope"', etag.toUpperCase(), etag.slice(1, -1), '', '""']) {
        const res = await get(`${app.issuer}${path}`, { 'if-none-match': tag });
        expect(res.status, tag).to.equal(200);
      }
      // Another app's tag is another document.
      const others = (await get(`${other.issuer}${path}`)).headers.get('etag')!;
      expect(others).not.to.equal(etag);
      expect((await get(`${other.issuer}${path}`, { 'if-none-match': etag })).status).to.equal(200);
    });

    it(`${path}: CORS is the request's own: each Origin is reflected, never one kept from an earlier request`, async () => {
      const a = await get(`${app.issuer}${path}`, { origin: 'https://a.example' });
      const b = await get(`${app.issuer}${path}`, { origin: 'https://b.example' });
      const none = await get(`${app.issuer}${path}`);
      expect(a.headers.get('access-control-allow-origin')).to.equal('https://a.example');
      expect(b.headers.get('access-control-allow-origin')).to.equal('https://b.example');
      expect(none.headers.get('access-control-allow-origin')).to.equal('*');
      for (const res of [a, b, none]) expect(res.headers.get('vary')).to.match(/origin/i);
    });
  }

  it('ignores a forged Host and X-Forwarded-Host: the cached issuer is PUBLIC_URL\'s', async () => {
    const forged = await (await get(`${app.issuer}${DISCOVERY}`, { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' })).json();
    expect((forged as { issuer: string }).issuer).to.equal(app.issuer);
  });

  it('serves the new JWKS and discovery as soon as the keys rotate or the app changes', async () => {
    const jwks = async () => (await (await get(`${app.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
    const before = await get(`${app.issuer}/jwks`);
    const etag = before.headers.get('etag')!;
    const kids = ((await before.json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    const rotated = await h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate?immediate=true`);
    expect(rotated.status).to.equal(200);
    const after = await jwks();
    expect(after.keys.map((k) => k.kid)).to.have.members((rotated.body as { keys: { kid: string }[] }).keys.map((k) => k.kid));
    expect(after.keys.map((k) => k.kid)).not.to.include.members(kids);
    // A client holding the old tag gets the new document, not a 304.
    expect((await get(`${app.issuer}/jwks`, { 'if-none-match': etag })).status).to.equal(200);

    // Discovery lists every algorithm a client may register; the keys of one arrive with the change that chooses it.
    const discovery = async () => (await (await get(`${app.issuer}${DISCOVERY}`)).json()) as Record<string, string[]>;
    expect((await discovery()).id_token_signing_alg_values_supported).to.include('ES256');
    const algs = async () => (await (await get(`${app.issuer}/jwks`)).json() as { keys: { alg: string }[] }).keys.map((k) => k.alg);
    expect(await algs()).not.to.include('ES256');
    const changed = await h.admin('PATCH', `/admin/apps/${app.app_id}`, { id_token_signed_response_alg: 'ES256' });
    expect(changed.status).to.equal(200);
    expect(await algs()).to.include('ES256');
    expect((await discovery()).id_token_signing_alg_values_supported).to.include('ES256');
  });

  it('leaves HEAD, other methods and unknown apps to the engine and the router', async () => {
    expect((await fetch(`${app.issuer}/jwks`, { method: 'HEAD' })).status).to.equal(200);
    expect((await fetch(`${app.issuer}/jwks`, { method: 'POST' })).status).to.not.equal(200);
    expect((await get(`${h.url}/apps/00000000-0000-4000-8000-000000000000${DISCOVERY}`)).status).to.equal(404);
  });
});
