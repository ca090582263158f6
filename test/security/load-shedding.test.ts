// Load shedding: while the event loop lags beyond MAX_EVENT_LOOP_LAG_MS, the expensive
// routes answer 503 temporarily_unavailable with Retry-After before doing any work, and
// everything else is served. Routes come from the routers themselves and the engine's
// discovery document, so a route added tomorrow is covered without editing this file.
//
// The lag is set through the server's lag source (what the middleware reads) in most
// tests, so they are deterministic; one test holds this process's event loop for real
// while requests are in flight and lets the real monitor (tested on its own in
// test/unit/event-loop-lag.test.ts) decide.
import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import * as oidc from 'openid-client';
import { processEventLoopLag, type LagSource } from '../../src/http/event-loop-lag.ts';
import { RouteCosts } from '../../src/http/load-shedding.ts';
import { exactRouter } from '../../src/http/request-path.ts';
import { Browser, formOn } from '../helpers/browser.ts';
import { ADMIN_TOKEN, Harness, type AppJson } from '../helpers/harness.ts';
import { holdEventLoop } from '../helpers/hold-event-loop.ts';
import { fillPath, routesOf } from '../helpers/routes.ts';
import { contentTypeOf, expectNoLeak, logLines, raw, type RawReply } from './support.ts';

const MAX_LAG_MS = 100;
const WRITES = ['POST', 'PUT', 'PATCH', 'DELETE'];

/** A lag source the test sets: what the middleware reads, in place of the process monitor. */
class SetLag implements LagSource {
  ms = 0;
  lagMs() {
    return this.ms;
  }
}

