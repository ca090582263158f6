// A store that is reachable but does not answer: a real redis-server frozen with SIGSTOP
// (its kernel still accepts and buffers what is sent, nothing comes back). Every request
// that needs Redis must answer 503 with Retry-After while Redis is still frozen, after one
// store deadline at most (STORE_TIMEOUT_MS, short here); requests during a long stall must
// not pile up commands behind the frozen connection; and once Redis runs again,
// everything works without a restart.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import * as oidc from 'openid-client';
import { createLogger } from '../../src/log.ts';
import { openStores } from '../../src/storage/open-stores.ts';
import { StoreUnavailableError, type Stores } from '../../src/storage/ports.ts';
import { Browser, formOn, type Page } from '../helpers/browser.ts';
import { ADMIN_TOKEN, Harness, type AppJson } from '../helpers/harness.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { untilStoresAnswer } from '../helpers/stores-ready.ts';

// Short, but long enough that a loaded machine does not time out the set-up (a sign-in) itself.
const STORE_TIMEOUT_MS = 1_000;
/** The longest Redis stays frozen; the test resumes it as soon as every answer is in. */
const PAUSE_WINDOW_MS = 5_000;

interface Reply {
  readonly label: string;
  readonly status: number;
  readonly retryAfter: string | null;
  readonly contentType: string;
  readonly body: string;
  /** Redis was still frozen when this answer arrived. */
  readonly whilePaused: boolean;
}

/**
 * Freezes Redis, runs `work`, and lets Redis go as soon as it is done, or when the window
 * has passed (then the test fails: something waited for Redis).
 */
async function whileFrozen<T>(redis: RedisServer, work: () => Promise<T>): Promise<T> {
  redis.pause();
  let window: NodeJS.Timeout | undefined;
  try {
    const late = new Promise<never>((_, reject) => {
      window = setTimeout(() => reject(new Error(`still waiting when the ${PAUSE_WINDOW_MS} ms pause ended`)), PAUSE_WINDOW_MS);
    });
    return await Promise.race([work(), late]);
  } finally {
    clearTimeout(window);
    redis.resume();
  }
}

/** Sends every request at once; each reply notes whether Redis was still frozen when it came. */
function sendAll(redis: RedisServer, requests: Record<string, () => Promise<Page | Response>>): Promise<Reply[]> {
  return Promise.all(
    Object.entries(requests).map(async ([label, send]) => {
      const res = await send();
      const whilePaused = redis.paused;
      const body = res instanceof Response ? await res.text() : res.body;
      return { label, status: res.status, retryAfter: res.headers.get('retry-after'), contentType: res.headers.get('content-type') ?? '', body, whilePaused };
    }),
  );
}

/**
 * /readyz, asked until it answers 503 or Redis runs again: the background probe reports a
 * freeze within its bound (readiness-probe.ts), not at once.
 */
async function firstNotReady(url: string, redis: RedisServer): Promise<Response> {
  for (;;) {
    const res = await fetch(`${url}/readyz`);
    if (res.status === 503 || !redis.paused) return res;
    await res.body?.cancel();
    await new Promise((r) => setTimeout(r, 20));
  }
}

const adminGet = (url: string) => fetch(`${url}/admin/apps`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });

function expectUnavailable(reply: Reply, kind: 'json' | 'html') {
  const label = `${reply.label}: ${reply.status} ${reply.body.slice(0, 200)}`;
  expect(reply.whilePaused, `${reply.label} answered only after Redis resumed`).to.equal(true);
  expect(reply.status, label).to.equal(503);
  expect(reply.retryAfter, `${reply.label}: Retry-After`).to.match(/^[1-9]\d*$/);
  if (kind === 'json') {
    expect(reply.contentType, label).to.match(/^application\/json/);
    expect(JSON.parse(reply.body).error, label).to.equal('temporarily_unavailable');
  } else {
    expect(reply.contentType, label).to.match(/^text\/html/);
    expect(reply.body, label).not.to.match(/at .*\.ts:\d+/);
  }
}

const form = (fields: Record<string, string>) => ({
  method: 'POST',
  headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
  body: new URLSearchParams(fields).toString(),
});

