// Back-Channel Logout 1.0 for every client of an app: the default client, one the admin
// created and one registered through RFC 7591, signed in through one browser session, each
// with its own back end (LogoutReceiver). Every way a session ends tells each of them with a
// token of its own (audience its client_id, signed with its ID token algorithm), checked
// with jose against the app's JWKS; a client without a URI, another app's client and a
// client deleted meanwhile hear nothing; a redirecting back end is not followed; bad URIs
// are refused at registration with RFC 7591 errors.
import { expect } from 'chai';
import { decodeJwt } from 'jose';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import { Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';
import { LogoutReceiver, verifyLogoutToken } from '../helpers/logout-receiver.ts';
import { audits } from '../security/support.ts';
import { asClient } from '../e2e/clients.test.ts';

describe('conformance: back-channel logout for every client of an app', function () {
  this.timeout(60_000);
  const h = new Harness();
  const appRp = new LogoutReceiver();
  const adminRp = new LogoutReceiver();
  const regRp = new LogoutReceiver();
  const otherRp = new LogoutReceiver();
  const receivers = [appRp, adminRp, regRp, otherRp];
  let app: AppJson;
  let other: AppJson;
  /** Created by the admin, signing its ID tokens (so its logout tokens) with RS256. */
  let adminClient: AppJson;
  /** Registered through RFC 7591 with an initial access token. */
  let registered: AppJson;
  /** A further client without a backchannel_logout_uri. */
  let silent: AppJson;

  const addClient = async (body: Record<string, unknown>) => {
    const res = await h.admin('POST', `/admin/apps/${app.app_id}/clients`, { redirect_uris: [REDIRECT_URI], ...body });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return asClient(app, res.body as Record<string, unknown>, res.body.client_secret as string | undefined);
  };

  const mint = async (policy?: { redirect_uri_hosts: string[] }) => {
    const res = await h.admin('POST', `/admin/apps/${app.app_id}/initial-access-tokens`, { max_uses: 10, ...(policy && { policy }) });
    expect(res.status).to.equal(201);
    return res.body.initial_access_token as string;
  };

  const register = (metadata: Record<string, unknown>, token: string) =>
    fetch(`${app.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(metadata),
    }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, any> }));

  /** A sign-in at `client` in a browser already signed in to the app: no login page (prompt=none). */
  async function alsoSignIn(client: AppJson, browser: Browser) {
    const request = await h.authorizationRequest(client, { params: { prompt: 'none' } });
    const page = await browser.navigate(request.url.href, {}, request.redirectUri);
    return oidc.authorizationCodeGrant(request.config, new URL(page.url), {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
    });
  }

  /** One browser session signed in to the default client and the three further ones; the sid each client's ID tokens carry. */
  async function signInEverywhere(email: string) {
    const first = await h.signIn(app, email);
    const sids: Record<string, string> = { [app.client_id]: decodeJwt(first.tokens.id_token!).sid as string };
    for (const client of [adminClient, registered, silent]) {
      sids[client.client_id] = decodeJwt((await alsoSignIn(client, first.browser)).id_token!).sid as string;
    }
    return { ...first, sids };
  }

  /** Checks each receiver got exactly one valid token for its own client and the session's sid there. */
  async function expectEachClientTold(email: string, sids: Record<string, string>) {
    await h.server.backchannel.idle();
    const expected: [LogoutReceiver, AppJson, string][] = [
      [appRp, app, 'ES512'],
      [adminRp, adminClient, 'RS256'],
      [regRp, registered, 'ES512'],
    ];
    for (const [receiver, client, alg] of expected) {
      expect(receiver.tokens, `tokens for ${client.client_id}`).to.have.length(1);
      const claims = await verifyLogoutToken(receiver.tokens[0]!, client, { alg });
      expect(claims).to.include({ sub: email, aud: client.client_id, sid: sids[client.client_id] });
    }
    expect(otherRp.received, "another app's client hears nothing").to.deep.equal([]);
    await h.server.audit.flushed();
    const delivered = audits(h).filter((a) => a.type === 'logout.backchannel_delivered' && a.email === email);
    expect(delivered.map((a) => a.client_id).sort(), 'audited once per client told').to.deep.equal([app.client_id, adminClient.client_id, registered.client_id].sort());
  }

  before(async () => {
    await h.start({}, { backchannel: { retryDelaysMs: [50, 100], sendTimeoutMs: 1_000 } });
    for (const receiver of receivers) await receiver.start();
    app = await h.createApp({ name: 'Many Clients', backchannel_logout_uri: appRp.url });
    other = await h.createApp({ name: 'Other App', backchannel_logout_uri: otherRp.url });
    adminClient = await addClient({ backchannel_logout_uri: adminRp.url, backchannel_logout_session_required: true, id_token_signed_response_alg: 'RS256' });
    const reg = await register({ redirect_uris: [REDIRECT_URI], backchannel_logout_uri: regRp.url }, await mint());
    expect(reg.status, JSON.stringify(reg.body)).to.equal(201);
    expect(reg.body.backchannel_logout_uri, 'the registration response echoes the URI').to.equal(regRp.url);
    registered = asClient(app, reg.body);
    silent = await addClient({ client_name: 'No back end' });
  });
  after(async () => {
    await h.stop();
    for (const receiver of receivers) await receiver.stop();
  });
  beforeEach(async () => {
    await h.server.backchannel.idle();
    for (const receiver of receivers) {
      receiver.received.length = 0;
      receiver.script.length = 0;
    }
  });

  it('the admin API shows each further client its own back-channel logout URI, and the registered one is stored', async () => {
    const shown = await h.admin('GET', `/admin/apps/${app.app_id}/clients/${adminClient.client_id}`);
    expect(shown.body).to.include({ backchannel_logout_uri: adminRp.url, backchannel_logout_session_required: true });
    const stored = (await h.stores.apps.get(app.app_id))?.clients?.find((c) => c.clientId === registered.client_id);
    expect(stored?.metadata.backchannel_logout_uri, 'the registered URI is stored').to.equal(regRp.url);
  });

  it('RP-initiated logout of everything: every client the session signed in to gets its own token; one without a URI gets nothing', async () => {
    const email = 'rp-many@example.com';
    const { browser, tokens, sids } = await signInEverywhere(email);
    const confirm = await browser.navigate(`${app.issuer}/session/end?${new URLSearchParams({ id_token_hint: tokens.id_token! })}`);
    expect((await browser.submit(confirm, { logout: 'yes' })).body).to.include('You have signed out');
    await expectEachClientTold(email, sids);
  });

  it('sign out everywhere (revoke_all with the default client\'s token) tells every client of the session', async () => {
    const email = 'revoke-many@example.com';
    const { tokens, sids } = await signInEverywhere(email);
    const res = await fetch(`${app.issuer}/token/revoke_all`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ client_id: app.client_id, token: tokens.access_token }),
    });
    expect(res.status).to.equal(200);
    await expectEachClientTold(email, sids);
  });

  it('the admin sign-out tells every client of the session, and counts a notification per client', async () => {
    const email = 'admin-many@example.com';
    const { sids } = await signInEverywhere(email);
    const reply = await h.admin('POST', `/admin/apps/${app.app_id}/sign-outs`, { email });
    expect(reply.body).to.include({ sessions_ended: 1, backchannel_logouts_queued: 3 });
    await expectEachClientTold(email, sids);
  });

  it('a parallel burst of admin sign-outs tells each client once', async () => {
    const email = 'burst-many@example.com';
    const { sids } = await signInEverywhere(email);
    await Promise.all(Array.from({ length: 8 }, () => h.admin('POST', `/admin/apps/${app.app_id}/sign-outs`, { email })));
    await expectEachClientTold(email, sids);
  });

  it('a client deleted before its delivery gets nothing more, audited with its client_id', async () => {
    const rp = new LogoutReceiver();
    await rp.start();
    try {
      const doomed = await addClient({ backchannel_logout_uri: rp.url });
      const signedIn = await h.signIn(doomed, 'doomed@example.com');
      rp.script.push(500, 500, 500);
      await h.admin('POST', `/admin/apps/${app.app_id}/sign-outs`, { email: 'doomed@example.com' });
      await rp.until('the first attempt', () => rp.received.length === 1);
      expect((await h.admin('DELETE', `/admin/apps/${app.app_id}/clients/${doomed.client_id}`)).status).to.equal(204);
      await h.server.backchannel.idle();
      await h.server.audit.flushed();
      const outcomes = audits(h).filter((a) => a.email === 'doomed@example.com' && String(a.type).startsWith('logout.backchannel'));
      expect(outcomes.map((a) => [a.type, a.client_id, a.reason])).to.deep.equal([['logout.backchannel_failed', doomed.client_id, 'admin_sign_out: the client was deleted']]);
      expect(rp.received.length, 'no attempt after the deletion').to.be.below(3);
      expect(signedIn.tokens.id_token).to.be.a('string');
    } finally {
      await rp.stop();
    }
  });

  it("never follows a registered client's redirect: its target hears nothing, the failure is audited for that client", async () => {
    const email = 'redirecting@example.com';
    await signInEverywhere(email);
    regRp.script.push({ redirect: otherRp.url }, { redirect: otherRp.url }, { redirect: otherRp.url });
    await h.admin('POST', `/admin/apps/${app.app_id}/sign-outs`, { email });
    await h.server.backchannel.idle();
    expect(otherRp.received, 'the redirect target').to.deep.equal([]);
    await h.server.audit.flushed();
    const failed = audits(h).filter((a) => a.type === 'logout.backchannel_failed' && a.email === email);
    expect(failed.map((a) => a.client_id)).to.deep.equal([registered.client_id]);
    expect(String(failed[0]!.reason)).to.include('redirects are not followed');
  });

  it('refuses bad back-channel metadata at registration with RFC 7591 errors, spending no use of the token', async () => {
    const token = await mint({ redirect_uri_hosts: ['app.example.com'] });
    const base = { redirect_uris: ['https://app.example.com/cb'] };
    const refused: [Record<string, unknown>, string][] = [
      [{ backchannel_logout_uri: 'http://app.example.com/bc' }, 'invalid_client_metadata'],
      [{ backchannel_logout_uri: 'ftp://app.example.com/bc' }, 'invalid_client_metadata'],
      [{ backchannel_logout_uri: 'javascript:alert(1)' }, 'invalid_client_metadata'],
      [{ backchannel_logout_uri: 'https://evil.example.com/bc' }, 'invalid_client_metadata'],
      [{ backchannel_logout_uri: 'https://app.example.com.evil.example/bc' }, 'invalid_client_metadata'],
      [{ backchannel_logout_uri: 'https://app.example.com%2F@evil.example/bc' }, 'invalid_client_metadata'],
      [{ backchannel_logout_uri: 'HTTPS://EVIL.example.com/bc' }, 'invalid_client_metadata'],
      [{ backchannel_logout_uri: ['https://app.example.com/bc'] }, 'invalid_client_metadata'],
      [{ backchannel_logout_uri: 'https://app.example.com/bc', backchannel_logout_session_required: 'yes' }, 'invalid_client_metadata'],
      [{ frontchannel_logout_uri: 'https://app.example.com/fc' }, 'invalid_client_metadata'],
    ];
    for (const [metadata, error] of refused) {
      const res = await register({ ...base, ...metadata }, token);
      expect([res.status, res.body.error], JSON.stringify(metadata)).to.deep.equal([400, error]);
    }
    const ok = await register({ ...base, backchannel_logout_uri: 'https://APP.example.com/bc' }, token);
    expect(ok.status, 'the policy host in any case').to.equal(201);
    const tokens = (await h.admin('GET', `/admin/apps/${app.app_id}/initial-access-tokens`)).body.initial_access_tokens as { uses: number }[];
    expect(tokens.map((t) => t.uses)).to.include(1);
  });

  it('the admin API takes the same rules: http away from loopback refused, null removes the URI', async () => {
    const res = await h.admin('POST', `/admin/apps/${app.app_id}/clients`, { redirect_uris: [REDIRECT_URI], backchannel_logout_uri: 'http://bc.example.com/logout' });
    expect([res.status, res.body.error]).to.deep.equal([400, 'invalid_client_metadata']);
    const client = await addClient({ backchannel_logout_uri: 'https://bc.example.com/logout' });
    const changed = await h.admin('PATCH', `/admin/apps/${app.app_id}/clients/${client.client_id}`, { backchannel_logout_uri: null });
    expect(changed.status).to.equal(200);
    expect(changed.body).not.to.have.property('backchannel_logout_uri');
  });
});
