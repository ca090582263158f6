// Two apps on one Postern share nothing: keys, sessions, codes, tokens, accounts.
import { expect } from 'chai';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';

describe('two apps are isolated from each other', () => {
  const h = new Harness();
  let a: AppJson;
  let b: AppJson;

  before(async () => {
    await h.start();
    a = await h.createApp({ name: 'App A' });
    b = await h.createApp({ name: 'App B' });
  });
  after(() => h.stop());

  it('have distinct issuers and no key in common', async () => {
    expect(a.issuer).not.to.equal(b.issuer);
    const kids = async (app: AppJson) =>
      ((await (await fetch(`${app.issuer}/jwks`)).json()) as { keys: { kid: string; x?: string; n?: string }[] }).keys;
    const ka = await kids(a);
    const kb = await kids(b);
    for (const key of ka) {
      expect(kb.map((k) => k.kid)).not.to.include(key.kid);
      expect(kb.map((k) => k.x ?? k.n)).not.to.include(key.x ?? key.n);
    }
  });

  it("does not verify one app's ID token with the other's keys", async () => {
    const { tokens } = await h.signIn(a, 'iso@example.com');
    const jwksB = createRemoteJWKSet(new URL(`${b.issuer}/jwks`));
    let failed = false;
    try {
      await jwtVerify(tokens.id_token!, jwksB);
    } catch {
      failed = true;
    }
    expect(failed).to.equal(true);
  });

  it("rejects one app's access token at the other's userinfo and introspection", async () => {
    const { tokens } = await h.signIn(a, 'tokens@example.com');
    const atB = await fetch(`${b.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(atB.status).to.equal(401);
    const configB = await h.client(b);
    expect((await oidc.tokenIntrospection(configB, tokens.access_token)).active).to.equal(false);
    // Still valid where it was issued.
    const atA = await fetch(`${a.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(atA.status).to.equal(200);
  });

  it("does not let a session at one app sign the browser in to the other", async () => {
    const first = await h.signIn(a, 'session-iso@example.com');
    const atB = await h.startLogin(b, first.browser);
    expect(atB.page.status).to.equal(200);
    expect(atB.page.body).to.include('App B');
    expect(atB.page.body).to.include('name="email"');
    // Session cookies are scoped to each app's path.
    const sessionCookies = first.browser.cookies.filter((c) => c.name.startsWith('_session'));
    expect(sessionCookies.length).to.be.greaterThan(0);
    for (const cookie of sessionCookies) expect(cookie.path).to.equal(`/apps/${a.app_id}`);
  });

  it("does not redeem one app's authorization code at the other", async () => {
    const br = new Browser();
    const login = await h.startLogin(a, br);
    const { link } = await h.requestLink(br, login.page, 'code-iso@example.com');
    const callback = await br.submit(await br.navigate(link), {}, '/link', login.redirectUri);
    const code = new URL(callback.url).searchParams.get('code')!;
    const res = await fetch(`${b.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: login.redirectUri,
        code_verifier: login.verifier,
        client_id: a.client_id,
      }),
    });
    expect(res.status).to.be.oneOf([400, 401]);
    expect(((await res.json()) as { error: string }).error).to.be.oneOf(['invalid_client', 'invalid_grant']);
  });

  it("keeps accounts per app and a magic link only works under its own app", async () => {
    await h.signIn(a, 'acct@example.com');
    expect(await h.stores.accounts.find(a.app_id, 'acct@example.com')).not.to.equal(undefined);
    expect(await h.stores.accounts.find(b.app_id, 'acct@example.com')).to.equal(undefined);

    const br = new Browser();
    const login = await h.startLogin(a, br);
    const { link } = await h.requestLink(br, login.page, 'cross@example.com');
    const moved = link.replace(`/apps/${a.app_id}/`, `/apps/${b.app_id}/`);
    const page = await br.navigate(moved);
    expect(page.status).to.equal(404);
    expect(page.body).not.to.include('name="code"');
  });

  it('answers 404 for an unknown or malformed app id, never another app', async () => {
    for (const id of ['00000000-0000-4000-8000-000000000000', 'nope', a.app_id.toUpperCase()]) {
      const res = await fetch(`${h.url}/apps/${id}/.well-known/openid-configuration`);
      expect(res.status, id).to.equal(404);
    }
  });
});
