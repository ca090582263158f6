// Posted requests as an attacker and an operator meet them (src/oidc/posted-request.ts):
// a handle works once, at its own app and endpoint, for a minute, alone in the query,
// also under a burst of parallel uses; hostile bodies are refused before anything is
// stored (the spellings of the endpoints: route-surface.test.ts). With Redis: an
// outage during the POST stores nothing, an outage at the GET uses nothing up, the
// parameters are sealed at rest, and another instance continues what one stored.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { Harness, type AppJson } from '../helpers/harness.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { harnessOn } from '../helpers/storage-harness.ts';
import { contentTypeOf, expectClean4xx, raw, type RawReply } from './support.ts';

const FORM = 'application/x-www-form-urlencoded';
const EXPIRED = /has expired or was already used\. Go back to the app and try again\./;

/** The form of an authorization request for `app`, as openid-client builds it. */
async function authorizationForm(h: Harness, app: AppJson, params: Record<string, string> = {}): Promise<string> {
  return (await h.authorizationRequest(app, { params })).url.searchParams.toString();
}

/** POSTs `body` to `path` under the app's issuer; the handle from the 303. */
async function post(h: Harness, app: AppJson, path: string, body: string): Promise<string> {
  const reply = await raw(h.url, `/apps/${app.app_id}${path}`, { method: 'POST', headers: { 'content-type': FORM }, body });
  expect(reply.status, reply.body.slice(0, 200)).to.equal(303);
  const handle = new URL(String(reply.headers.location)).searchParams.get('posted');
  expect(handle).to.match(/^[A-Za-z0-9_-]{43}$/);
  return handle!;
}

const get = (h: Harness, app: AppJson, target: string, accept = 'text/html') => raw(h.url, `/apps/${app.app_id}${target}`, { headers: { accept } });

/** The page for a handle that is no good: 400, human, never the engine's own text. */
function expectRefusedHandle(reply: RawReply, label: string) {
  expectClean4xx({ ...reply, contentType: contentTypeOf(reply) }, label, 400);
  expect(reply.body, label).to.match(/^<!doctype html>/i);
  expect(reply.body, label).to.match(/(?:has expired or was already used|mixes posted parameters with others)[^<]*Go back to the app and try again\./);
  expect(reply.headers.location, label).to.equal(undefined);
}

/** The engine took the request: it sent the browser on to the login (or back to the app). */
const reachedEngine = (reply: RawReply) => reply.status === 303 && /\/interaction\/|[?&]code=/.test(String(reply.headers.location));

