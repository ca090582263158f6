// Every authentication event is stored as a structured record (never a code, token or
// secret) and can be queried per app with filters and paging.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import { ADMIN_TOKEN, Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';
import { harnessOn } from '../helpers/storage-harness.ts';

type Event = Record<string, unknown> & { type: string; at: string; id: string };

describe('audit trail', function () {
  this.timeout(60_000);
  const h = new Harness();
  let app: AppJson;
  let secrets: string[] = [];

  const query = async (params: Record<string, string> = {}) => {
    const res = await h.admin('GET', `/admin/apps/${app.app_id}/audit?${new URLSearchParams(params)}`);
    return res as { status: number; body: { events: Event[]; next_cursor: string | null; error?: string; error_description?: string } };
  };

  before(async () => {
    await h.start();
    app = await h.createApp({ token_endpoint_auth_method: 'client_secret_basic' });
    const signed = await h.signIn(app, 'Audited@Example.com', { scope: 'openid offline_access' });
    const refreshed = await oidc.refreshTokenGrant(signed.config, signed.tokens.refresh_token!);
    await oidc.tokenRevocation(signed.config, refreshed.refresh_token!);
    // A rejected link, a wrong short code and a sign-out everywhere.
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    const second = await h.requestLink(browser, login.page, 'audited@example.com');
    await new Browser().navigate(second.link);
    await browser.submit(second.page, { code: 'ZZZZ-ZZZZ' }, '/code');
    const again = await h.signIn(app, 'audited@example.com', { scope: 'openid offline_access' });
    await fetch(`${app.issuer}/token/revoke_all`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${app.client_id}:${app.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token: again.tokens.refresh_token! }),
    });
    await h.server.mailQueue.idle();
    secrets = [
      ADMIN_TOKEN,
      app.client_secret!,
      new URL(signed.link).searchParams.get('code')!,
      new URL(second.link).searchParams.get('code')!,
      signed.tokens.access_token,
      signed.tokens.refresh_token!,
      refreshed.refresh_token!,
      again.tokens.refresh_token!,
    ];
  });
  after(() => h.stop());
  afterEach(() => h.clock.reset());

  it('records every kind of authentication event with its context', async () => {
    const { status, body } = await query({ limit: '500' });
    expect(status).to.equal(200);
    const types = new Set(body.events.map((e) => e.type));
    for (const type of [
      'admin.app_created',
      'link.requested',
      'mail.sent',
      'link.opened',
      'link.accepted',
      'code.rejected',
      'token.issued',
      'token.refreshed',
      'token.revoked',
      'signout.everywhere',
    ]) {
      expect(types, type).to.include(type);
    }
    const accepted = body.events.find((e) => e.type === 'link.accepted')!;
    expect(accepted).to.include({ app_id: app.app_id, client_id: app.client_id, email: 'audited@example.com', outcome: 'success' });
    expect(accepted.ip).to.be.a('string');
    expect(accepted.user_agent).to.be.a('string');
    expect(new Date(accepted.at).toISOString()).to.equal(accepted.at);
    const opened = body.events.find((e) => e.type === 'link.opened' && e.outcome === 'success');
    expect(opened, 'the link opened in another browser is recorded').not.to.equal(undefined);
  });

  it('never stores a code, token or secret', async () => {
    const json = JSON.stringify((await query({ limit: '500' })).body);
    for (const secret of secrets) expect(json).not.to.include(secret);
  });

  it('filters by address, type and time range, newest first', async () => {
    const byType = (await query({ type: 'token.refreshed' })).body.events;
    expect(byType.length).to.be.greaterThan(0);
    expect(byType.every((e) => e.type === 'token.refreshed')).to.equal(true);
    const byEmail = (await query({ email: 'AUDITED@example.com', limit: '500' })).body.events;
    expect(byEmail.length).to.be.greaterThan(3);
    expect(byEmail.every((e) => e.email === 'audited@example.com')).to.equal(true);
    const all = (await query({ limit: '500' })).body.events;
    const times = all.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => b - a)).to.deep.equal(times);
    const future = (await query({ from: new Date(Date.now() + 60_000).toISOString() })).body.events;
    expect(future).to.deep.equal([]);
    const past = (await query({ to: '2000-01-01T00:00:00Z' })).body.events;
    expect(past).to.deep.equal([]);
  });

  it('pages through events with a cursor, without gaps or repeats', async () => {
    const all = (await query({ limit: '500' })).body.events.map((e) => e.id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { events: Event[]; next_cursor: string | null } = (await query({ limit: '3', ...(cursor ? { cursor } : {}) })).body;
      seen.push(...page.events.map((e) => e.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).to.deep.equal(all);
  });

  it('rejects bad parameters with 400 naming them, and unknown apps with 404', async () => {
    for (const [params, name] of [
      [{ limit: '0' }, 'limit'],
      [{ limit: 'many' }, 'limit'],
      [{ from: 'yesterday' }, 'from'],
      [{ from: '2026-01-31T12:00:00' }, 'from'], // no zone: the server's would be guessed
      [{ to: '2026-01-31 12:00' }, 'to'],
      [{ limit: '0x10' }, 'limit'],
      [{ limit: '1e2' }, 'limit'],
      [{ cursor: 'garbage' }, 'cursor'],
      [{ type: '<script>' }, 'type'],
      [{ colour: 'blue' }, 'colour'],
    ] as const) {
      const res = await query(params);
      expect(res.status, JSON.stringify(params)).to.equal(400);
      expect(res.body.error_description).to.include(name);
    }
    const missing = await h.admin('GET', '/admin/apps/00000000-0000-4000-8000-000000000000/audit');
    expect(missing.status).to.equal(404);
    const unauthenticated = await h.admin('GET', `/admin/apps/${app.app_id}/audit`, undefined, 'nope');
    expect(unauthenticated.status).to.equal(401);
  });

  it('forgets events after the retention period (90 days)', async () => {
    h.clock.travel(91 * 24 * 60 * 60);
    expect((await query()).body.events).to.deep.equal([]);
  });
});