describe('a stalled store (Redis frozen with SIGSTOP)', function () {
  this.timeout(60_000);
  const redis = new RedisServer();
  const h = new Harness();
  let app: AppJson;

  before(async () => {
    await redis.start();
    await h.start({ REDIS_URL: redis.url, STORE_TIMEOUT_MS: String(STORE_TIMEOUT_MS) });
    app = await h.createApp();
  });
  after(async () => {
    await h.stop();
    await redis.destroy();
  });

  it('answers the token endpoint, the engine\'s pages, a link request and the admin API with 503 and Retry-After, and /readyz 503 within the probe\'s bound, before Redis runs again, then works without a restart', async () => {
    const signedIn = await h.signIn(app, 'stall@example.com', { scope: 'openid offline_access' });
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    const linkForm = formOn(login.page);
    const newLogin = oidc.buildAuthorizationUrl(login.config, {
      redirect_uri: login.redirectUri,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const signOut = oidc.buildEndSessionUrl(signedIn.config, { id_token_hint: signedIn.tokens.id_token! });

    const replies = await whileFrozen(redis, () => sendAll(redis, {
      'token endpoint': () => fetch(`${app.issuer}/token`, form({ grant_type: 'refresh_token', refresh_token: signedIn.tokens.refresh_token!, client_id: app.client_id })),
      'authorization endpoint': () => new Browser().request(newLogin.href),
      'sign-out (engine page)': () => signedIn.browser.request(signOut.href),
      'link request': () => browser.request(new URL(linkForm.action, login.page.url).href, { form: { ...linkForm.fields, email: 'stall@example.com' } }),
      'admin GET': () => adminGet(h.url),
      '/readyz': () => firstNotReady(h.url, redis),
    }));
    const byLabel = Object.fromEntries(replies.map((r) => [r.label, r]));
    expectUnavailable(byLabel['token endpoint']!, 'json');
    // The authorization endpoint answers the app, at its redirect URI (RFC 6749 §4.1.2.1).
    const authorization = byLabel['authorization endpoint']!;
    expect(authorization.whilePaused).to.equal(true);
    expect(authorization.status).to.equal(303);
    expect(authorization.body).to.include('error=temporarily_unavailable');
    expectUnavailable(byLabel['sign-out (engine page)']!, 'html');
    expectUnavailable(byLabel['link request']!, 'html');
    expectUnavailable(byLabel['admin GET']!, 'json');
    expect(byLabel['/readyz']!.whilePaused, '/readyz turned 503 only after Redis resumed').to.equal(true);
    expect(byLabel['/readyz']!.status).to.equal(503);
    expect(byLabel['/readyz']!.retryAfter).to.match(/^[1-9]\d*$/);
    expect(JSON.parse(byLabel['/readyz']!.body).unavailable).to.equal('redis');

    // Redis runs again: the same process serves everything, with the same tokens and pages.
    await h.untilReady();
    expect((await h.admin('GET', '/admin/apps')).status).to.equal(200);
    // The timed-out refresh never reached its consume, so the refresh token still works.
    const refreshed = await oidc.refreshTokenGrant(signedIn.config, signedIn.tokens.refresh_token!);
    expect(refreshed.access_token).to.be.a('string');
    const { mail } = await h.requestLink(browser, login.page, 'stall@example.com');
    expect(mail.subject).to.be.a('string');
  });

  it('answers every request of a long stall while Redis is still frozen, without piling up commands for later', async () => {
    await h.untilReady(); // the first wave must meet a ready connection, not a reconnecting one
    const probe = new Redis(redis.url);
    const processed = async () => Number(/total_commands_processed:(\d+)/.exec(await probe.info('stats'))![1]);
    try {
      const before = await processed();
      // The first wave waits out the deadline; the connection is then dropped and remade,
      // and every later wave fails at once instead of queueing behind it.
      const later = 4 * 25;
      const waves = await whileFrozen(redis, async () => {
        const seen = [await sendAll(redis, Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`first ${i}`, () => adminGet(h.url)])))];
        for (let wave = 0; wave < later / 25; wave++) {
          seen.push(await sendAll(redis, Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`wave ${wave} ${i}`, () => adminGet(h.url)]))));
        }
        return seen.flat();
      });
      for (const reply of waves) expectUnavailable(reply, 'json');
      // What was written to the frozen socket runs when Redis resumes; the requests of the
      // later waves must not have added their commands to it.
      await h.untilReady();
      const ran = (await processed()) - before - 1; // less the INFO just sent
      expect(ran, `${ran} commands ran for ${later} requests sent after the first wave`).to.be.below(later);
    } finally {
      probe.disconnect();
    }
    expect((await h.admin('GET', '/admin/apps')).status).to.equal(200);
  });
});

