// SIGTERM behind keep-alive connections, against a real Postern process: no request a
// client had sent fails, readiness turns 503 at once, every answer from then on says
// `Connection: close`, idle connections are closed, and the process exits 0 as soon as
// it is idle rather than at its shutdown timeout.
import { expect } from 'chai';
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import { loadConfig, ConfigError } from '../../config/load.ts';
import { ADMIN_TOKEN, Harness } from '../helpers/harness.ts';
import { Instance } from '../helpers/instance.ts';
import { RedisServer, freePort } from '../helpers/redis-server.ts';

type Phase = 'before SIGTERM' | 'after SIGTERM' | 'after shutdown began';

interface Outcome {
  readonly phase: Phase;
  readonly status?: number | undefined;
  readonly connectionClose?: boolean;
  readonly reused?: boolean;
  readonly error?: string;
}

/** A request through `agent` (keep-alive), answered in full; a GET unless a form body is given. */
function fetchThrough(
  agent: Agent,
  port: number,
  path: string,
  form?: string,
): Promise<{ status: number | undefined; connectionClose: boolean; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const headers = form ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(form)) } : {};
    const req = request({ host: '127.0.0.1', port, path, agent, method: form ? 'POST' : 'GET', headers }, (res) => {
      res.resume();
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode, connectionClose: res.headers.connection === 'close', reused: req.reusedSocket }));
    });
    req.on('error', reject);
    req.end(form);
  });
}

/** A raw connection that has sent `head` of a request; `finish` sends the rest and reads the whole answer. */
function partialRequest(port: number, head: string): { socket: Socket; finish: (rest: string) => Promise<string>; answering: Promise<void> } {
  const socket = connect(port, '127.0.0.1');
  socket.write(head);
  let received = '';
  socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  const answering = new Promise<void>((resolve) => socket.once('data', () => resolve()));
  const ended = new Promise<string>((resolve, reject) => {
    socket.once('close', () => resolve(received));
    socket.once('error', reject);
  });
  return {
    socket,
    /** The server has begun to answer: it accepted this connection, and those opened before it. */
    answering,
    finish: (rest) => {
      socket.write(rest);
      return ended;
    },
  };
}

function statusAndHeaders(raw: string): { status: number; headers: Record<string, string> } {
  const [head = ''] = raw.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers };
}

/** The environment of a Postern process reached at `publicPort`, mailing to `smtpUrl`. */
function processEnv(publicPort: number, smtpUrl: string, more: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    PUBLIC_URL: `http://localhost:${publicPort}`,
    SMTP_URL: smtpUrl,
    ADMIN_TOKEN,
    COOKIE_SECRETS: 'shutdown-cookie-secret-0123456789abcdef01234567',
    KEY_ENCRYPTION_KEY: 'a08e89658b7aeb4a0f5269fd7f9bb437b68f9629d27ca6f5abc08700c1b37241',
    LOG_LEVEL: 'info',
    ...more,
  };
}

/**
 * A load balancer at its simplest: round robin over keep-alive connections. Like common
 * balancers (nginx's proxy_next_upstream, for one) it passes a request to the next
 * upstream when the connection was refused, or when a reused idle connection turned out
 * closed before any answer to a GET (closing an idle connection always races a request
 * being sent on it). Any other upstream failure is the client's 502.
 */
class RoundRobinProxy {
  readonly #upstreams: number[];
  readonly #agent = new Agent({ keepAlive: true });
  readonly #server: Server;
  #next = 0;
  port = 0;

  constructor(upstreams: number[]) {
    this.#upstreams = upstreams;
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => this.#forward(req, Buffer.concat(chunks), res, this.#next++, 0));
    });
  }

  #forward(req: IncomingMessage, body: Buffer, res: ServerResponse, first: number, attempt: number): void {
    const port = this.#upstreams[(first + attempt) % this.#upstreams.length]!;
    const { connection: _, ...headers } = req.headers;
    const upstream = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers, agent: this.#agent }, (answer) => {
      const { connection: __, ...back } = answer.headers;
      res.writeHead(answer.statusCode ?? 502, back);
      answer.pipe(res);
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      const retry = err.code === 'ECONNREFUSED' || (err.code === 'ECONNRESET' && upstream.reusedSocket && req.method === 'GET');
      if (retry && !res.headersSent && attempt < 3) this.#forward(req, body, res, first, attempt + 1);
      else if (!res.headersSent) res.writeHead(502).end(String(err));
      else res.destroy();
    });
    upstream.end(body);
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.#agent.destroy();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}