/** The engine's endpoints (paths inside the app) as its discovery document lists them. */
async function engineEndpoints(app: AppJson): Promise<string[]> {
  const discovery = (await (await fetch(`${app.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
  return Object.entries(discovery)
    .filter(([key, value]) => (key.endsWith('_endpoint') || key === 'jwks_uri') && typeof value === 'string')
    .map(([, value]) => new URL(value as string).pathname.slice(new URL(app.issuer).pathname.length));
}

function expectShed(reply: RawReply, label: string, kind: 'json' | 'html' = 'json') {
  expect(reply.status, `${label}: ${reply.status} ${reply.body.slice(0, 200)}`).to.equal(503);
  expect(reply.headers['retry-after'], `${label}: Retry-After`).to.match(/^[1-9]\d*$/);
  expect(reply.headers['cache-control'], label).to.equal('no-store');
  expectNoLeak(reply.body, label);
  if (kind === 'json') expect(JSON.parse(reply.body).error, label).to.equal('temporarily_unavailable');
  else expect(contentTypeOf(reply), label).to.match(/^text\/html/);
}

const formBody = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };

describe('load shedding: which routes are expensive', () => {
  const h = new Harness();
  let app: AppJson;
  let costs: RouteCosts;

  before(async () => {
    await h.start();
    app = await h.createApp();
    costs = new RouteCosts(h.server.routers);
  });
  after(() => h.stop());

  it('classifies every route of every router, for each of its methods', () => {
    let writes = 0;
    for (const [name, router] of Object.entries(h.server.routers)) {
      for (const route of routesOf(router)) {
        const path = fillPath(route.path, { appId: app.app_id, uid: 'uid1', id: app.app_id });
        for (const method of route.methods) {
          const classified = costs.classify(method, path);
          expect(classified, `${name} ${method} ${route.path}`).to.not.equal(undefined);
          expect(classified!.route, `${name} ${method} ${route.path}`).to.equal(`${name} ${route.path} ${method}`);
          if (WRITES.includes(method)) writes++;
          // Reads are never shed, whatever the router.
          if (!WRITES.includes(method)) expect(classified!.policy, `${name} ${method} ${route.path}`).to.equal('serve');
        }
      }
    }
    expect(writes, 'state-changing routes found').to.be.greaterThan(8);
  });

  it('sheds the sign-in steps that send or check a link or code, and admin writes; serves sign-out everywhere', () => {
    const shed = (method: string, path: string) => costs.classify(method, path)?.policy;
    const login = `/apps/${app.app_id}/interaction/uid1`;
    for (const step of ['email', 'resend', 'code', 'link']) expect(shed('POST', `${login}/${step}`), step).to.equal('shed');
    expect(shed('GET', `${login}/link`), 'the link page itself').to.equal('serve');
    expect(shed('POST', '/admin/apps')).to.equal('shed');
    expect(shed('PATCH', `/admin/apps/${app.app_id}`)).to.equal('shed');
    expect(shed('DELETE', `/admin/apps/${app.app_id}`)).to.equal('shed');
    expect(shed('POST', `/admin/apps/${app.app_id}/keys/rotate`)).to.equal('shed');
    expect(shed('POST', `/apps/${app.app_id}/token/revoke_all`)).to.equal('serve');
    expect(shed('GET', '/healthz')).to.equal('serve');
    expect(shed('GET', '/readyz')).to.equal('serve');
  });

  it("classifies every engine endpoint in discovery for POST: the token endpoint and the posted authorization and sign-out requests are shed, the others served", async () => {
    const endpoints = await engineEndpoints(app);
    expect(endpoints).to.include.members(['/token', '/token/introspection', '/token/revocation', '/me', '/session/end', '/auth', '/jwks']);
    for (const endpoint of [...endpoints, '/session/end/confirm']) {
      for (const method of ['POST', 'GET']) {
        const classified = costs.classify(method, `/apps/${app.app_id}${endpoint}`);
        expect(classified, `${method} ${endpoint}`).to.not.equal(undefined);
        const expected = ['/token', '/auth', '/session/end'].includes(endpoint) && method === 'POST' ? 'shed' : 'serve';
        expect(classified!.policy, `${method} ${endpoint} (${classified!.route})`).to.equal(expected);
      }
    }
  });

  it('sheds every spelling of the token, authorization and end-session endpoints the engine would answer (it folds case)', () => {
    for (const endpoint of ['token', 'auth', 'session/end']) {
      const spelt = endpoint.replace(/^./, (c) => `%${c.charCodeAt(0).toString(16)}`);
      for (const path of [`/apps/${app.app_id}/${endpoint.toUpperCase()}`, `/apps/${app.app_id}/${endpoint[0]!.toUpperCase()}${endpoint.slice(1)}`, `/apps/${app.app_id.toUpperCase()}/${endpoint}`, `/apps/${app.app_id}/${endpoint}/`, `/APPS/${app.app_id}/${endpoint}`, `/apps/${app.app_id}/${spelt}`, `/apps/${app.app_id}/x/../${endpoint}`]) {
        expect(costs.classify('POST', path)?.policy, path).to.equal('shed');
      }
    }
  });

  it('refuses to build with a router it has no policy for', () => {
    const extra = exactRouter();
    extra.post('/new', () => {});
    expect(() => new RouteCosts({ ...h.server.routers, brandNew: extra })).to.throw(/brandNew.*no load-shedding policy/);
  });
});

describe('load shedding while the event loop lags', function () {
  this.timeout(60_000);
  const lag = new SetLag();
  const h = new Harness();
  let app: AppJson;

  before(async () => {
    await h.start({ MAX_EVENT_LOOP_LAG_MS: String(MAX_LAG_MS) }, { eventLoopLag: lag });
    app = await h.createApp();
  });
  after(() => h.stop());
  afterEach(() => {
    lag.ms = 0;
  });

  it('answers every expensive route 503 with Retry-After before any work, serves every other route, and recovers', async () => {
    const signedIn = await h.signIn(app, 'shed@example.com', { scope: 'openid offline_access' });
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    const linkForm = formOn(login.page);
    const costs = new RouteCosts(h.server.routers);
    const mailsBefore = h.smtp.mails.length;
    const appCount = async () => ((await h.admin('GET', '/admin/apps')).body as { apps: unknown[] }).apps.length;
    const appsBefore = await appCount();

    lag.ms = MAX_LAG_MS + 1;
    // Every route of every router and every engine endpoint, with each of its methods.
    const targets: [string, string][] = [];
    for (const router of Object.values(h.server.routers)) {
      for (const route of routesOf(router)) {
        const path = fillPath(route.path, { appId: app.app_id, uid: 'uid1', id: app.app_id });
        for (const method of route.methods) if (method !== 'HEAD' && method !== 'OPTIONS') targets.push([method, path]);
      }
    }
    for (const endpoint of await engineEndpoints(app)) for (const method of ['GET', 'POST']) targets.push([method, `${app.issuer.slice(h.url.length)}${endpoint}`]);
    let shed = 0;
    for (const [method, path] of targets) {
      const reply = await raw(h.url, path, { method, headers: { ...FORM, authorization: `Bearer ${ADMIN_TOKEN}` }, body: method === 'GET' ? undefined : '' });
      const label = `${method} ${path}`;
      if (costs.classify(method, path)?.policy === 'shed') {
        expectShed(reply, label);
        shed++;
      } else {
        expect(reply.status, `${label} is served: ${reply.body.slice(0, 200)}`).to.not.equal(503);
      }
    }
    expect(shed, 'shed routes met').to.be.at.least(9);
    for (const path of ['/healthz', '/readyz', `${app.issuer.slice(h.url.length)}/.well-known/openid-configuration`, `${app.issuer.slice(h.url.length)}/jwks`]) {
      expect((await raw(h.url, path)).status, path).to.equal(200);
    }
    // The person at the login form gets a page, not JSON.
    const page = await browser.request(new URL(linkForm.action, login.page.url).href, { form: { ...linkForm.fields, email: 'shed@example.com' } });
    expect(page.status).to.equal(503);
    expect(page.headers.get('retry-after')).to.match(/^[1-9]\d*$/);
    expect(page.headers.get('content-type')).to.match(/^text\/html/);
    const token = await raw(h.url, `${app.issuer.slice(h.url.length)}/token`, {
      method: 'POST',
      headers: FORM,
      body: formBody({ grant_type: 'refresh_token', refresh_token: signedIn.tokens.refresh_token!, client_id: app.client_id }),
    });
    expectShed(token, 'refresh at the token endpoint');

    // Nothing was done: no mail went out, no app was created, the refresh token is unspent.
    await h.server.mailQueue.idle();
    expect(h.smtp.mails.length, 'mail sent while shedding').to.equal(mailsBefore);

    lag.ms = 0;
    expect(await appCount(), 'apps created while shedding').to.equal(appsBefore);
    const refreshed = await oidc.refreshTokenGrant(signedIn.config, signedIn.tokens.refresh_token!);
    expect(refreshed.access_token).to.be.a('string');
    const { mail } = await h.requestLink(browser, login.page, 'shed@example.com');
    expect(mail.to).to.equal('shed@example.com');
    expect((await h.admin('POST', '/admin/apps', { name: 'After', redirect_uris: ['http://localhost:8080/callback'] })).status).to.equal(201);
  });

  it('sheds a parallel burst, mixed-case and forged-header spellings, and admin writes whatever the credentials', async () => {
    lag.ms = 10 * MAX_LAG_MS;
    const tokenPath = `${app.issuer.slice(h.url.length)}/token`;
    const burst = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        // The engine folds case: /TOKEN reaches the token endpoint too.
        raw(h.url, i % 2 ? tokenPath : tokenPath.replace(/token$/, 'TOKEN'), {
          method: 'POST',
          headers: { ...FORM, 'x-forwarded-for': '127.0.0.1', 'x-forwarded-host': 'localhost', forwarded: 'for=127.0.0.1', 'x-real-ip': '10.0.0.1' },
          body: formBody({ grant_type: 'refresh_token', refresh_token: 'x', client_id: app.client_id }),
        }),
      ),
    );
    burst.forEach((reply, i) => expectShed(reply, `burst ${i}`));
    for (const token of [ADMIN_TOKEN, 'wrong', '']) {
      const reply = await raw(h.url, '/admin/apps', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: '{"name":"x"}' });
      expectShed(reply, `admin POST with token "${token}"`);
    }
  });
});

describe('load shedding, seen by the operator', () => {
  const lag = new SetLag();
  const h = new Harness();
  before(() => h.start({ MAX_EVENT_LOOP_LAG_MS: String(MAX_LAG_MS) }, { eventLoopLag: lag }));
  after(() => h.stop());

  it('logs a warning with the lag when it starts shedding, not one line per refused request', async () => {
    lag.ms = 5 * MAX_LAG_MS;
    for (let i = 0; i < 5; i++) expectShed(await raw(h.url, '/admin/apps', { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, body: '' }), `request ${i}`);
    const warned = logLines(h).filter((l) => l.msg === 'overloaded: shedding expensive requests');
    expect(warned).to.have.length(1);
    expect(warned[0]).to.include({ level: 'warn', lag_ms: 5 * MAX_LAG_MS, max_lag_ms: MAX_LAG_MS, shed: 1 });
    // Each refusal is still in the request log, as a 503.
    const refused = logLines(h).filter((l) => l.status === 503 && l.path === '/admin/apps');
    expect(refused).to.have.length(5);
  });
});

describe('load shedding turned off (MAX_EVENT_LOOP_LAG_MS=0)', () => {
  const lag = new SetLag();
  const h = new Harness();
  before(() => h.start({ MAX_EVENT_LOOP_LAG_MS: '0' }, { eventLoopLag: lag }));
  after(() => h.stop());

  it('serves the expensive routes however far the loop lags', async () => {
    lag.ms = 60_000;
    expect((await h.admin('POST', '/admin/apps', { name: 'Never shed', redirect_uris: ['http://localhost:8080/callback'] })).status).to.equal(201);
  });
});


/** A connected socket; `send` writes a whole request at once and resolves with the raw answer. */
async function openConnection(url: string): Promise<{ socket: Socket; send(request: string): Promise<string> }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port), hostname);
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return {
    socket,
    send(request) {
      const chunks: Buffer[] = [];
      const answer = new Promise<string>((resolve, reject) => {
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        socket.once('error', reject);
      });
      socket.write(request);
      return answer;
    },
  };
}

/** Waits until the real monitor reads a lag within the limit. */
async function untilCalm(): Promise<void> {
  const giveUp = performance.now() + 10_000;
  while (processEventLoopLag().lagMs() > MAX_LAG_MS) {
    if (performance.now() > giveUp) throw new Error('the event loop did not calm down');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('load shedding with the real monitor, the event loop held while requests wait', function () {
  this.timeout(30_000);
  const h = new Harness();
  let app: AppJson;
  // The real monitor, read while the test holds the loop. Before and after, a busy machine
  // stalls this process by itself (starting the server, signing in): the set-up and the
  // follow-up are not the test, and a shed sign-in step there would fail it.
  const real = processEventLoopLag();
  let watching = false;
  const lag: LagSource = { lagMs: () => (watching ? real.lagMs() : 0) };

  before(async () => {
    await h.start({ MAX_EVENT_LOOP_LAG_MS: String(MAX_LAG_MS) }, { eventLoopLag: lag });
    app = await h.createApp();
  });
  after(() => h.stop());

  it('answers the token endpoint 503 and /healthz 200 for requests that waited out a stall, then serves the token endpoint again', async () => {
    const signedIn = await h.signIn(app, 'stall-loop@example.com', { scope: 'openid offline_access' });
    const host = new URL(h.url).host;
    const body = formBody({ grant_type: 'refresh_token', refresh_token: signedIn.tokens.refresh_token!, client_id: app.client_id });
    const tokenRequest = `POST ${new URL(app.issuer).pathname}/token HTTP/1.1\r\nHost: ${host}\r\nAccept: application/json\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
    const healthRequest = `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
    const connections = await Promise.all([openConnection(h.url), openConnection(h.url), openConnection(h.url)]);
    // Calm first, so that what the monitor reads next is the hold.
    await untilCalm();
    watching = true;
    // The requests are in the server's socket buffers before the loop is held.
    const answers = Promise.all([connections[0]!.send(tokenRequest), connections[1]!.send(healthRequest), connections[2]!.send(tokenRequest)]);
    holdEventLoop(5 * MAX_LAG_MS);
    const [token, health, again] = await answers.finally(() => (watching = false));
    for (const [label, answer] of [['token', token], ['token again', again]] as const) {
      expect(answer, label).to.match(/^HTTP\/1\.1 503 /);
      expect(answer, label).to.match(/\r\nretry-after: [1-9]\d*\r\n/i);
      expect(answer, label).to.include('"error":"temporarily_unavailable"');
    }
    expect(health).to.match(/^HTTP\/1\.1 200 /);

    // The same refresh token works: the shed request did nothing.
    const refreshed = await oidc.refreshTokenGrant(signedIn.config, signedIn.tokens.refresh_token!);
    expect(refreshed.access_token).to.be.a('string');
  });
});
