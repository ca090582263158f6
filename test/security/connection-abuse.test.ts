// Clients that abuse a connection rather than a route, against a real Postern process
// (src/main.ts sets up the HTTP server): pipelining thousands of requests without reading
// the answers, hanging up in the middle of a body, and stalling mid-headers.
import { expect } from 'chai';
import { connect, type Socket } from 'node:net';
import { ADMIN_TOKEN, Harness } from '../helpers/harness.ts';
import { Instance } from '../helpers/instance.ts';
import { freePort } from '../helpers/redis-server.ts';
import { MAX_UNANSWERED_PER_CONNECTION } from '../../src/http/connections.ts';

const STYLESHEET = 'GET /assets/postern.css HTTP/1.1\r\nHost: x\r\n\r\n';

/** A raw connection that sends `data` and keeps what comes back; `closed` resolves when the server ends it. */
function rawConnection(port: number, data: string, opts: { read?: boolean } = {}) {
  const socket: Socket = connect(port, '127.0.0.1', () => socket.write(data));
  let received = '';
  if (opts.read === false) socket.pause();
  else socket.setEncoding('utf8').on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => {
    const opened = Date.now();
    socket.once('close', () => resolve(Date.now() - opened));
  });
  return { socket, closed, received: () => received };
}

const jsonLines = (output: string) =>
  output
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return { unparsed: l };
      }
    });

describe('connections that abuse the server (a real process)', function () {
  this.timeout(60_000);
  let h: Harness;
  let instance: Instance;

  before(async () => {
    const port = await freePort();
    h = await new Harness().attach(`http://localhost:${port}`);
    instance = await new Instance(port, {
      NODE_ENV: 'test',
      PUBLIC_URL: `http://localhost:${port}`,
      SMTP_URL: h.smtp.url,
      ADMIN_TOKEN,
      COOKIE_SECRETS: 'connection-abuse-cookie-secret-0123456789abcdef',
      KEY_ENCRYPTION_KEY: 'b18e89658b7aeb4a0f5269fd7f9bb437b68f9629d27ca6f5abc08700c1b37241',
      LOG_LEVEL: 'info',
      LOG_FORMAT: 'json',
    }).start();
  });
  after(async () => {
    await instance?.kill('SIGTERM');
    await h?.stop();
  });

  it('a client that pipelines requests and reads the answers gets every one, in order', async () => {
    const conn = rawConnection(instance.port, STYLESHEET.repeat(MAX_UNANSWERED_PER_CONNECTION));
    for (let i = 0; i < 100 && (conn.received().match(/HTTP\/1\.1 200/g) ?? []).length < MAX_UNANSWERED_PER_CONNECTION; i++) await new Promise((r) => setTimeout(r, 50));
    expect(conn.received().match(/HTTP\/1\.1 200/g)).to.have.length(MAX_UNANSWERED_PER_CONNECTION);
    conn.socket.destroy();
  });

  it('a connection pipelining thousands of requests without reading is closed, answering at most the limit; the server stays up', async () => {
    const before = jsonLines(instance.output).filter((l) => l.msg === 'request' && l.path === '/assets/postern.css').length;
    const floods = Array.from({ length: 4 }, () => rawConnection(instance.port, STYLESHEET.repeat(5000), { read: false }));
    await instance.printed(/(too many requests not yet answered[\s\S]*){4}/);
    // A client that reads nothing notices no close: reading again, each finds its connection gone.
    for (const flood of floods) flood.socket.resume();
    await Promise.all(floods.map((f) => f.closed));
    const served = jsonLines(instance.output).filter((l) => l.msg === 'request' && l.path === '/assets/postern.css').length - before;
    expect(served, 'requests handled for the four connections').to.be.at.most(4 * MAX_UNANSWERED_PER_CONNECTION);
    expect((await fetch(`${instance.url}/healthz`)).status).to.equal(200);
  });

  it('a client that hangs up mid-body is a 499 in the log and metrics: no 500, no error line, nothing printed raw', async () => {
    const app = await h.createApp({ token_endpoint_auth_method: 'client_secret_basic' });
    const basic = Buffer.from(`${app.client_id}:${app.client_secret}`).toString('base64');
    const mark = instance.output.length;
    const issuerPath = new URL(app.issuer).pathname;
    for (const [path, auth] of [['/token', `Authorization: Basic ${basic}\r\n`], ['/auth', ''], ['/token/revoke_all', '']] as const) {
      const head = `POST ${issuerPath}${path} HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nclient_id=a&`;
      const conn = rawConnection(instance.port, head);
      await new Promise((r) => setTimeout(r, 150));
      conn.socket.destroy();
    }
    await instance.printed(/"status":499[\s\S]*"status":499[\s\S]*"status":499/);
    await new Promise((r) => setTimeout(r, 200));
    const lines = jsonLines(instance.output.slice(mark));
    expect(lines.filter((l) => 'unparsed' in l), 'lines that are not JSON (raw stack traces)').to.deep.equal([]);
    expect(lines.filter((l) => l.level === 'error' || l.level === 'warn')).to.deep.equal([]);
    const cutShort = lines.filter((l) => l.msg === 'request' && String(l.path).startsWith(issuerPath));
    expect(cutShort.map((l) => l.status)).to.deep.equal([499, 499, 499]);
    const metrics = await (await fetch(`${instance.url}/metrics`)).text();
    const closedRequests = [...metrics.matchAll(/^postern_http_request_duration_seconds_count\{[^}]*status="499"[^}]*\} (\d+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(closedRequests).to.equal(3);
    expect(metrics).not.to.match(/status="500"/);
  });

  it('a client that stalls in the middle of its headers is cut off at the headers timeout (20 s), not up to 30 s later', async function () {
    this.timeout(40_000);
    const conn = rawConnection(instance.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const ms = await conn.closed;
    expect(ms).to.be.within(19_000, 24_000);
  });
});
