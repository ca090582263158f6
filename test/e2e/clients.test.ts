// Several clients per app: the admin clients API, secret rotation with a grace period,
// deletion that ends a client's tokens at once, and the hosted login naming the client.
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';

const WEB_URI = 'https://web.example.com/callback';

/** A further client as the harness's flow helpers take it: the app's issuer, the client's id, secret and URIs. */
export function asClient(app: AppJson, client: Record<string, unknown>, secret?: string): AppJson {
  return {
    ...app,
    client_id: client.client_id as string,
    client_secret: secret,
    redirect_uris: client.redirect_uris as string[],
    token_endpoint_auth_method: client.token_endpoint_auth_method ?? 'none',
  };
}

describe('clients of an app (admin API)', () => {
  const h = new Harness();
  let app: AppJson;
  before(async () => {
    await h.start();
    app = await h.createApp();
  });
  after(() => h.stop());

  const clients = (appId = app.app_id) => `/admin/apps/${appId}/clients`;

  it('lists the default client, marked default, and refuses to delete it', async () => {
    const list = await h.admin('GET', clients());
    expect(list.status).to.equal(200);
    expect(list.body.clients).to.have.length(1);
    expect(list.body.clients[0]).to.include({ client_id: app.app_id, default: true });
    const del = await h.admin('DELETE', `${clients()}/${app.app_id}`);
    expect(del.status).to.equal(409);
    expect(del.body.error_description).to.match(/default client/);
  });

  it('creates a confidential client whose secret is shown once, and signs in with it: aud is the client, auth_time as for every client', async () => {
    const created = await h.admin('POST', clients(), {
      client_name: 'Back office',
      redirect_uris: [REDIRECT_URI],
      token_endpoint_auth_method: 'client_secret_basic',
      logo_uri: 'https://cdn.example.com/logo.png',
    });
    expect(created.status).to.equal(201);
    expect(created.body.client_secret).to.be.a('string');
    expect(created.body.client_id).to.not.equal(app.app_id);
    const read = await h.admin('GET', `${clients()}/${created.body.client_id}`);
    expect(read.body).to.not.have.property('client_secret');
    expect(read.body).to.include({ client_name: 'Back office', default: false, origin: 'admin' });

    const client = asClient(app, created.body, created.body.client_secret);
    const { tokens, browser, page } = await h.signIn(client, 'ada@example.com');
    const claims = decodeJwt(tokens.id_token!);
    expect(claims.aud).to.equal(created.body.client_id);
    // Every ID token says when the person signed in (integrating.md), whoever made the client.
    expect(claims.auth_time).to.be.a('number');
    void browser;
    void page;
  });

  it('shows the client name on the hosted login page', async () => {
    const created = await h.admin('POST', clients(), { client_name: 'Field app', redirect_uris: [REDIRECT_URI] });
    const { Browser } = await import('../helpers/browser.ts');
    const login = await h.startLogin(asClient(app, created.body), new Browser());
    expect(login.page.body).to.include('Field app');
  });

  it("shows a further client's own name, logo and links on the login page and in the mail, over the app's", async () => {
    await h.admin('PATCH', `/admin/apps/${app.app_id}`, { client_uri: 'https://app.example.com/', policy_uri: 'https://app.example.com/privacy' });
    const created = await h.admin('POST', clients(), {
      client_name: 'Field app',
      redirect_uris: [REDIRECT_URI],
      // A path with `;` and `,`: allowed in a URI, and must never end or split the CSP source.
      logo_uri: "https://cdn.example.com/logo;script-src,x.png",
      client_uri: 'https://field.example.com/',
    });
    expect(created.status).to.equal(201);
    const { Browser } = await import('../helpers/browser.ts');
    const browser = new Browser();
    const login = await h.startLogin(asClient(app, created.body), browser);
    expect(login.page.body).to.include('Field app').and.include('https://field.example.com/').and.include('https://app.example.com/privacy');
    const csp = login.page.headers.get('content-security-policy')!;
    const imgSrc = csp.split(';').map((d) => d.trim()).find((d) => d.startsWith('img-src'))!;
    expect(imgSrc).to.include('https://cdn.example.com/logo%3Bscript-src%2Cx.png');
    expect(csp.split(';').map((d) => d.trim().split(' ')[0])).to.not.include('x.png');
    // `$1` and `$&` in the path are the path's: no directive made of the policy's own text.
    const dollars = await h.admin('POST', clients(), { redirect_uris: [REDIRECT_URI], logo_uri: 'https://cdn.example.com/x$1form-action$1$&y.png' });
    expect(dollars.status).to.equal(201);
    const dollarCsp = (await h.startLogin(asClient(app, dollars.body), new Browser())).page.headers.get('content-security-policy')!;
    const directives = dollarCsp.split(';').map((d) => d.trim().split(' ')[0]);
    expect(directives).to.not.include('form-action');
    expect(directives.filter((d) => d === 'img-src')).to.have.length(1);
    expect(dollarCsp).to.include(' https://cdn.example.com/x$1form-action$1$&y.png');
    const { mail } = await h.requestLink(browser, login.page, 'field@example.com');
    expect(mail.html).to.include('Field app').and.include('https://field.example.com/');
    expect(mail.subject + mail.text).to.include('Field app');
  });

  it('rotates a secret: the old one works during the grace period, then never again', async () => {
    const created = await h.admin('POST', clients(), { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'client_secret_post' });
    const id = created.body.client_id as string;
    const oldSecret = created.body.client_secret as string;
    const rotated = await h.admin('POST', `${clients()}/${id}/secret`, { grace_period_seconds: 60 });
    expect(rotated.status).to.equal(200);
    expect(rotated.body.client_secret).to.be.a('string').and.not.equal(oldSecret);

    const introspect = async (secret: string) =>
      fetch(`${app.issuer}/token/introspection`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: id, client_secret: secret, token: 'nothing' }),
      });
    expect((await introspect(oldSecret)).status).to.equal(200);
    expect((await introspect(rotated.body.client_secret)).status).to.equal(200);
    expect((await introspect('wrong')).status).to.equal(401);
    // As long as the current secret, but with a character of two bytes: refused, never a 500.
    expect((await introspect(`é${rotated.body.client_secret.slice(1)}`)).status).to.equal(401);
    h.clock.travel(61);
    expect((await introspect(oldSecret)).status).to.equal(401);
    expect((await introspect(rotated.body.client_secret)).status).to.equal(200);
  });

  it("rotates the default client's secret too, with its grace period by HTTP Basic, and only by the registered method", async () => {
    const own = await h.createApp({ token_endpoint_auth_method: 'client_secret_basic' });
    const rotated = await h.admin('POST', `/admin/apps/${own.app_id}/clients/${own.app_id}/secret`, { grace_period_seconds: 30 });
    expect(rotated.status).to.equal(200);
    const introspect = (secret: string, how: 'basic' | 'post') =>
      fetch(`${own.issuer}/token/introspection`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(how === 'basic' && { authorization: `Basic ${Buffer.from(`${own.app_id}:${secret}`).toString('base64')}` }) },
        body: new URLSearchParams({ token: 'nothing', ...(how === 'post' && { client_id: own.app_id, client_secret: secret }) }),
      }).then((res) => res.status);
    expect(await introspect(own.client_secret!, 'basic')).to.equal(200);
    expect(await introspect(rotated.body.client_secret, 'basic')).to.equal(200);
    // The old secret in the form is refused as any secret sent the other way.
    expect(await introspect(own.client_secret!, 'post')).to.equal(401);
    expect((await h.admin('GET', `/admin/apps/${own.app_id}/clients/${own.app_id}`)).body.previous_secret_expires_at).to.be.a('string');
    h.clock.travel(31);
    expect(await introspect(own.client_secret!, 'basic')).to.equal(401);
    // A public client has no secret to rotate.
    expect((await h.admin('POST', `/admin/apps/${app.app_id}/clients/${app.app_id}/secret`, {})).status).to.equal(409);
  });

  it('deleting a client ends its tokens at once and makes it unknown', async () => {
    const created = await h.admin('POST', clients(), { redirect_uris: [REDIRECT_URI] });
    const client = asClient(app, created.body);
    const { tokens, config } = await h.signIn(client, 'bo@example.com', {});
    const del = await h.admin('DELETE', `${clients()}/${created.body.client_id}`);
    expect(del.status).to.equal(204);
    const userinfo = await fetch(`${app.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(userinfo.status).to.equal(401);
    let refused: unknown;
    await oidc.refreshTokenGrant(config, tokens.refresh_token ?? 'none').catch((err: unknown) => (refused = err));
    expect(refused).to.exist;
    expect((await h.admin('GET', `${clients()}/${created.body.client_id}`)).status).to.equal(404);
  });
});