for (const storage of ['memory', 'redis'] as const) {
  describe(`posted requests: handles (${storage})`, function () {
    this.timeout(60_000);
    const { h, redis } = harnessOn(storage);
    let app: AppJson;
    let other: AppJson;

    before(async () => {
      app = await h.createApp({ name: 'Handle App' });
      other = await h.createApp({ name: 'Other App' });
    });

    it('uses a handle once: the replay gets a 400 page that says what to do (JSON for API callers)', async () => {
      const handle = await post(h, app, '/auth', await authorizationForm(h, app));
      expect(reachedEngine(await get(h, app, `/auth?posted=${handle}`))).to.equal(true);
      expectRefusedHandle(await get(h, app, `/auth?posted=${handle}`), 'replay');
      const json = await get(h, app, `/auth?posted=${handle}`, 'application/json');
      expect(json.status).to.equal(400);
      expect(JSON.parse(json.body)).to.deep.include({ error: 'invalid_request' });
      expect(JSON.parse(json.body).error_description).to.match(EXPIRED);
    });

    it("refuses a handle at another app and at the other endpoint; it still works where it belongs", async () => {
      const handle = await post(h, app, '/auth', await authorizationForm(h, app));
      expectRefusedHandle(await get(h, other, `/auth?posted=${handle}`), 'other app');
      expectRefusedHandle(await get(h, app, `/session/end?posted=${handle}`), 'other endpoint');
      expect(reachedEngine(await get(h, app, `/auth?posted=${handle}`))).to.equal(true);
      // And the other way round: an end-session handle is not an authorization request.
      const bye = await post(h, app, '/session/end', `client_id=${app.client_id}`);
      expectRefusedHandle(await get(h, app, `/auth?posted=${bye}`), 'end-session handle at /auth');
      expect((await get(h, app, `/session/end?posted=${bye}`)).status).to.equal(200);
    });

    it('refuses tampered, cut, padded, empty and repeated handles, and handles mixed with other parameters, using nothing up', async () => {
      const handle = await post(h, app, '/auth', await authorizationForm(h, app));
      const flip = (c: string) => (c === 'A' ? 'B' : 'A');
      for (const query of [
        `posted=${handle.slice(0, -1)}${flip(handle.at(-1)!)}`,
        `posted=${handle.slice(0, -1)}`,
        `posted=${handle}A`,
        `posted=${handle.toUpperCase()}`,
        `posted=%20${handle}`,
        'posted=',
        'posted',
        `posted=${'A'.repeat(4000)}`,
        `posted=${handle}&posted=${handle}`,
        `posted=${handle}&client_id=${app.client_id}`,
        `client_id=${app.client_id}&posted=${handle}`,
        `posted=${handle}&prompt=none`,
        `posted=${handle}&x=1`,
      ]) {
        expectRefusedHandle(await get(h, app, `/auth?${query}`), query.slice(0, 80));
      }
      expect(reachedEngine(await get(h, app, `/auth?posted=${handle}`)), 'the real handle still works').to.equal(true);
    });

    it('lets exactly one of 20 parallel uses of one handle through', async () => {
      const handle = await post(h, app, '/auth', await authorizationForm(h, app));
      const replies = await Promise.all(Array.from({ length: 20 }, () => get(h, app, `/auth?posted=${handle}`)));
      expect(replies.filter(reachedEngine)).to.have.length(1);
      for (const reply of replies.filter((r) => !reachedEngine(r))) expectRefusedHandle(reply, 'burst loser');
    });

    it('continues at every spelling the engine routes to the endpoint', async () => {
      const handle = await post(h, app, '/auth', await authorizationForm(h, app));
      expect(reachedEngine(await get(h, app, `/AUTH/?posted=${handle}`))).to.equal(true);
    });

    it('refuses hostile bodies before storing anything', async () => {
      const app = await h.createApp({ name: 'Hostile Bodies' });
      const target = `/apps/${app.app_id}/auth`;
      const form = await authorizationForm(h, app);
      const send = (headers: Record<string, string>, body: string | Buffer, chunked = false) =>
        raw(h.url, target, { method: 'POST', headers: { accept: 'application/json', ...headers }, body, chunked });
      const cases: [string, Promise<RawReply>, number][] = [
        ['56 KiB + 1', send({ 'content-type': FORM }, `${form}&x=${'a'.repeat(56 * 1024)}`), 413],
        ['chunked', send({ 'content-type': FORM }, form, true), 411],
        ['JSON', send({ 'content-type': 'application/json' }, JSON.stringify({ client_id: app.client_id })), 415],
        ['text/plain', send({ 'content-type': 'text/plain' }, form), 415],
        ['multipart', send({ 'content-type': 'multipart/form-data; boundary=x' }, `--x\r\nContent-Disposition: form-data; name="client_id"\r\n\r\n${app.client_id}\r\n--x--`), 415],
        ['no body', send({}, ''), 415],
        ['bad percent-encoding', send({ 'content-type': FORM }, `${form}&login_hint=%zz`), 400],
        ['invalid UTF-8', send({ 'content-type': FORM }, Buffer.concat([Buffer.from(`${form}&login_hint=`), Buffer.from([0xc3, 0x28])])), 400],
        ['a lone surrogate', send({ 'content-type': FORM }, `${form}&login_hint=%ED%A0%80`), 400],
        ['a repeated field', send({ 'content-type': FORM }, `${form}&scope=openid`), 400],
      ];
      for (const [label, reply, status] of cases) {
        const answer = await reply;
        expectClean4xx({ ...answer, contentType: contentTypeOf(answer) }, label, status);
        expect(answer.headers.location, label).to.equal(undefined);
      }
      const withQuery = await raw(h.url, `${target}?client_id=${app.client_id}`, { method: 'POST', headers: { 'content-type': FORM, accept: 'application/json' }, body: form });
      expect([withQuery.status, JSON.parse(withQuery.body).error_description]).to.deep.equal([400, 'Send the parameters in the form body only, not also in the URL.']);
      if (storage === 'redis') expect(await postedKeys(redis, app), 'nothing stored').to.deep.equal([]);
    });

    if (storage === 'memory') {
      it('expires a handle after a minute', async () => {
        const handle = await post(h, app, '/auth', await authorizationForm(h, app));
        h.clock.travel(61);
        try {
          expectRefusedHandle(await get(h, app, `/auth?posted=${handle}`), 'after 61 s');
        } finally {
          h.clock.reset();
        }
      });
    }

    if (storage === 'redis') {
      it('keeps posted parameters sealed at rest, under a hashed key, for a minute', async () => {
        const app = await h.createApp({ name: 'Sealed' });
        const handle = await post(h, app, '/auth', await authorizationForm(h, app, { login_hint: 'sealed-hint@example.com' }));
        const keys = await postedKeys(redis, app);
        expect(keys).to.have.length(1);
        expect(keys[0]).not.to.include(handle);
        const client = new Redis(redis.url);
        try {
          const stored = JSON.stringify(await client.hgetall(keys[0]!));
          expect(stored).not.to.include('sealed-hint');
          expect(stored).not.to.include(app.redirect_uris[0]!.split('//')[1]);
          expect(await client.pttl(keys[0]!)).to.be.within(50_000, 60_000);
        } finally {
          client.disconnect();
        }
        expect(reachedEngine(await get(h, app, `/auth?posted=${handle}`))).to.equal(true);
        expect(await postedKeys(redis, app), 'removed once used').to.deep.equal([]);
      });

      it('answers 503 with Retry-After while Redis is down at the POST, stores nothing, and works again after', async () => {
        const app = await h.createApp({ name: 'Outage' });
        const form = await authorizationForm(h, app);
        expect((await get(h, app, '/.well-known/openid-configuration')).status).to.equal(200); // the app's Provider is cached
        await redis.stop();
        let reply: RawReply;
        try {
          reply = await raw(h.url, `/apps/${app.app_id}/auth`, { method: 'POST', headers: { 'content-type': FORM, accept: 'text/html' }, body: form });
        } finally {
          await redis.start(redis.port);
        }
        expect(reply.status).to.equal(503);
        expect(reply.headers['retry-after']).to.match(/^[1-9]\d*$/);
        expect(reply.headers.location).to.equal(undefined);
        expect(contentTypeOf(reply)).to.match(/^text\/html/);
        await h.untilReady();
        expect(await postedKeys(redis, app)).to.deep.equal([]);
        const handle = await post(h, app, '/auth', form);
        expect(reachedEngine(await get(h, app, `/auth?posted=${handle}`))).to.equal(true);
      });

      it('answers 503 while Redis is down at the GET, and the handle is still good once it is back', async () => {
        const handle = await post(h, app, '/auth', await authorizationForm(h, app));
        await redis.stop();
        let reply: RawReply;
        try {
          reply = await get(h, app, `/auth?posted=${handle}`);
        } finally {
          await redis.start(redis.port);
        }
        expect(reply.status).to.equal(503);
        expect(reply.headers['retry-after']).to.match(/^[1-9]\d*$/);
        await h.untilReady();
        expect(reachedEngine(await get(h, app, `/auth?posted=${handle}`))).to.equal(true);
      });
    }
  });
}

