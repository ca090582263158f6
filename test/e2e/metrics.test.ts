// GET /metrics: scraped with a real parser after real sign-ins (openid-client as the app),
// counters compared before and after by exact amounts; no label value anywhere carries an
// address, a code or a token; who may read it (token, spellings of the path, production
// without a token); and a scrape while the store is down still answers.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Browser } from '../helpers/browser.ts';
import { ADMIN_TOKEN, Harness, type AppJson } from '../helpers/harness.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { otherSpellings } from '../helpers/routes.ts';
import { raw } from '../security/support.ts';

const METRICS_TOKEN = 'metrics-token-Vq3xT8kR2mN7pL4wZ9sB6yH1cF5dJ0gA';

type Family = ReturnType<typeof parsePrometheusTextFormat>[number];

/**
 * One scrape, parsed. The parser folds the series of a labelled histogram into one sample
 * without labels, so histograms are also read with their TYPE line left out: each of
 * `_bucket`, `_sum` and `_count` is then a family of its own, every sample with its labels.
 */
async function scrape(h: Harness, token = METRICS_TOKEN): Promise<Family[]> {
  const res = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).to.equal(200);
  expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
  expect(res.headers.get('cache-control')).to.equal('no-store');
  const text = await res.text();
  const typed = parsePrometheusTextFormat(text);
  const histograms = typed.filter((f) => f.type === 'HISTOGRAM').map((f) => f.name);
  expect(histograms).to.include.members(['postern_http_request_duration_seconds', 'postern_store_command_duration_seconds', 'postern_delivery_attempt_duration_seconds']);
  // prom-client writes a histogram label set by label set (buckets, sum, count, then the
  // next), so the same series name comes back as several families: merged here.
  const series = new Map<string, Family>();
  for (const f of parsePrometheusTextFormat(text.replace(/^# TYPE \S+ histogram\n/gm, ''))) {
    if (f.type !== 'UNTYPED' || !f.metrics.length) continue;
    series.set(f.name, { ...f, metrics: [...(series.get(f.name)?.metrics ?? []), ...f.metrics] });
  }
  return [...typed.filter((f) => f.type !== 'HISTOGRAM'), ...series.values()];
}

/** The sum of the samples of `name` whose labels include `labels` (0 when there is none). */
function valueOf(families: Family[], name: string, labels: Record<string, string>): number {
  const samples = families.find((f) => f.name === name)?.metrics ?? [];
  return samples.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v)).reduce((sum, m) => sum + Number(m.value), 0);
}

function allLabelValues(families: Family[]): string[] {
  return families.flatMap((f) => f.metrics.flatMap((m) => Object.values(m.labels ?? {})));
}

