// The link request must not tell whether an address has an account: same status, body,
// headers and cookies for a known and an unknown address, and no waiting on the mail
// server (mail goes out through a queue), while a mail really goes out for either address.
// Timing is measured by bench/link-request-timing.ts.
import { expect } from 'chai';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Browser, type Page } from '../helpers/browser.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';

async function request(h: Harness, app: AppJson, email: string): Promise<{ page: Page; cookies: string[] }> {
  const browser = new Browser();
  const { page } = await h.startLogin(app, browser);
  const form = /<form[^>]*action="([^"]*)"[\s\S]*?name="csrf" value="([^"]*)"/.exec(page.body)!;
  const url = new URL(form[1]!, page.url).href;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: browser.cookieHeader(url), accept: 'text/html' },
    body: new URLSearchParams({ csrf: form[2]!, email }),
    redirect: 'manual',
  });
  const answer = { status: res.status, url, headers: res.headers, body: await res.text() };
  return { page: answer, cookies: res.headers.getSetCookie() };
}

// Addresses compared are of equal length, so content-length must match too.
const VARYING = new Set(['date', 'x-request-id', 'set-cookie']);

function shape(result: { page: Page; cookies: string[] }, email: string) {
  const headers = [...result.page.headers.entries()].filter(([k]) => !VARYING.has(k)).sort();
  return {
    status: result.page.status,
    headers,
    body: result.page.body
      .replaceAll(email, 'EMAIL')
      .replace(/name="csrf" value="[^"]*"/g, 'csrf')
      .replace(/\/interaction\/[A-Za-z0-9_-]+/g, '/interaction/UID'),
    cookies: result.cookies.map((c) => c.replace(/=[^;]*/, '=VALUE')).sort(),
  };
}

/** A "mail server" that accepts connections and then says nothing, and counts them. */
class Blackhole {
  readonly sockets: Socket[] = [];
  readonly #server: Server;
  readonly #waiters: (() => void)[] = [];
  port = 0;

  constructor() {
    this.#server = createServer((socket) => {
      this.sockets.push(socket);
      this.#waiters.splice(0).forEach((wake) => wake());
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  /** Resolves once `n` connections have arrived. */
  async connections(n: number): Promise<void> {
    while (this.sockets.length < n) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Stops listening and hangs up: held sends fail, and retries are refused. */
  close(): void {
    this.#server.close();
    for (const socket of this.sockets) socket.destroy();
  }
}

describe('no account enumeration through link requests', function () {
  this.timeout(60_000);

  it('answers a known and an unknown address identically, and mails both', async () => {
    const h = await new Harness().start();
    try {
      const app = await h.createApp();
      await h.signIn(app, 'known1@example.com');
      expect(await h.stores.accounts.find(app.app_id, 'known1@example.com')).not.to.equal(undefined);
      const since = h.smtp.mails.length;
      const known = await request(h, app, 'known1@example.com');
      const unknown = await request(h, app, 'nobody@example.com');
      expect(known.page.status).to.equal(200);
      expect(shape(known, 'known1@example.com')).to.deep.equal(shape(unknown, 'nobody@example.com'));
      // Exactly one mail each, once the queue has nothing left to send or retry.
      await h.server.mailQueue.idle();
      expect(h.smtp.mails.slice(since).map((m) => m.to).sort()).to.deep.equal(['known1@example.com', 'nobody@example.com']);
    } finally {
      await h.stop();
    }
  });

  it('answers at once even when the mail server never responds, and still tries to deliver', async () => {
    // Any request that waited for this server would hang far beyond this test's timeout.
    const blackhole = await new Blackhole().start();
    const h = await new Harness().start({ SMTP_URL: `smtp://127.0.0.1:${blackhole.port}` });
    try {
      const app = await h.createApp();
      await h.stores.accounts.recordLogin(app.app_id, 'known2@example.com', Date.now());
      const known = await request(h, app, 'known2@example.com');
      const unknown = await request(h, app, 'absent@example.com');
      expect(known.page.status).to.equal(200);
      expect(known.page.body).to.include('Check your email');
      expect(shape(known, 'known2@example.com')).to.deep.equal(shape(unknown, 'absent@example.com'));

      // Both answers came back while the queue was still sending: a connection per mail
      // reaches the server that never answers, and is held there.
      await blackhole.connections(2);

      // Hung up on, each mail is retried (the harness retries twice) and then given up:
      // exactly one mail per address, three attempts each.
      blackhole.close();
      await h.server.mailQueue.idle();
      const failed = await h.stores.audit.query(app.app_id, { type: 'mail.failed', limit: 10 });
      expect(failed.map((e) => [e.email, e.reason]).sort()).to.deep.equal([
        ['absent@example.com', 'smtp error after 3 attempts'],
        ['known2@example.com', 'smtp error after 3 attempts'],
      ]);
      expect(await h.stores.audit.query(app.app_id, { type: 'mail.sent', limit: 10 })).to.deep.equal([]);
    } finally {
      blackhole.close();
      await h.stop();
    }
  });
});
