// Expensive requests take turns (src/http/turns.ts, src/http/load-shedding.ts): a burst of
// them starts only a few milliseconds of work per turn of the event loop, the rest wait
// and are refused with 503 + Retry-After once they have waited longer than the lag limit,
// and cheap routes (/healthz, /readyz) are answered between turns rather than behind the
// burst. The lag source reads 0 except where a test sets it: whatever else is refused here
// is refused for its wait in the queue alone.
//
// The burst's requests are written on connections opened (and accepted) beforehand and are all in the
// server's socket buffers before it runs (the server runs in this process, which is busy
// writing them), so the server meets them in one turn, the probes last: the order in
// which answers come back is the claim, never a duration.
import { expect } from 'chai';
import type { LagSource } from '../../src/http/event-loop-lag.ts';
import { ADMIN_TOKEN, Harness, type AppJson } from '../helpers/harness.ts';
import { RawConnection, rawRequest, type RawAnswer } from '../helpers/raw-connection.ts';
import { logLines } from './support.ts';

const MAX_LAG_MS = 100;
const BURST = 1200;

/** The lag load shedding reads: 0 unless a test sets it. */
class SetLag implements LagSource {
  ms = 0;
  lagMs() {
    return this.ms;
  }
}

/** An answer, or a refusal made the way shedding makes it. */
function expectAnsweredOrShed(answer: RawAnswer, answered: number, label: string) {
  if (answer.status === 503) {
    expect(answer.headers['retry-after'], `${label}: Retry-After`).to.match(/^[1-9]\d*$/);
    expect(JSON.parse(answer.body).error, label).to.equal('temporarily_unavailable');
  } else {
    expect(answer.status, `${label}: ${answer.body.slice(0, 200)}`).to.equal(answered);
  }
}