describe('/readyz while Redis is frozen, with a long store deadline', function () {
  this.timeout(30_000);
  const redis = new RedisServer();
  const h = new Harness();

  before(async () => {
    await redis.start();
    // Far longer than the pause window: a 503 while frozen comes from the readiness probe's own deadline.
    await h.start({ REDIS_URL: redis.url, STORE_TIMEOUT_MS: '60000' });
  });
  after(async () => {
    await h.stop();
    await redis.destroy();
  });

  it('answers 503 with Retry-After while Redis is still frozen, every probe at once, then 200 again', async () => {
    await h.untilReady();
    // The background probe's ping is outstanding past its deadline: not ready, within the
    // probe's bound (readiness-probe.ts), long before the store deadline, Redis still frozen.
    const { notReady, answers } = await whileFrozen(redis, async () => {
      const notReady = await h.untilNotReady(PAUSE_WINDOW_MS);
      // Once it knows, no probe waits for Redis: a parallel burst is answered while frozen.
      const answers = await sendAll(redis, Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`/readyz ${i}`, () => fetch(`${h.url}/readyz`)])));
      return { notReady, answers };
    });
    expect(notReady).to.include({ status: 'unavailable', unavailable: 'redis' });
    expect(notReady.retryAfter).to.match(/^[1-9]\d*$/);
    for (const answer of answers) {
      expect(answer.whilePaused, `${answer.label} waited for Redis`).to.equal(true);
      expect(answer.status, answer.label).to.equal(503);
    }
    await h.untilReady();
  });
});

describe('the Redis driver while Redis is frozen', function () {
  this.timeout(30_000);
  const redis = new RedisServer();
  let stores: Stores;

  before(async () => {
    await redis.start();
    stores = await openStores({ redisUrl: redis.url, mongodbUri: undefined, storeTimeoutMs: STORE_TIMEOUT_MS }, createLogger('silent'));
  });
  after(async () => {
    await stores?.close();
    await redis.destroy();
  });

  it('fails every store, the rate limiters, purgeApp and ping with StoreUnavailableError naming redis before Redis resumes', async () => {
    const link = { hash: 'h', shortCodeHash: 's', appId: 'a', interactionUid: 'i', email: 'e@example.com', clientId: 'a', createdAt: 1, expiresAt: 2 };
    const limiter = stores.rateLimiter('stall-test', 5, 60);
    const calls: Record<string, () => Promise<unknown>> = {
      'apps.page': () => stores.apps.page(10),
      'accounts.recordLogin': () => stores.accounts.recordLogin('a', 'e@example.com', 1),
      'oidc.find': () => stores.oidc.find('a', 'Session', 's'),
      'oidc.upsert': () => stores.oidc.upsert('a', 'Session', 's', {}, 60),
      'oidc.consume': () => stores.oidc.consume('a', 'RefreshToken', 'r'),
      'magicLinks.save': () => stores.magicLinks.save(link, 60),
      'audit.query': () => stores.audit.query('a', { limit: 1 }),
      'rateLimiter.hit': () => limiter.hit('k'),
      'rateLimiter.exhausted': () => limiter.exhausted('k'),
      'changes.publish': () => stores.changes.publish('a'),
      purgeApp: () => stores.purgeApp('a'),
      ping: () => stores.ping(),
    };
    redis.pause();
    const outcomes: [string, unknown, boolean][] = [];
    try {
      // In parallel (the first ones meet the frozen socket) and again after (a fresh
      // connection that is not ready yet): both must fail, neither may wait for Redis.
      for (const round of ['in parallel', 'afterwards']) {
        const errors = await Promise.all(Object.values(calls).map((call) => call().then(() => undefined, (err: unknown) => err)));
        Object.keys(calls).forEach((name, i) => outcomes.push([`${name} (${round})`, errors[i], redis.paused]));
      }
    } finally {
      redis.resume();
    }
    for (const [name, error, whilePaused] of outcomes) {
      expect(whilePaused, `${name} answered only after Redis resumed`).to.equal(true);
      // publish is not guarded (its callers log a failed publish and go on).
      if (name.startsWith('changes.publish')) {
        expect(error, name).to.be.instanceOf(Error);
        continue;
      }
      expect(error, name).to.be.instanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).store, name).to.equal('redis');
    }
    await untilStoresAnswer(stores);
    expect(await limiter.hit('k')).to.equal(true);
  });
});
