// OpenID Connect Back-Channel Logout 1.0 against a real Postern and real app back ends
// (LogoutReceiver: HTTP servers on free ports), each logout token checked as an app checks
// it, with jose against the issuer's JWKS. The three ways a session ends: the person
// signing out at the app (RP-initiated logout), "sign out everywhere" (revoke_all), and
// the admin's sign-out; retries, a back end that never answers, redirects not followed,
// and one app's back end never hearing of another app's sessions.
import { expect } from 'chai';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { RETRY_DELAYS_MS } from '../../src/logout/backchannel-logout.ts';
import { Browser, formOn, type Page } from '../helpers/browser.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';
import { LogoutReceiver, verifyLogoutToken } from '../helpers/logout-receiver.ts';
import { audits } from '../security/support.ts';

const sidOf = (idToken: string) => decodeJwt(idToken).sid as string;

async function revokeAll(app: AppJson, refreshToken: string) {
  const res = await fetch(`${app.issuer}/token/revoke_all`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: refreshToken, client_id: app.client_id }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The person, signed in at the app, opens its sign-out page (RP-initiated logout with id_token_hint). */
async function logoutPage(app: AppJson, signedIn: { browser: Browser; tokens: { id_token?: string } }): Promise<Page> {
  const page = await signedIn.browser.navigate(`${app.issuer}/session/end?${new URLSearchParams({ id_token_hint: signedIn.tokens.id_token! })}`);
  expect(page.status).to.equal(200);
  return page;
}

describe('conformance: back-channel logout', function () {
  this.timeout(60_000);
  const h = new Harness();
  const rp = new LogoutReceiver();
  const otherRp = new LogoutReceiver();
  let app: AppJson;
  let other: AppJson;

  before(async () => {
    // Short retries and deadline, so a back end that fails or never answers is seen out quickly.
    await h.start({}, { backchannel: { retryDelaysMs: [50, 100], sendTimeoutMs: 1_000 } });
    await rp.start();
    await otherRp.start();
    app = await h.createApp({ name: 'Logout App', backchannel_logout_uri: rp.url });
    other = await h.createApp({ name: 'Other App', backchannel_logout_uri: otherRp.url });
  });
  after(async () => {
    await h.stop();
    await rp.stop();
    await otherRp.stop();
  });
  beforeEach(async () => {
    await h.server.backchannel.idle();
    for (const receiver of [rp, otherRp]) {
      receiver.received.length = 0;
      receiver.script.length = 0;
    }
  });

  const delivered = (type: 'logout.backchannel_delivered' | 'logout.backchannel_failed', email: string) =>
    audits(h).filter((a) => a.type === type && a.email === email);

  it('advertises back-channel logout with sid in discovery, and no front-channel logout', async () => {
    const discovery = (await (await fetch(`${app.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(discovery).to.include({ backchannel_logout_supported: true, backchannel_logout_session_supported: true });
    expect(discovery).not.to.have.property('frontchannel_logout_supported');
  });

  it('RP-initiated logout: the app\'s back end receives a logout token for the session, valid as the spec requires', async () => {
    const signedIn = await h.signIn(app, 'rp-logout@example.com');
    const sid = sidOf(signedIn.tokens.id_token!);
    const done = await signedIn.browser.submit(await logoutPage(app, signedIn), { logout: 'yes' });
    expect(done.body).to.include('You have signed out');
    await h.server.backchannel.idle();

    expect(rp.received).to.have.length(1);
    const [request] = rp.received;
    expect(request).to.include({ method: 'POST', path: '/backchannel-logout', contentType: 'application/x-www-form-urlencoded' });
    expect([...new URLSearchParams(request!.body).keys()], 'the form holds the token only').to.deep.equal(['logout_token']);
    const claims = await verifyLogoutToken(request!.token!, app);
    expect(claims.sub).to.equal('rp-logout@example.com');
    expect(claims.sid, 'the sid of the ID tokens of that session').to.equal(sid);
    expect(otherRp.received, 'the other app hears nothing').to.deep.equal([]);

    await h.server.audit.flushed();
    expect(delivered('logout.backchannel_delivered', 'rp-logout@example.com').map((a) => [a.app_id, a.client_id, a.reason])).to.deep.equal([[app.app_id, app.client_id, 'rp_logout']]);
  });

  it('retries a back end that fails (500, then 200): delivered on the second attempt, each attempt a fresh token', async () => {
    rp.script.push(500);
    const signedIn = await h.signIn(app, 'retried@example.com');
    await signedIn.browser.submit(await logoutPage(app, signedIn), { logout: 'yes' });
    await h.server.backchannel.idle();
    expect(rp.tokens).to.have.length(2);
    const [first, second] = await Promise.all(rp.tokens.map((t) => verifyLogoutToken(t, app)));
    expect(second!.sid).to.equal(first!.sid);
    expect(second!.jti, 'a retry is a new token').not.to.equal(first!.jti);
    await h.server.audit.flushed();
    expect(delivered('logout.backchannel_delivered', 'retried@example.com').map((a) => a.reason)).to.deep.equal(['rp_logout: after 2 attempts']);
    const retried = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'back-channel logout not delivered; will retry');
    expect(retried.map((l) => [l.app_id, l.err])).to.deep.include([app.app_id, 'Error: HTTP 500']);
  });

  it('gives up on a back end that never answers after its attempts: each one timed out, audited as failed, no token in any log', async () => {
    rp.script.push('hang', 'hang', 'hang');
    const signedIn = await h.signIn(app, 'never-answers@example.com');
    await signedIn.browser.submit(await logoutPage(app, signedIn), { logout: 'yes' });
    await h.server.backchannel.idle();
    expect(rp.received, 'three attempts (two retries)').to.have.length(3);
    await h.server.audit.flushed();
    expect(delivered('logout.backchannel_failed', 'never-answers@example.com').map((a) => [a.outcome, a.reason])).to.deep.equal([
      ['failure', 'rp_logout: no answer in time after 3 attempts'],
    ]);
    expect(delivered('logout.backchannel_delivered', 'never-answers@example.com')).to.deep.equal([]);
    const log = h.logs.join('\n');
    for (const token of rp.tokens) expect(log.includes(token), 'a logout token in the log').to.equal(false);
    for (const token of rp.tokens) expect(log.includes(token.split('.')[2]!), 'a logout token signature in the log').to.equal(false);
  });

  it('never follows a redirect: a 302 is a failed attempt, and its target hears nothing', async () => {
    rp.script.push({ redirect: otherRp.url }, { redirect: otherRp.url }, { redirect: otherRp.url });
    const signedIn = await h.signIn(app, 'redirected@example.com');
    await signedIn.browser.submit(await logoutPage(app, signedIn), { logout: 'yes' });
    await h.server.backchannel.idle();
    expect(rp.received).to.have.length(3);
    expect(otherRp.received).to.deep.equal([]);
    await h.server.audit.flushed();
    expect(delivered('logout.backchannel_failed', 'redirected@example.com').map((a) => a.reason)).to.deep.equal([
      'rp_logout: HTTP 302 (redirects are not followed) after 3 attempts',
    ]);
  });

  it('never logs what the back end answers', async () => {
    rp.script.push(500);
    const signedIn = await h.signIn(app, 'quiet@example.com');
    await signedIn.browser.submit(await logoutPage(app, signedIn), { logout: 'yes' });
    await h.server.backchannel.idle();
    expect(h.logs.join('\n')).not.to.include('never-logged');
  });

  it('sends nothing for a sign-out confirmation that ended nothing (a forged xsrf token)', async () => {
    const signedIn = await h.signIn(app, 'forged-confirm@example.com');
    const page = await logoutPage(app, signedIn);
    const form = formOn(page);
    const refused = await signedIn.browser.request(new URL(form.action, page.url).href, { form: { xsrf: 'forged', logout: 'yes' } });
    expect(refused.status).to.equal(400);
    await h.server.backchannel.idle();
    expect(rp.received).to.deep.equal([]);
  });

  it('sign out everywhere: one logout token per session, each with the sid of that session\'s ID tokens', async () => {
    const email = 'everywhere@example.com';
    const laptop = await h.signIn(app, email, { scope: 'openid offline_access' });
    const phone = await h.signIn(app, email, { scope: 'openid offline_access' });
    const sids = [sidOf(laptop.tokens.id_token!), sidOf(phone.tokens.id_token!)];
    expect(sids[0]).not.to.equal(sids[1]);
    const answer = await revokeAll(app, laptop.tokens.refresh_token!);
    expect(answer).to.deep.equal({ status: 200, body: { grants_revoked: 2, sessions_ended: 2 } });
    await h.server.backchannel.idle();
    const claims = await Promise.all(rp.tokens.map((t) => verifyLogoutToken(t, app)));
    expect(claims.map((c) => c.sid).sort()).to.deep.equal([...sids].sort());
    expect(claims.map((c) => c.sub)).to.deep.equal([email, email]);
    await h.server.audit.flushed();
    expect(delivered('logout.backchannel_delivered', email).map((a) => a.reason)).to.deep.equal(['revoke_all', 'revoke_all']);
    expect(otherRp.received).to.deep.equal([]);
  });

  it('admin sign-out: ends the account\'s sessions and grants in that app only, answers the counts, tells the app', async () => {
    const email = 'admin-ended@example.com';
    const here = await h.signIn(app, email, { scope: 'openid offline_access' });
    await h.signIn(other, email);
    const reply = await h.admin('POST', `/admin/apps/${app.app_id}/sign-outs`, { email: '  Admin-Ended@Example.com ' });
    expect(reply.status, JSON.stringify(reply.body)).to.equal(200);
    expect(reply.body).to.deep.equal({ grants_revoked: 1, sessions_ended: 1, backchannel_logouts_queued: 1 });
    await h.server.backchannel.idle();
    const [claims] = await Promise.all(rp.tokens.map((t) => verifyLogoutToken(t, app)));
    expect(claims).to.include({ sub: email, sid: sidOf(here.tokens.id_token!) });
    expect(otherRp.received, "the other app's session stays, unannounced").to.deep.equal([]);
    // The grant is gone: the refresh token no longer works.
    const refreshed = await fetch(`${app.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: here.tokens.refresh_token!, client_id: app.client_id }),
    });
    expect(refreshed.status).to.equal(400);
    await h.server.audit.flushed();
    const audited = audits(h).filter((a) => a.email === email && a.app_id === app.app_id).map((a) => [a.type, a.reason]);
    expect(audited).to.deep.include.members([
      ['admin.account_signed_out', undefined],
      ['logout.backchannel_delivered', 'admin_sign_out'],
    ]);
  });

  it('admin sign-out of an account whose sessions expired but whose grant lives: a token with sub only, unless the app requires sid', async () => {
    const email = 'grant-only@example.com';
    const settings = { refresh_token_idle_ttl: 30 * 86400 };
    const rpWithSid = await new LogoutReceiver().start();
    try {
      const plain = await h.createApp({ name: 'Sub Only App', backchannel_logout_uri: rp.url, ...settings });
      const strict = await h.createApp({ name: 'Sid Required App', backchannel_logout_uri: rpWithSid.url, backchannel_logout_session_required: true, ...settings });
      await h.signIn(plain, email, { scope: 'openid offline_access' });
      await h.signIn(strict, email, { scope: 'openid offline_access' });
      h.clock.travel(15 * 86400); // sessions last 14 days; grants as long as refresh tokens may
      for (const [target, queued] of [[plain, 1], [strict, 0]] as const) {
        const reply = await h.admin('POST', `/admin/apps/${target.app_id}/sign-outs`, { email });
        expect(reply.body, target.name).to.deep.equal({ grants_revoked: 1, sessions_ended: 0, backchannel_logouts_queued: queued });
      }
      await h.server.backchannel.idle();
      expect(rp.tokens).to.have.length(1);
      const claims = await verifyLogoutToken(rp.tokens[0]!, plain, { nowMs: h.clock.now() });
      expect(claims.sub).to.equal(email);
      expect(claims, 'every session of the account').not.to.have.property('sid');
      expect(rpWithSid.received, 'no token without sid to an app that requires it').to.deep.equal([]);
    } finally {
      h.clock.reset();
      await rpWithSid.stop();
    }
  });

  it('an app that requires sid gets it with every session that ended', async () => {
    const rpWithSid = await new LogoutReceiver().start();
    try {
      const strict = await h.createApp({ name: 'Sid App', backchannel_logout_uri: rpWithSid.url, backchannel_logout_session_required: true });
      const signedIn = await h.signIn(strict, 'with-sid@example.com');
      await signedIn.browser.submit(await logoutPage(strict, signedIn), { logout: 'yes' });
      await h.server.backchannel.idle();
      const claims = await verifyLogoutToken(rpWithSid.tokens[0]!, strict);
      expect(claims.sid).to.equal(sidOf(signedIn.tokens.id_token!));
    } finally {
      await rpWithSid.stop();
    }
  });

  it('tells each app of its own sessions only, on every trigger', async () => {
    const email = 'two-apps@example.com';
    const atApp = await h.signIn(app, email, { scope: 'openid offline_access' });
    const atOther = await h.signIn(other, email, { scope: 'openid offline_access' });
    await revokeAll(other, atOther.tokens.refresh_token!);
    await h.server.backchannel.idle();
    expect(rp.received, 'revoke_all at the other app').to.deep.equal([]);
    expect(otherRp.tokens).to.have.length(1);
    const claims = await verifyLogoutToken(otherRp.tokens[0]!, other);
    expect(claims.aud).to.equal(other.client_id);
    // And the first app's session is untouched: its refresh token still works.
    const refreshed = await fetch(`${app.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: atApp.tokens.refresh_token!, client_id: app.client_id }),
    });
    expect(refreshed.status).to.equal(200);
  });

  it('a parallel burst of admin sign-outs of one account tells the app once per session', async () => {
    const email = 'burst@example.com';
    for (let i = 0; i < 3; i++) await h.signIn(app, email);
    const replies = await Promise.all(Array.from({ length: 10 }, () => h.admin('POST', `/admin/apps/${app.app_id}/sign-outs`, { email })));
    expect(replies.map((r) => r.status)).to.deep.equal(Array(10).fill(200));
    expect(replies.reduce((n, r) => n + (r.body.sessions_ended as number), 0)).to.equal(3);
    await h.server.backchannel.idle();
    const sids = (await Promise.all(rp.tokens.map((t) => verifyLogoutToken(t, app)))).map((c) => c.sid);
    expect(new Set(sids).size).to.equal(3);
    expect(sids).to.have.length(3);
  });
});

describe('conformance: back-channel logout with its own retry schedule and deadline', function () {
  this.timeout(30_000);
  const h = new Harness();
  const rp = new LogoutReceiver();
  before(async () => {
    // Retries after 1 s, 2 s, …; and attempts that may take ten minutes: a sign-out that
    // waited for one would not end within the test.
    await h.start({}, { backchannel: { retryDelaysMs: RETRY_DELAYS_MS, sendTimeoutMs: 10 * 60_000 } });
    await rp.start();
  });
  after(async () => {
    await h.stop();
    await rp.stop();
  });
  beforeEach(() => {
    rp.received.length = 0;
    rp.script.length = 0;
  });

  it('answers the sign-out while the app\'s back end sits on the logout token', async () => {
    rp.script.push('hang');
    const app = await h.createApp({ name: 'Slow Back End', backchannel_logout_uri: rp.url });
    const signedIn = await h.signIn(app, 'slow-app@example.com');
    const done = await signedIn.browser.submit(await logoutPage(app, signedIn), { logout: 'yes' });
    expect(done.body).to.include('You have signed out');
    await rp.until('the back end holds the attempt', () => rp.hanging.length === 1);
    expect(rp.received).to.have.length(1);
    rp.release();
    await h.server.backchannel.idle();
  });

  it('gives a waiting logout up at once when the app\'s backchannel_logout_uri is removed meanwhile', async () => {
    rp.script.push(500, 500, 500, 500);
    const app = await h.createApp({ name: 'Removed URI', backchannel_logout_uri: rp.url });
    const signedIn = await h.signIn(app, 'uri-removed@example.com');
    await signedIn.browser.submit(await logoutPage(app, signedIn), { logout: 'yes' });
    await rp.until('the first attempt', () => rp.received.length === 1);
    expect((await h.admin('PATCH', `/admin/apps/${app.app_id}`, { backchannel_logout_uri: null })).status).to.equal(200);
    await h.server.backchannel.idle();
    await h.server.audit.flushed();
    const outcomes = audits(h).filter((a) => a.email === 'uri-removed@example.com' && String(a.type).startsWith('logout.backchannel'));
    expect(outcomes.map((a) => [a.type, a.reason])).to.deep.equal([['logout.backchannel_failed', 'rp_logout: the client no longer has a backchannel_logout_uri']]);
    expect(rp.received.length, 'no attempt after the removal').to.be.below(4);
  });

  it('signs with the app\'s current key when it delivers: after an immediate key rotation, a new key the JWKS publishes', async () => {
    const app = await h.createApp({ name: 'Rotated', backchannel_logout_uri: rp.url });
    await h.signIn(app, 'rotated@example.com');
    const rotated = await h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate?immediate=true`);
    expect(rotated.status).to.equal(200);
    const current = (rotated.body.keys as { kid: string; alg: string; status: string }[]).find((k) => k.alg === 'ES512' && k.status === 'current')!;
    expect((await h.admin('POST', `/admin/apps/${app.app_id}/sign-outs`, { email: 'rotated@example.com' })).status).to.equal(200);
    await h.server.backchannel.idle();
    expect(decodeProtectedHeader(rp.tokens[0]!).kid).to.equal(current.kid);
    expect((await verifyLogoutToken(rp.tokens[0]!, app)).sub).to.equal('rotated@example.com');
  });
});