describe('expensive requests take turns', function () {
  this.timeout(120_000);
  const h = new Harness();
  const lag = new SetLag();
  let app: AppJson;
  let host: string;
  let tokenPath: string;
  const junkRefresh = () => {
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'not-a-token', client_id: app.client_id }).toString();
    return rawRequest('POST', tokenPath, host, { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' }, body);
  };

  before(async () => {
    await h.start({ MAX_EVENT_LOOP_LAG_MS: String(MAX_LAG_MS) }, { eventLoopLag: lag });
    app = await h.createApp();
    host = new URL(h.url).host;
    tokenPath = `${new URL(app.issuer).pathname}/token`;
  });
  after(() => h.stop());
  afterEach(() => {
    lag.ms = 0;
  });

  it('serves normal traffic at once: sequential and parallel expensive requests are neither delayed to a refusal nor shed', async () => {
    const signedIn = await h.signIn(app, 'turns-user@example.com', { scope: 'openid offline_access' });
    let refreshToken = signedIn.tokens.refresh_token!;
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${h.url}${tokenPath}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: app.client_id }),
      });
      expect(res.status, `refresh ${i}`).to.equal(200);
      refreshToken = ((await res.json()) as { refresh_token: string }).refresh_token;
    }
    const created = await Promise.all(Array.from({ length: 10 }, (_, i) => h.admin('POST', '/admin/apps', { name: `Turns ${i}`, redirect_uris: ['http://localhost:8080/callback'] })));
    expect(created.map((r) => r.status)).to.deep.equal(Array(10).fill(201));
    expect(logLines(h).filter((l) => l.msg === 'overloaded: shedding expensive requests')).to.have.length(0);
  });

  it(`answers /healthz and /readyz ahead of a burst of ${BURST} token requests that arrived before them; each of the burst gets its answer or a 503 with Retry-After`, async () => {
    const burst = await Promise.all(Array.from({ length: BURST }, () => RawConnection.open(h.url)));
    const probes = await Promise.all([RawConnection.open(h.url), RawConnection.open(h.url)]);
    const order: string[] = [];
    const answers = burst.map((c, i) => {
      c.write(junkRefresh());
      return c.next().then((a) => (order.push(`burst ${i}`), a));
    });
    probes[0]!.write(rawRequest('GET', '/healthz', host));
    probes[1]!.write(rawRequest('GET', '/readyz', host));
    const [health, ready] = await Promise.all(probes.map((p, i) => p.next().then((a) => (order.push(i ? 'readyz' : 'healthz'), a))));
    const burstAnswers = await Promise.all(answers);

    expect(health!.status).to.equal(200);
    expect(ready!.status).to.equal(200);
    burstAnswers.forEach((a, i) => expectAnsweredOrShed(a, 400, `burst ${i}`));
    // Without turns both would come after (nearly) the whole burst.
    for (const probe of ['healthz', 'readyz']) expect(order.indexOf(probe), `${probe} answered after ${order.indexOf(probe)} of the burst`).to.be.below(BURST / 2);
    // The server is not stuck: the same connections are served again.
    for (const c of burst.slice(0, 5)) {
      c.write(junkRefresh());
      expectAnsweredOrShed(await c.next(), 400, 'again');
    }
    for (const c of [...burst, ...probes]) c.close();
  });

  it('serves the requests of a burst waiting for their turn though the loop lags once they wait: they are judged by their wait, not by the lag', async () => {
    // The burst's own arrival (reading all of it in one turn) is lag the monitor remembers
    // for a second; refusing the waiting requests for it would refuse the burst for the
    // cost of reading it.
    const size = 300;
    const burst = await Promise.all(Array.from({ length: size }, () => RawConnection.open(h.url)));
    const answers = burst.map((c) => (c.write(junkRefresh()), c.next()));
    for (let turn = 0; turn < 10 && !h.server.loadShedding.waiting; turn++) await new Promise((resolve) => setImmediate(resolve));
    const waiting = h.server.loadShedding.waiting;
    expect(waiting, 'requests waiting for their turn').to.be.greaterThan(0);
    lag.ms = 10 * MAX_LAG_MS;
    const all = await Promise.all(answers);
    all.forEach((a, i) => expectAnsweredOrShed(a, 400, `burst ${i}`));
    // Those started before the lag are at most the ones that were not waiting.
    const served = all.filter((a) => a.status === 400).length;
    expect(served, `served of ${size}, ${waiting} of them waiting when the loop began to lag`).to.be.greaterThan(size - waiting);
    // While it lags and nothing waits any more, a new one is refused at once.
    const after = await RawConnection.open(h.url);
    after.write(junkRefresh());
    expectAnsweredOrShed(await after.next(), 503, 'lagging, nothing waiting');
    for (const c of [...burst, after]) c.close();
  });

  it('answers every pipelined request of a kept-alive connection in order, and probes meanwhile', async () => {
    const pipelines = await Promise.all(Array.from({ length: 4 }, () => RawConnection.open(h.url)));
    const probe = await RawConnection.open(h.url);
    const answers: Promise<RawAnswer>[] = [];
    for (const c of pipelines) {
      c.write(Array.from({ length: 300 }, junkRefresh).join(''));
      for (let i = 0; i < 300; i++) answers.push(c.next());
    }
    probe.write(rawRequest('GET', '/healthz', host));
    expect((await probe.next()).status).to.equal(200);
    (await Promise.all(answers)).forEach((a, i) => expectAnsweredOrShed(a, 400, `pipelined ${i}`));
    for (const c of [...pipelines, probe]) c.close();
  });

  it('lets no slow body hold a place: expensive requests and probes are served while many bodies trickle', async () => {
    const body = JSON.stringify({ name: 'Slow', redirect_uris: ['http://localhost:8080/callback'] });
    const headers = { Authorization: `Bearer ${ADMIN_TOKEN}`, 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) };
    const slow = await Promise.all(Array.from({ length: 100 }, () => RawConnection.open(h.url)));
    // Headers and the first bytes only: each request has started and waits for its body.
    for (const c of slow) c.write(`${rawRequest('POST', '/admin/apps', host, headers)}${body.slice(0, 5)}`);
    const probe = await RawConnection.open(h.url);
    probe.write(rawRequest('GET', '/healthz', host));
    expect((await probe.next()).status).to.equal(200);
    const created = await h.admin('POST', '/admin/apps', { name: 'Not behind the slow ones', redirect_uris: ['http://localhost:8080/callback'] });
    expect(created.status).to.equal(201);
    const tokenRequests = await Promise.all(Array.from({ length: 50 }, () => RawConnection.open(h.url)));
    for (const c of tokenRequests) c.write(junkRefresh());
    (await Promise.all(tokenRequests.map((c) => c.next()))).forEach((a, i) => expectAnsweredOrShed(a, 400, `token ${i}`));
    // The slow bodies end: each request completes (or is refused) on its own.
    for (const c of slow) c.write(body.slice(5));
    (await Promise.all(slow.map((c) => c.next()))).forEach((a, i) => expectAnsweredOrShed(a, 201, `slow ${i}`));
    for (const c of [...slow, ...tokenRequests, probe]) c.close();
  });

  it('refuses every request waiting for its turn at shutdown, and serves /healthz', async () => {
    const burst = await Promise.all(Array.from({ length: BURST }, () => RawConnection.open(h.url)));
    const answers = burst.map((c) => (c.write(junkRefresh()), c.next()));
    // Once the burst has arrived, before the queue has drained: a turn or two after the arrivals.
    for (let turn = 0; turn < 10 && !h.server.loadShedding.waiting; turn++) await new Promise((resolve) => setImmediate(resolve));
    const waiting = h.server.loadShedding.waiting;
    expect(waiting, 'requests waiting for their turn').to.be.greaterThan(0);
    h.server.loadShedding.close();
    const all = await Promise.all(answers);
    all.forEach((a, i) => expectAnsweredOrShed(a, 400, `burst ${i}`));
    expect(all.filter((a) => a.status === 503).length, 'refused at close').to.be.at.least(waiting);
    const after = await RawConnection.open(h.url);
    after.write(junkRefresh());
    expectAnsweredOrShed(await after.next(), 503, 'after close');
    // A person is refused with a page in their language, each language its own.
    for (const language of ['de', 'fr', 'de', 'en']) {
      after.write(junkRefresh().replace('Accept: application/json', `Accept: text/html\r\nAccept-Language: ${language}`));
      const page = await after.next();
      expect(page.status, language).to.equal(503);
      expect(page.headers['retry-after'], language).to.match(/^[1-3]$/);
      expect(page.headers['content-type'], language).to.match(/^text\/html/);
      expect(page.body, language).to.include(`lang="${language}"`);
    }
    expect((await fetch(`${h.url}/healthz`)).status).to.equal(200);
    for (const c of [...burst, after]) c.close();
  });
});
