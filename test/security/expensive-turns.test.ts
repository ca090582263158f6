// Expensive requests take turns (src/http/load-shedding.ts): at most `atOnce` are under
// way, the others wait in order of arrival before any of their work, and cheap routes
// (/healthz) never wait behind them. A request whose turn comes while the event loop lags
// beyond the limit is refused then; with shedding off it is served, later.
//
// The middleware runs here in a Koa app of its own over real HTTP, in front of a route
// that stays in flight until the test lets it finish, so "under way" is exact.
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { errorPage } from '../../interactions/views/pages.ts';
import { errorHandler } from '../../src/http/error-handler.ts';
import { shedLoad } from '../../src/http/load-shedding.ts';
import type { LagSource } from '../../src/http/event-loop-lag.ts';
import { exactRouter } from '../../src/http/request-path.ts';
import { createLogger } from '../../src/log.ts';

const AT_ONCE = 2;
const MAX_LAG_MS = 100;

class SetLag implements LagSource {
  ms = 0;
  lagMs() {
    return this.ms;
  }
}

/** A server whose POST /slow stays in flight until `release()`; it records what it started, in order. */
class Rig {
  readonly lag = new SetLag();
  /** The `n` of each POST /slow?n= whose handler started, in order. */
  readonly started: string[] = [];
  /** The `n` of each request as it reached the server, before any middleware. */
  readonly arrived: string[] = [];
  readonly #holds: (() => void)[] = [];
  #http: Server | undefined;
  url = '';

  async start(maxLagMs: number): Promise<this> {
    const login = exactRouter();
    login.post('/slow', async (ctx) => {
      this.started.push(String(ctx.query.n));
      await new Promise<void>((resolve) => this.#holds.push(resolve));
      if (ctx.query.fail) throw new Error('handler failed');
      ctx.body = 'done';
    });
    const root = exactRouter();
    root.get('/healthz', (ctx) => {
      ctx.body = 'ok';
    });
    const app = new Koa();
    app.use(async (ctx, next) => {
      if (ctx.query.n) this.arrived.push(String(ctx.query.n));
      await next();
    });
    // As in server.ts: Postern's answers for errors (the 503 of shedding, a fault's 500).
    app.use(errorHandler(createLogger('silent'), errorPage));
    app.use(shedLoad({ routers: { root, login }, maxLagMs, lag: this.lag, logger: createLogger('silent'), atOnce: AT_ONCE }));
    app.use(root.routes());
    app.use(login.routes());
    this.#http = createServer(app.callback());
    await new Promise<void>((resolve) => this.#http!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#http.address() as AddressInfo).port}`;
    return this;
  }

  post(n: number, query = ''): Promise<Response> {
    return fetch(`${this.url}/slow?n=${n}${query}`, { method: 'POST' });
  }

  /** Resolves once `count` handlers are held. */
  async held(count: number): Promise<void> {
    while (this.#holds.length < count) await new Promise((r) => setTimeout(r, 5));
  }

  /** Lets the longest-held request finish. */
  release(): void {
    this.#holds.shift()!();
  }

  async stop(): Promise<void> {
    this.#http?.closeAllConnections();
    await new Promise((resolve) => this.#http?.close(resolve));
  }
}

describe('expensive requests take turns', () => {
  it('runs at most atOnce at a time, the rest in order of arrival, and serves /healthz meanwhile', async () => {
    const rig = await new Rig().start(MAX_LAG_MS);
    try {
      const replies = Array.from({ length: 3 * AT_ONCE }, (_, i) => rig.post(i));
      await rig.held(AT_ONCE);
      await new Promise((r) => setTimeout(r, 50)); // every request has arrived and waits
      expect(rig.arrived).to.have.length(3 * AT_ONCE);
      expect(rig.started, 'only atOnce started').to.have.length(AT_ONCE);
      const health = await fetch(`${rig.url}/healthz`);
      expect(health.status, '/healthz does not wait for a turn').to.equal(200);
      for (let i = 0; i < 3 * AT_ONCE; i++) {
        await rig.held(Math.min(AT_ONCE, 3 * AT_ONCE - i));
        expect(rig.started.length, 'never more than atOnce under way').to.be.at.most(i + AT_ONCE);
        rig.release();
      }
      const statuses = await Promise.all(replies.map(async (r) => (await r).status));
      expect(statuses).to.deep.equal(Array(3 * AT_ONCE).fill(200));
      expect(rig.started, 'first come, first served').to.deep.equal(rig.arrived);
    } finally {
      await rig.stop();
    }
  });

  it('refuses a waiting request with 503 when its turn comes while the loop lags, before any of its work', async () => {
    const rig = await new Rig().start(MAX_LAG_MS);
    try {
      const first = Array.from({ length: AT_ONCE }, (_, i) => rig.post(i));
      await rig.held(AT_ONCE);
      const waiting = Array.from({ length: 3 }, (_, i) => rig.post(AT_ONCE + i));
      while (rig.arrived.length < AT_ONCE + 3) await new Promise((r) => setTimeout(r, 5));
      rig.lag.ms = MAX_LAG_MS + 1;
      for (let i = 0; i < AT_ONCE; i++) rig.release();
      const refused = await Promise.all(waiting);
      expect(refused.map((r) => r.status)).to.deep.equal([503, 503, 503]);
      expect(refused.every((r) => /^[1-9]\d*$/.test(r.headers.get('retry-after') ?? ''))).to.equal(true);
      expect(rig.started, 'no refused handler ran').to.have.length(AT_ONCE);
      expect((await Promise.all(first)).map((r) => r.status), 'those under way finish').to.deep.equal(Array(AT_ONCE).fill(200));
      // The refused gave their turns back: with the lag over, the next is served.
      rig.lag.ms = 0;
      const after = rig.post(99);
      await rig.held(1);
      rig.release();
      expect((await after).status).to.equal(200);
    } finally {
      await rig.stop();
    }
  });

  it('with shedding off (MAX_EVENT_LOOP_LAG_MS=0) waits and serves every request, however late', async () => {
    const rig = await new Rig().start(0);
    try {
      rig.lag.ms = 10_000;
      const replies = Array.from({ length: AT_ONCE + 2 }, (_, i) => rig.post(i));
      for (let i = 0; i < AT_ONCE + 2; i++) {
        await rig.held(1);
        rig.release();
      }
      expect((await Promise.all(replies)).map((r) => r.status)).to.deep.equal(Array(AT_ONCE + 2).fill(200));
    } finally {
      await rig.stop();
    }
  });

  it('a request that fails gives its turn back', async () => {
    const rig = await new Rig().start(MAX_LAG_MS);
    try {
      const failing = Array.from({ length: AT_ONCE }, (_, i) => rig.post(i, '&fail=1'));
      await rig.held(AT_ONCE);
      const next = rig.post(AT_ONCE);
      for (let i = 0; i < AT_ONCE; i++) rig.release();
      expect((await Promise.all(failing)).map((r) => r.status)).to.deep.equal(Array(AT_ONCE).fill(500));
      await rig.held(1);
      rig.release();
      expect((await next).status).to.equal(200);
    } finally {
      await rig.stop();
    }
  });
});
