// The link request must not tell whether an address has an account: same status, body,
// headers and cookies for a known and an unknown address, and no waiting on the mail
// server (mail goes out through a queue). Timing is measured by bench/enumeration-timing.ts.
import { expect } from 'chai';
import { createServer, type Server, type Socket } from 'node:net';
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

describe('no account enumeration through link requests', function () {
  this.timeout(60_000);

  it('answers a known and an unknown address identically', async () => {
    const h = await new Harness().start();
    try {
      const app = await h.createApp();
      await h.signIn(app, 'known1@example.com');
      expect(await h.stores.accounts.find(app.app_id, 'known1@example.com')).not.to.equal(undefined);
      const known = await request(h, app, 'known1@example.com');
      const unknown = await request(h, app, 'nobody@example.com');
      expect(known.page.status).to.equal(200);
      expect(shape(known, 'known1@example.com')).to.deep.equal(shape(unknown, 'nobody@example.com'));
    } finally {
      await h.stop();
    }
  });

  it('answers at once even when the mail server never responds', async () => {
    // A "mail server" that accepts connections and then says nothing: any request that
    // waited for it would hang far beyond this test's timeout.
    const sockets: Socket[] = [];
    const blackhole: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const port = (blackhole.address() as { port: number }).port;
    const h = await new Harness().start({ SMTP_URL: `smtp://127.0.0.1:${port}` });
    try {
      const app = await h.createApp();
      const result = await request(h, app, 'patient@example.com');
      expect(result.page.status).to.equal(200);
      expect(result.page.body).to.include('Check your email');
      expect(sockets.length, 'the queue did try to deliver').to.be.at.most(1);
    } finally {
      h.server.mailQueue.stop();
      for (const socket of sockets) socket.destroy();
      blackhole.close();
      await h.stop();
    }
  });
});