describe('audit retention on Redis, where a quiet app\'s set is not trimmed', function () {
  this.timeout(60_000);
  const { h } = harnessOn('redis');

  // Redis trims an app's events only when the app's (or the address's) set is written
  // again; the query leaves out what is older than the retention whatever is still stored.
  it('never returns an event older than the retention, by type, by address or unfiltered', async () => {
    const app = await h.createApp();
    await h.signIn(app, 'quiet@example.com');
    await h.server.audit.flushed();
    const path = `/admin/apps/${app.app_id}/audit`;
    expect((await h.admin('GET', path)).body.events).to.not.deep.equal([]);
    h.clock.travel(90 * 24 * 60 * 60 + 60);
    for (const query of ['', '?type=link.requested', '?email=quiet@example.com']) {
      const res = await h.admin('GET', `${path}${query}`);
      expect(res.status).to.equal(200);
      expect(res.body.events, query).to.deep.equal([]);
    }
  });
});

describe('audit trail under a flood of failures', function () {
  this.timeout(60_000);
  const h = new Harness();
  before(() => h.start());
  after(() => h.stop());

  it('records a client\'s first failures of a minute and one audit.suppressed, however many made-up links it opens; a real sign-in is still recorded', async () => {
    const app = await h.createApp();
    // At the start of a minute, so the flood does not straddle two.
    h.clock.travel((60_000 - (h.clock.now() % 60_000)) / 1000);
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    const { link } = await h.requestLink(browser, login.page, 'flooded@example.com');
    const forged = (i: number) => {
      const url = new URL(link);
      url.searchParams.set('code', `forged-${i}-${'x'.repeat(30)}`);
      return url.href;
    };
    for (let burst = 0; burst < 6; burst++) {
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => fetch(forged(burst * 40 + i)).then((r) => r.status)));
      expect(answers.every((s) => s >= 400 && s < 500), String(answers)).to.equal(true);
    }
    // The real person, from the same address, still signs in, and that is recorded.
    const confirm = await browser.navigate(link);
    await browser.submit(confirm, {}, '/link', login.redirectUri);
    await h.server.audit.flushed();
    const events = (await h.admin('GET', `/admin/apps/${app.app_id}/audit?limit=500`)).body.events as Event[];
    const failures = events.filter((e) => e.outcome === 'failure');
    expect(failures.length).to.be.at.most(61);
    expect(failures.filter((e) => e.type === 'audit.suppressed')).to.have.length(1);
    expect(events.filter((e) => e.type === 'link.accepted')).to.have.length(1);
    expect(h.logs.filter((l) => l.includes('"link.opened"')).length).to.be.at.most(62);
    h.clock.reset();
  });

  it('throttles what anyone can repeat at will: opening a valid link, the email form posted again', async () => {
    const app = await h.createApp();
    h.clock.travel((60_000 - (h.clock.now() % 60_000)) / 1000);
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    const { link } = await h.requestLink(browser, login.page, 'own-link@example.com');
    // One's own valid link, opened again and again from another browser (GET changes nothing).
    const opened = await Promise.all(Array.from({ length: 150 }, () => fetch(link).then((r) => r.status)));
    expect(new Set(opened)).to.have.length(1);
    // The form posted again within the minute for the same address: nothing sent, nothing spent.
    const repeat = await h.startLogin(app, browser);
    await h.requestLink(browser, repeat.page, 'repeat@example.com');
    for (let i = 0; i < 80; i++) expect((await browser.submit(repeat.page, { email: 'repeat@example.com' })).status).to.equal(200);
    await h.server.audit.flushed();
    const events = (await h.admin('GET', `/admin/apps/${app.app_id}/audit?limit=500`)).body.events as Event[];
    const repeatable = events.filter((e) => e.type === 'link.opened' || e.type === 'link.repeated');
    expect(repeatable.length).to.be.at.most(60);
    expect(events.filter((e) => e.type === 'audit.suppressed')).to.have.length(1);
    expect(events.filter((e) => e.type === 'link.requested')).to.have.length(2);
    h.clock.reset();
  });

  it('records a revocation that removed nothing (an unknown token, another client\'s) as a failure, naming no account', async () => {
    const app = await h.createApp();
    const other = await h.admin('POST', `/admin/apps/${app.app_id}/clients`, { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' });
    const signed = await h.signIn(app, 'revoked@example.com', { scope: 'openid offline_access' });
    const revoke = (token: string, clientId: string) =>
      fetch(`${app.issuer}/token/revocation`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token, client_id: clientId }),
      }).then((r) => r.status);
    expect(await revoke('made-up-token-value-0123456789abcdef', app.client_id)).to.equal(200);
    expect(await revoke(signed.tokens.refresh_token!, other.body.client_id)).to.equal(200);
    expect((await oidc.refreshTokenGrant(signed.config, signed.tokens.refresh_token!)).access_token, 'left alone').to.be.a('string');
    await h.server.audit.flushed();
    const revocations = ((await h.admin('GET', `/admin/apps/${app.app_id}/audit?type=token.revoked`)).body.events as Event[]).reverse();
    expect(revocations.map((e) => [e.outcome, e.client_id, e.email])).to.deep.equal([
      ['failure', app.client_id, undefined],
      ['failure', other.body.client_id, undefined],
    ]);
  });
});