describe('graceful shutdown (SIGTERM) behind keep-alive connections', function () {
  this.timeout(90_000);

  it('fails no request sent before SIGTERM, turns /readyz 503, says Connection: close, closes idle connections, exits 0 once idle', async () => {
    const port = await freePort();
    const h = await new Harness().attach(`http://localhost:${port}`);
    // A timeout far beyond what the drain needs: exiting before it shows the process did not wait it out.
    const instance = new Instance(port, processEnv(port, h.smtp.url, { SHUTDOWN_TIMEOUT_SECONDS: '60' }));
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    try {
      await instance.start();
      const app = await h.createApp({ name: 'Keep-alive App' });
      const discovery = `/apps/${app.app_id}/.well-known/openid-configuration`;

      // Load: 8 clients on keep-alive connections, each asking again as soon as answered.
      let phase: Phase = 'before SIGTERM';
      const outcomes: Outcome[] = [];
      const clients = Array.from({ length: 8 }, async (_, i) => {
        for (;;) {
          const started = phase;
          try {
            outcomes.push({ phase: started, ...(await fetchThrough(agent, port, i % 2 ? discovery : '/healthz')) });
          } catch (err) {
            outcomes.push({ phase: started, error: String(err) });
            if (started !== 'before SIGTERM') return; // refused from now on: this client is done
          }
        }
      });
      while (outcomes.filter((o) => o.reused).length < 50) await new Promise((r) => setTimeout(r, 20));

      // Requests in progress at SIGTERM: a readiness check and an app creation whose body is half sent.
      const readiness = partialRequest(port, `GET /readyz HTTP/1.1\r\nHost: localhost:${port}\r\n`);
      const body = JSON.stringify({ name: 'Created While Draining', redirect_uris: ['http://localhost:8080/callback'] });
      const creation = partialRequest(
        port,
        `POST /admin/apps HTTP/1.1\r\nHost: localhost:${port}\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 10)}`,
      );
      // And a keep-alive connection that is idle: one answered request, nothing since.
      const idle = partialRequest(port, `GET /healthz HTTP/1.1\r\nHost: localhost:${port}\r\n\r\n`);
      // All three reach the server before the signal: it answered the last one opened, and
      // accepts connections in the order they came (then a moment for the others' bytes).
      await idle.answering;
      await new Promise((r) => setTimeout(r, 100));

      phase = 'after SIGTERM';
      const exited = instance.kill('SIGTERM');
      const signalled = performance.now();
      await instance.printed(/"msg":"shutting down"/);
      phase = 'after shutdown began';

      // The idle connection is closed while the process still serves the two requests in progress.
      const idleAnswer = await idle.finish('');
      expect(statusAndHeaders(idleAnswer).status).to.equal(200);

      const readyAnswer = await readiness.finish('\r\n');
      const ready = statusAndHeaders(readyAnswer);
      expect(ready.status, '/readyz while draining').to.equal(503);
      expect(ready.headers.connection).to.equal('close');
      // Says why: an operator reading it must not take a stopping process for one starting.
      expect(JSON.parse(readyAnswer.split('\r\n\r\n')[1]!)).to.deep.equal({ status: 'stopping' });

      const created = statusAndHeaders(await creation.finish(body.slice(10)));
      expect(created.status, 'the app creation in progress').to.equal(201);
      expect(created.headers.connection).to.equal('close');

      expect(await exited, 'exit code').to.equal(0);
      expect(performance.now() - signalled, 'exited once idle, not at the 60 s timeout').to.be.below(30_000);
      await Promise.all(clients);

      const before = outcomes.filter((o) => o.phase === 'before SIGTERM');
      expect(before.length).to.be.above(50);
      expect(before.filter((o) => o.status !== 200), 'requests sent before SIGTERM that failed').to.deep.equal([]);
      for (const o of outcomes.filter((o) => o.phase === 'after shutdown began' && o.status !== undefined)) {
        expect(o.connectionClose, 'an answer after shutdown began').to.equal(true);
      }
      expect(instance.logged('stopped')).to.have.length(1);
    } finally {
      agent.destroy();
      await instance.kill('SIGKILL');
      await h.stop();
    }
  });

  it('a client that never finishes its request holds the process no longer than SHUTDOWN_TIMEOUT_SECONDS, and the cut is logged', async () => {
    const port = await freePort();
    const h = await new Harness().attach(`http://localhost:${port}`);
    const instance = new Instance(port, processEnv(port, h.smtp.url, { SHUTDOWN_TIMEOUT_SECONDS: '1' }));
    try {
      await instance.start();
      // Headers sent, body promised and never sent: a slow (or hostile) client.
      const stuck = partialRequest(port, `POST /admin/apps HTTP/1.1\r\nHost: localhost:${port}\r\nAuthorization: Bearer ${ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);
      // Reached the server: a connection opened after it is answered (then a moment for its bytes).
      const later = partialRequest(port, `GET /healthz HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`);
      await later.answering;
      await new Promise((r) => setTimeout(r, 100));
      expect(await instance.kill('SIGTERM')).to.equal(0);
      expect(instance.logged('requests still running at the shutdown timeout were cut').map((l) => l.requests)).to.deep.equal([1]);
      stuck.socket.destroy();
    } finally {
      await instance.kill('SIGKILL');
      await h.stop();
    }
  });

  it('a rolling restart of 2 instances behind a keep-alive round-robin proxy fails no request, POSTs included', async () => {
    const redis = await new RedisServer().start();
    const ports = [await freePort(), await freePort()];
    const proxy = await new RoundRobinProxy(ports).start();
    const h = await new Harness().attach(`http://localhost:${proxy.port}`);
    const env = processEnv(proxy.port, h.smtp.url, { REDIS_URL: redis.url, LOG_LEVEL: 'warn' });
    let instances = ports.map((port) => new Instance(port, env));
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    let done = false;
    try {
      await Promise.all(instances.map((i) => i.start()));
      const app = await h.createApp({ name: 'Rolling App' });
      // Discovery and JWKS (GET), and token requests (POST, never retried by the proxy): each
      // answered by Postern itself, 200 or, for the made-up refresh token, 400 invalid_grant.
      const token = `grant_type=refresh_token&refresh_token=made-up&client_id=${app.client_id}`;
      const requests = [
        { path: `/apps/${app.app_id}/.well-known/openid-configuration`, expected: 200 },
        { path: `/apps/${app.app_id}/jwks`, expected: 200 },
        { path: `/apps/${app.app_id}/token`, form: token, expected: 400 },
      ];
      const outcomes: { path: string; status?: number | undefined; expected: number; error?: string }[] = [];
      const clients = Array.from({ length: 9 }, async (_, i) => {
        const { path, form, expected } = requests[i % requests.length]!;
        while (!done) {
          const outcome = await fetchThrough(agent, proxy.port, path, form).catch((err: unknown) => ({ status: undefined, error: String(err) }));
          outcomes.push({ path, expected, ...outcome });
        }
      });
      for (const [n, port] of ports.entries()) {
        expect(await instances[n]!.kill('SIGTERM'), `exit code of instance ${n + 1}`).to.equal(0);
        instances = instances.with(n, new Instance(port, env));
        await instances[n]!.start();
        const served = outcomes.length;
        while (outcomes.length < served + 100) await new Promise((r) => setTimeout(r, 20));
      }
      done = true;
      await Promise.all(clients);
      expect(outcomes.length).to.be.above(200);
      expect(outcomes.filter((o) => o.status !== o.expected), 'failed requests').to.deep.equal([]);
    } finally {
      done = true;
      agent.destroy();
      await Promise.all(instances.map((i) => i.kill('SIGKILL')));
      await proxy.stop();
      await h.stop();
      await redis.destroy();
    }
  });

  it('reads SHUTDOWN_TIMEOUT_SECONDS: 10 s by default, whole seconds from 1 to 600', () => {
    expect(loadConfig({}).shutdownTimeoutSeconds).to.equal(10);
    expect(loadConfig({ SHUTDOWN_TIMEOUT_SECONDS: '25' }).shutdownTimeoutSeconds).to.equal(25);
    for (const raw of ['0', '601', '2.5', 'soon', '-1', '1e2']) {
      let problems: readonly string[] = [];
      try {
        loadConfig({ SHUTDOWN_TIMEOUT_SECONDS: raw });
      } catch (err) {
        problems = (err as ConfigError).problems;
      }
      expect(problems.join('\n'), raw).to.include('SHUTDOWN_TIMEOUT_SECONDS');
    }
  });
});