describe('metrics (GET /metrics)', function () {
  this.timeout(60_000);

  describe('after real sign-ins', () => {
    const h = new Harness();
    let app: AppJson;

    before(async () => {
      await h.start({ METRICS_TOKEN });
      app = await h.createApp({ name: 'Metered App', token_endpoint_auth_method: 'client_secret_basic' });
    });
    after(() => h.stop());

    it('counts the sign-in funnel, tokens by grant type, a refresh replay and a revocation by exactly what happened, and no label holds a secret', async () => {
      const before = await scrape(h);

      // One sign-in by link, with a refresh token, refreshed once.
      const byLink = await h.signIn(app, 'Link.Person+tag@Example.com', { scope: 'openid offline_access' });
      const refreshed = await oidc.refreshTokenGrant(byLink.config, byLink.tokens.refresh_token!);

      // One sign-in by short code: a wrong code, then the right one.
      const browser = new Browser();
      const login = await h.startLogin(app, browser);
      const { page, mail } = await h.requestLink(browser, login.page, 'code.person@example.com');
      const shortCode = /instead: ([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(mail.text)![1]!;
      const wrong = await browser.submit(page, { code: shortCode === 'ZZZZ-ZZZZ' ? 'YYYY-YYYY' : 'ZZZZ-ZZZZ' }, '/code');
      expect(wrong.status).to.equal(400);
      const callback = await browser.submit(wrong, { code: shortCode }, '/code', login.redirectUri);
      expect(callback.url.startsWith(login.redirectUri)).to.equal(true);
      const byCode = await oidc.authorizationCodeGrant(login.config, new URL(callback.url), {
        pkceCodeVerifier: login.verifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
      });

      // The spent refresh token again, after the reuse window: a replay (the grant goes).
      h.clock.travel(31);
      const replay = await oidc.refreshTokenGrant(byLink.config, byLink.tokens.refresh_token!).catch((err: unknown) => err);
      expect(replay).to.be.instanceOf(oidc.ResponseBodyError);
      // A revocation at the RFC 7009 endpoint; then one of a token it does not know (200, nothing revoked).
      await oidc.tokenRevocation(login.config, byCode.access_token);
      await oidc.tokenRevocation(login.config, 'no-such-token-0123456789abcdefghij');

      // A path no route serves, holding an address: not a label value.
      expect((await fetch(`${h.url}/no/such/person@example.com`)).status).to.equal(404);
      await h.server.mailQueue.idle();
      await h.server.audit.flushed();
      const after = await scrape(h);

      const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);
      const step = (name: string) => delta('postern_sign_in_steps_total', { app_id: app.app_id, step: name });
      expect({
        link_requested: step('link_requested'),
        link_mailed: step('link_mailed'),
        link_opened: step('link_opened'),
        link_confirmed: step('link_confirmed'),
        code_wrong: step('code_wrong'),
        code_right: step('code_right'),
        signed_in: step('signed_in'),
        mail_failed: step('mail_failed'),
      }).to.deep.equal({ link_requested: 2, link_mailed: 2, link_opened: 1, link_confirmed: 1, code_wrong: 1, code_right: 1, signed_in: 2, mail_failed: 0 });

      const tokens = (grantType: string) => delta('postern_tokens_issued_total', { app_id: app.app_id, grant_type: grantType });
      expect([tokens('authorization_code'), tokens('refresh_token')]).to.deep.equal([2, 1]);
      expect(delta('postern_refresh_token_replays_total', { app_id: app.app_id })).to.equal(1);
      expect(delta('postern_revocations_total', { app_id: app.app_id, kind: 'token' })).to.equal(1);
      expect(delta('postern_revocations_total', { app_id: app.app_id, kind: 'grant' })).to.equal(1); // the replay's
      expect(delta('postern_delivery_attempt_duration_seconds_count', { queue: 'mail', outcome: 'delivered' })).to.equal(2);
      expect(valueOf(after, 'postern_outbox_depth', { queue: 'mail' })).to.equal(0);

      // Route templates, never raw paths.
      const http = after.find((f) => f.name === 'postern_http_request_duration_seconds_count')!;
      const routes = new Set(http.metrics.map((m) => m.labels!.route!));
      for (const route of ['oidc:authorization', 'oidc:token', 'oidc:discovery', 'oidc:revocation', '/admin/apps', '/metrics', 'unmatched']) {
        expect([...routes], route).to.include(route);
      }
      expect([...routes].some((r) => r.includes('/apps/:'))).to.equal(true); // the hosted login's templates
      for (const route of routes) expect(route, route).not.to.include(app.app_id);
      const status = (route: string, code: string) => delta('postern_http_request_duration_seconds_count', { route, status: code });
      expect(status('unmatched', '404')).to.equal(1);
      expect(status('/apps/:appId/interaction/:uid/code', '400')).to.equal(1);

      // Nothing secret or personal in any label value.
      const secrets = [
        ADMIN_TOKEN,
        METRICS_TOKEN,
        app.client_secret!,
        new URL(byLink.link).searchParams.get('code')!,
        shortCode,
        shortCode.replace('-', ''),
        new URL(byLink.callbackUrl).searchParams.get('code')!,
        new URL(callback.url).searchParams.get('code')!,
        byLink.tokens.access_token,
        byLink.tokens.refresh_token!,
        refreshed.access_token,
        refreshed.refresh_token!,
        byCode.access_token,
        login.verifier,
        'example.com',
      ];
      const values = allLabelValues(after);
      expect(values.length).to.be.greaterThan(50);
      for (const value of values) {
        expect(value).not.to.include('@');
        for (const secret of secrets) expect(value).not.to.include(secret);
      }
    });

    it('counts refusals by limiter name, and reports the default process metrics and the event-loop lag', async () => {
      const before = await scrape(h);
      const wrongAdmin = await fetch(`${h.url}/admin/apps`, { headers: { authorization: 'Bearer wrong-token-0123456789abcdef0123456789' } });
      expect(wrongAdmin.status).to.equal(401);
      const after = await scrape(h);
      // A wrong admin token is a hit, not a refusal: within the allowance nothing is counted.
      expect(valueOf(after, 'postern_rate_limited_total', { limiter: 'admin-auth-ip' })).to.equal(valueOf(before, 'postern_rate_limited_total', { limiter: 'admin-auth-ip' }));
      const names = after.map((f) => f.name);
      expect(names).to.include.members(['process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes', 'postern_event_loop_lag_seconds']);
      expect(valueOf(after, 'postern_event_loop_lag_seconds', {})).to.be.at.least(0);
    });
  });

  describe('with more apps than METRICS_APP_LABELS', () => {
    const h = new Harness();
    after(() => h.stop());

    it('gives the first apps counted series of their own and the rest "other", with exact totals', async () => {
      await h.start({ METRICS_TOKEN, METRICS_APP_LABELS: '2' });
      const apps = [];
      for (let i = 0; i < 4; i++) apps.push(await h.createApp({ name: `Counted ${i}` }));
      const before = await scrape(h);
      for (const app of apps) await h.signIn(app, `person${apps.indexOf(app)}@example.com`);
      // The first app again: it keeps its own series.
      await h.signIn(apps[0]!, 'again@example.com');
      await h.server.audit.flushed();
      const after = await scrape(h);
      const delta = (labels: Record<string, string>) =>
        valueOf(after, 'postern_tokens_issued_total', labels) - valueOf(before, 'postern_tokens_issued_total', labels);
      expect(delta({ app_id: apps[0]!.app_id, grant_type: 'authorization_code' })).to.equal(2);
      expect(delta({ app_id: apps[1]!.app_id, grant_type: 'authorization_code' })).to.equal(1);
      expect(delta({ app_id: 'other', grant_type: 'authorization_code' })).to.equal(2);
      const labelled = new Set(
        after.filter((f) => f.name.startsWith('postern_')).flatMap((f) => f.metrics.map((m) => m.labels?.['app_id']).filter((v) => v !== undefined)),
      );
      expect([...labelled].sort()).to.deep.equal([apps[0]!.app_id, apps[1]!.app_id, 'other'].sort());
      // The sign-in funnel shares the same bound.
      expect(valueOf(after, 'postern_sign_in_steps_total', { app_id: 'other', step: 'signed_in' })).to.equal(2);
    });
  });

  describe('rate-limit refusals', () => {
    const h = new Harness();
    before(() => h.start({ METRICS_TOKEN }, { adminAuthFailuresPerIp: 2 }));
    after(() => h.stop());

    it('counts each request a limiter refused under its name', async () => {
      const before = valueOf(await scrape(h), 'postern_rate_limited_total', { limiter: 'admin-auth-ip' });
      const statuses = [];
      for (let i = 0; i < 5; i++) statuses.push((await fetch(`${h.url}/admin/apps`, { headers: { authorization: 'Bearer wrong' } })).status);
      expect(statuses).to.deep.equal([401, 401, 429, 429, 429]);
      expect(valueOf(await scrape(h), 'postern_rate_limited_total', { limiter: 'admin-auth-ip' }) - before).to.equal(3);
    });
  });

  describe('access with METRICS_TOKEN set', () => {
    const h = new Harness();
    before(() => h.start({ METRICS_TOKEN }));
    after(() => h.stop());

    it('serves the exact path to the bearer token (scheme in any case)', async () => {
      for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
        const reply = await raw(h.url, '/metrics', { headers: { authorization: `${scheme} ${METRICS_TOKEN}` } });
        expect(reply.status, scheme).to.equal(200);
        expect(reply.body).to.include('postern_http_request_duration_seconds');
      }
    });

    it('refuses no token, a wrong one, the admin token, the token elsewhere than the header, with 401 and no metrics', async () => {
      const attempts: [string, Record<string, string>][] = [
        ['/metrics', {}],
        ['/metrics', { authorization: `Bearer ${METRICS_TOKEN.slice(0, -1)}x` }],
        ['/metrics', { authorization: `Bearer ${METRICS_TOKEN}x` }],
        ['/metrics', { authorization: `Bearer ${ADMIN_TOKEN}` }],
        ['/metrics', { authorization: `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}` }],
        ['/metrics', { authorization: `Bearer  ${METRICS_TOKEN}` }],
        ['/metrics', { authorization: METRICS_TOKEN }],
        ['/metrics', { cookie: `token=${METRICS_TOKEN}`, 'x-metrics-token': METRICS_TOKEN }],
        [`/metrics?access_token=${METRICS_TOKEN}`, {}],
        [`/metrics?token=${METRICS_TOKEN}`, {}],
      ];
      for (const [target, headers] of attempts) {
        const reply = await raw(h.url, target, { headers });
        const label = `${target} ${JSON.stringify(headers)}`;
        expect(reply.status, label).to.equal(401);
        expect(reply.headers['www-authenticate'], label).to.equal('Bearer realm="postern-metrics"');
        expect(reply.body, label).not.to.include('postern_');
      }
    });

    it('refuses every other spelling of the path without the token (401), and with it serves none of them', async () => {
      const spellings = [...otherSpellings('/metrics'), '/METRICS', '/%4d%45%54%52%49%43%53', '/%256detrics', '/x/%2e%2e/metrics'];
      expect(spellings.length).to.be.greaterThan(15);
      for (const target of spellings) {
        const refused = await raw(h.url, target);
        expect(refused.status, target).to.equal(401);
        expect(refused.body, target).not.to.include('postern_');
        const withToken = await raw(h.url, target, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
        expect(withToken.status, `${target} with the token`).to.equal(404);
        expect(withToken.body, target).not.to.include('postern_');
      }
    });

    it('refuses other methods', async () => {
      for (const method of ['POST', 'PUT', 'DELETE']) {
        const reply = await raw(h.url, '/metrics', { method, headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
        expect(reply.status, method).to.equal(405);
      }
    });
  });

  describe('without METRICS_TOKEN', () => {
    const redis = new RedisServer();
    const development = new Harness();
    const production = new Harness();
    before(async () => {
      await redis.start();
      await development.start();
      await production.start({ NODE_ENV: 'production', PUBLIC_URL: 'https://login.example.test', REDIS_URL: redis.url });
    });
    after(async () => {
      await development.stop();
      await production.stop();
      await redis.destroy();
    });

    it('is open in development and test', async () => {
      const reply = await raw(development.url, '/metrics');
      expect(reply.status).to.equal(200);
      expect(reply.body).to.include('postern_sign_in_steps_total');
    });

    it('does not exist in production, in any spelling, whatever is sent', async () => {
      for (const target of ['/metrics', ...otherSpellings('/metrics')]) {
        for (const headers of [{}, { authorization: `Bearer ${ADMIN_TOKEN}` }]) {
          const reply = await raw(production.url, target, { headers });
          expect(reply.status, target).to.equal(404);
          expect(reply.body, target).not.to.include('postern_');
        }
      }
    });
  });

  describe('while the store is down', () => {
    const redis = new RedisServer();
    const h = new Harness();
    before(async () => {
      await redis.start();
      await h.start({ REDIS_URL: redis.url, METRICS_TOKEN, STORE_TIMEOUT_MS: '1000' });
      await h.createApp();
    });
    after(async () => {
      await h.stop();
      await redis.destroy();
    });

    it('times store commands by store and port while Redis answers', async () => {
      const families = await scrape(h);
      expect(valueOf(families, 'postern_store_command_duration_seconds_count', { store: 'redis', port: 'apps' })).to.be.greaterThan(0);
      expect(valueOf(families, 'postern_store_command_duration_seconds_count', { store: 'redis', port: 'rate_limits' })).to.be.greaterThan(0);
      expect(valueOf(families, 'postern_outbox_depth', { queue: 'mail' })).to.equal(0);
      expect(valueOf(families, 'postern_outbox_depth', { queue: 'backchannel_logout' })).to.equal(0);
    });

    it('still answers a scrape when Redis is stopped or stalled, counts the failed commands and leaves the outbox depth out', async () => {
      const before = await scrape(h);
      await redis.stop();
      try {
        expect((await h.admin('GET', '/admin/apps')).status).to.equal(503);
        const down = await scrape(h);
        const errors = (f: Family[]) => valueOf(f, 'postern_store_errors_total', { store: 'redis' });
        expect(errors(down) - errors(before)).to.be.at.least(1);
        expect(down.find((f) => f.name === 'postern_outbox_depth')?.metrics ?? []).to.deep.equal([]);
        expect(valueOf(down, 'postern_http_request_duration_seconds_count', { status: '503' })).to.be.at.least(1);
      } finally {
        await redis.start(redis.port);
      }
      await redis.pause();
      try {
        // A stalled store holds the depth query back; the scrape answers without it.
        expect((await scrape(h)).find((f) => f.name === 'postern_outbox_depth')?.metrics ?? []).to.deep.equal([]);
      } finally {
        redis.resume();
      }
      await h.untilReady();
    });
  });
});