/** Keys of the app's posted requests in Redis. */
async function postedKeys(redis: RedisServer, app: AppJson): Promise<string[]> {
  const client = new Redis(redis.url);
  try {
    return await client.keys(`postern:${app.app_id}:m:Posted*`);
  } finally {
    client.disconnect();
  }
}

describe('posted requests across instances on one Redis', function () {
  this.timeout(60_000);
  const redis = new RedisServer();
  const first = new Harness();
  const second = new Harness();

  before(async () => {
    await redis.start();
    await first.start({ REDIS_URL: redis.url });
    // The same PUBLIC_URL (issuers) on both, as behind one load balancer.
    await second.start({ REDIS_URL: redis.url, PUBLIC_URL: first.url });
  });
  after(async () => {
    await second.stop();
    await first.stop();
    await redis.destroy();
  });

  it('continues on one instance a request posted to the other, once', async () => {
    const app = await first.createApp({ name: 'Shared App' });
    const signedIn = await first.signIn(app, 'two-instances@example.com');
    const request = await first.authorizationRequest(app, { params: { prompt: 'none' } });
    const posted = await signedIn.browser.request(`${app.issuer}/auth`, { form: Object.fromEntries(request.url.searchParams) });
    expect(posted.status).to.equal(303);
    // The browser comes back through the balancer to the other instance.
    const there = posted.headers.get('location')!.replace(first.url, second.url);
    const cookie = signedIn.browser.cookieHeader(posted.headers.get('location')!);
    const continued = await fetch(there, { headers: { cookie, accept: 'text/html' }, redirect: 'manual' });
    expect(continued.status).to.equal(303);
    expect(new URL(continued.headers.get('location')!).searchParams.get('code')).to.be.a('string');
    const again = await fetch(posted.headers.get('location')!, { headers: { cookie, accept: 'text/html' }, redirect: 'manual' });
    expect(again.status).to.equal(400);
  });
});
