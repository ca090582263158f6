// Sign-in mail goes through an outbox in the configured store and is never held up by one
// bad connection: a real SMTP server that stalls or turns connections away, real
// redis-servers shared by several queues, the queue's own shutdown, and real Postern
// processes killed (SIGKILL) or stopped (SIGTERM) with mail in the outbox.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { createLogger } from '../../src/log.ts';
import { RETRY_DELAYS_MS } from '../../src/mail/mail-queue.ts';
import { signInMail } from '../../src/mail/sign-in-mail.ts';
import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import { Browser } from '../helpers/browser.ts';
import { ADMIN_TOKEN, Harness, type AppJson } from '../helpers/harness.ts';
import { Instance } from '../helpers/instance.ts';
import { RedisServer, freePort } from '../helpers/redis-server.ts';
import { testMailQueue } from '../helpers/mail-queue.ts';
import { SmtpCapture, linkIn } from '../helpers/smtp-capture.ts';

/** Asks for a sign-in link the way a person does, and checks the answer; the mail is left to the queue. */
async function askForLink(h: Harness, app: AppJson, email: string): Promise<void> {
  const browser = new Browser();
  const login = await h.startLogin(app, browser);
  const page = await browser.submit(login.page, { email });
  expect(page.status, email).to.equal(200);
  expect(page.body).to.include('Check your email');
}

/** Log lines with this message, parsed. */
function logged(h: Harness | string[], msg: string): Record<string, unknown>[] {
  const lines = Array.isArray(h) ? h : h.logs;
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg);
}

function audited(h: Harness, type: string): Record<string, unknown>[] {
  return logged(h, 'audit')
    .map((l) => l.audit as Record<string, unknown>)
    .filter((a) => a.type === type);
}

function message(to: string) {
  return signInMail({ to, brand: { name: 'Queue Test' }, language: 'en', link: `https://id.example/link?code=${randomBytes(16).toString('hex')}`, shortCode: 'ABCD-EFGH', ttlSeconds: 900 });
}

describe('sign-in mail: a misbehaving SMTP server holds nothing up', function () {
  this.timeout(60_000);

  it('keeps sending while 4 connections sit on the end of DATA; the stuck mails go out on a retry', async () => {
    const h = await new Harness().start({}, { mail: { sendTimeoutMs: 6_000 } });
    try {
      const app = await h.createApp();
      h.smtp.stallAfterDataNext = 4;
      for (let i = 0; i < 4; i++) await askForLink(h, app, `stuck-${i}@example.com`);
      await h.smtp.until('4 connections stuck after DATA', () => h.smtp.stalled === 4);

      await Promise.all(Array.from({ length: 5 }, (_, i) => askForLink(h, app, `later-${i}@example.com`)));
      for (let i = 0; i < 5; i++) await h.smtp.next(`later-${i}@example.com`);
      expect(h.smtp.stalled, 'delivered while the four are still stuck').to.equal(4);

      await h.server.mailQueue.idle();
      for (let i = 0; i < 4; i++) expect(h.smtp.mails.filter((m) => m.to === `stuck-${i}@example.com`), `stuck-${i}`).to.have.length(1);
      expect(h.smtp.stalled, 'the stuck connections were dropped').to.equal(0);
      const retried = logged(h, 'sign-in mail not sent; will retry');
      expect(retried).to.have.length(4);
      for (const line of retried) expect(line.err).to.match(/TimeoutError/);
      const sent = audited(h, 'mail.sent');
      expect(sent.filter((a) => String(a.email).startsWith('stuck-')).map((a) => a.reason)).to.deep.equal(Array(4).fill('after 2 attempts'));
      expect(sent.filter((a) => String(a.email).startsWith('later-')).map((a) => a.reason)).to.deep.equal(Array(5).fill(undefined));
    } finally {
      await h.stop();
    }
  });

  it('drops a connection whose server never greets, and sends on the next attempt', async () => {
    // The first attempt waits out the whole greeting timeout; the retry's greeting must come
    // within it too, and the capture runs on this process's event loop: 2 s, not less, so that
    // a stall of this busy process does not fail the retry as well.
    const h = await new Harness().start({}, { smtpTimeouts: { connectMs: 10_000, greetingMs: 2_000, socketMs: 20_000 } });
    try {
      const app = await h.createApp();
      h.smtp.stallGreetingNext = 1;
      await askForLink(h, app, 'greeting@example.com');
      await h.smtp.next('greeting@example.com');
      await h.server.mailQueue.idle();
      expect(h.smtp.connections).to.equal(2);
      expect(h.smtp.stalled).to.equal(0);
      expect(logged(h, 'sign-in mail not sent; will retry').map((l) => l.err)).to.deep.equal(['Error: Greeting never received']);
      expect(audited(h, 'mail.sent').map((a) => a.reason)).to.deep.equal(['after 2 attempts']);
    } finally {
      await h.stop();
    }
  });

  it('retries a relay that turns connections away, logging each failure with the time of the next attempt', async () => {
    const h = await new Harness().start({}, { mail: { retryDelaysMs: [20, 50, 5_000] } });
    try {
      const app = await h.createApp();
      h.smtp.refuseNext = 2;
      await askForLink(h, app, 'refused@example.com');
      await h.smtp.next('refused@example.com');
      await h.server.mailQueue.idle();
      const retries = logged(h, 'sign-in mail not sent; will retry');
      expect(retries.map((l) => [l.app_id, l.attempt])).to.deep.equal([
        [app.app_id, 1],
        [app.app_id, 2],
      ]);
      for (const [i, line] of retries.entries()) {
        expect(line.err).to.match(/421/);
        const wait = Date.parse(String(line.next_attempt_at)) - Date.parse(String(line.time));
        expect(wait, `wait after attempt ${i + 1}`).to.be.within([20, 50][i]! - 5, [20, 50][i]! + 50);
      }
      expect(audited(h, 'mail.sent').map((a) => a.reason)).to.deep.equal(['after 3 attempts']);
    } finally {
      await h.stop();
    }
  });

  it('retries when nothing listens at the SMTP address, then gives the mail up: audited and logged as an error', async () => {
    const h = await new Harness().start({ SMTP_URL: `smtp://127.0.0.1:${await freePort()}` });
    try {
      const app = await h.createApp();
      await askForLink(h, app, 'nobody-home@example.com');
      await h.server.mailQueue.idle();
      await h.server.audit.flushed();
      const errors = logged(h, 'sign-in mail not sent; will retry').map((l) => l.err);
      expect(errors).to.have.length(2);
      for (const err of errors) expect(err).to.match(/ECONNREFUSED/);
      expect(audited(h, 'mail.failed').map((a) => a.reason)).to.deep.equal(['smtp error after 3 attempts']);
      expect(logged(h, 'sign-in mail given up').map((l) => l.level)).to.deep.equal(['error']);
    } finally {
      await h.stop();
    }
  });

  it('sends over implicit TLS (smtps) on its own connection', async () => {
    const tls = await new SmtpCapture({ secure: true }).start();
    const h = await new Harness().start({ SMTP_URL: tls.url });
    try {
      const app = await h.createApp();
      await askForLink(h, app, 'tls@example.com');
      expect(linkIn(await tls.next('tls@example.com'))).to.include('/link?code=');
    } finally {
      await h.stop();
      await tls.stop();
    }
  });

  it('retries quickly at first (within 5 s of the end of a 30 s outage, 10 s of a 90 s one), then backs off', () => {
    let at = 0;
    const attempts = [0, ...RETRY_DELAYS_MS.map((d) => (at += d))];
    for (let outageEnds = 1_000; outageEnds <= 90_000; outageEnds += 1_000) {
      const next = attempts.find((t) => t >= outageEnds)!;
      expect(next - outageEnds, `outage of ${outageEnds / 1000} s`).to.be.at.most(outageEnds <= 30_000 ? 5_000 : 10_000);
    }
    expect([...RETRY_DELAYS_MS].sort((x, y) => x - y)).to.deep.equal(RETRY_DELAYS_MS);
    // The last attempt is about a quarter of an hour after the first.
    expect(at).to.be.within(14 * 60_000, 16 * 60_000);
  });
});

describe('sign-in mail: the queue itself', function () {
  this.timeout(30_000);

  it('a throwing onSent callback neither fails nor repeats the delivery', async () => {
    const smtp = await new SmtpCapture().start();
    const logs: string[] = [];
    const queue = testMailQueue(openMemoryStores().outbox, smtp.url, {
      logger: createLogger('debug', (line) => void logs.push(line)),
      onSent: () => {
        throw new Error('audit exploded');
      },
      options: { retryDelaysMs: [20, 50] },
    });
    try {
      await queue.enqueue(message('once@example.com'), { appId: 'a' });
      await queue.idle();
      expect(smtp.mails.map((m) => m.to)).to.deep.equal(['once@example.com']);
      expect(logged(logs, 'mail outcome callback failed').map((l) => l.err)).to.deep.equal(['Error: audit exploded']);
    } finally {
      await queue.stop();
      await smtp.stop();
    }
  });

  it("drops a mail whose app is gone, retries one whose app's existence could not be read, and names the store when that never can be", async () => {
    const smtp = await new SmtpCapture().start();
    const logs: string[] = [];
    const failed: unknown[] = [];
    let storeDown = true;
    const queue = testMailQueue(openMemoryStores().outbox, smtp.url, {
      logger: createLogger('debug', (line) => void logs.push(line)),
      onFailed: (context, reason) => void failed.push({ ...context, reason }),
      appExists: async (appId) => {
        if (appId === 'flaky' && storeDown) {
          storeDown = false;
          throw new Error('store unavailable');
        }
        if (appId === 'unreadable') throw new Error('connection reset');
        return appId !== 'deleted';
      },
      options: { retryDelaysMs: [20, 50] },
    });
    try {
      await queue.enqueue(message('gone@example.com'), { appId: 'deleted' });
      await queue.enqueue(message('flaky@example.com'), { appId: 'flaky' });
      await queue.enqueue(message('system@example.com'));
      await queue.enqueue(message('unreadable@example.com'), { appId: 'unreadable' });
      await queue.idle();
      // The deleted app's mail never reaches the server; the other app's goes out on its retry.
      expect(smtp.mails.map((m) => m.to).sort()).to.deep.equal(['flaky@example.com', 'system@example.com']);
      // Given up after its retries, the unreadable app's mail blames the store, not SMTP.
      expect(failed).to.deep.equal([
        { appId: 'deleted', reason: 'the app was deleted' },
        { appId: 'unreadable', reason: 'store unavailable after 3 attempts' },
      ]);
      expect(logged(logs, 'sign-in mail given up').map((l) => [l.app_id, l.reason])).to.deep.equal([
        ['deleted', 'the app was deleted'],
        ['unreadable', 'store unavailable after 3 attempts'],
      ]);
      const retried = logged(logs, 'sign-in mail not sent; will retry').filter((l) => l.app_id === 'flaky');
      expect(retried.map((l) => l.err)).to.deep.equal(['AppUnknown: whether the app exists could not be read: Error: store unavailable']);
    } finally {
      await queue.stop();
      await smtp.stop();
    }
  });

  it('sends a mail with a slot free without claiming it (stored leased to the queue); a burst past the slots goes out once each', async () => {
    const smtp = await new SmtpCapture().start();
    const outbox = openMemoryStores().outbox;
    const calls: string[] = [];
    for (const method of ['add', 'claim', 'remove'] as const) {
      const original = outbox[method].bind(outbox) as (...args: unknown[]) => Promise<never>;
      (outbox as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        calls.push(method === 'add' ? (args[3] ? 'add leased' : 'add') : method);
        return original(...args);
      };
    }
    const queue = testMailQueue(outbox, smtp.url, { options: { retryDelaysMs: [20, 50], concurrency: 2 } });
    try {
      await queue.enqueue(message('alone@example.com'), { appId: 'a' });
      await smtp.until('the mail is sent', () => smtp.mails.length === 1);
      await smtp.until('it left the outbox', () => calls.includes('remove'));
      expect(calls).to.deep.equal(['add leased', 'remove']);
      // Two slots, ten mails at once: two leased at once, the rest claimed as slots free up.
      const burst = Array.from({ length: 10 }, (_, i) => `burst-${i}@example.com`);
      await Promise.all(burst.map((to) => queue.enqueue(message(to), { appId: 'a' })));
      await queue.idle();
      expect(smtp.mails.map((m) => m.to).slice(1).sort()).to.deep.equal([...burst].sort());
      expect(await outbox.size()).to.equal(0);
      expect(calls.filter((c) => c === 'add leased')).to.have.length(3);
    } finally {
      await queue.stop();
      await smtp.stop();
    }
  });

  it('stop() drops the attempt in flight and starts none after', async () => {
    const h = await new Harness().start();
    try {
      const app = await h.createApp();
      h.smtp.stallAfterDataNext = 1;
      await askForLink(h, app, 'stopped@example.com');
      await h.smtp.until('the attempt is stuck', () => h.smtp.stalled === 1);
      await h.server.mailQueue.stop();
      await h.smtp.until('the stuck connection is dropped', () => h.smtp.stalled === 0);
      // Far beyond the harness's retry delays (20 ms, 50 ms): no retry may come.
      await new Promise((r) => setTimeout(r, 300));
      expect(h.smtp.connections).to.equal(1);
      expect(h.smtp.mails).to.have.length(0);
    } finally {
      await h.stop();
    }
  });
});

describe('sign-in mail: shutdown with the memory store', function () {
  this.timeout(30_000);

  it('sends a retry that falls due while draining', async () => {
    const h = await new Harness().start({}, { mail: { retryDelaysMs: [300] } });
    try {
      const app = await h.createApp();
      h.smtp.rejectNext = 1;
      await askForLink(h, app, 'drained@example.com');
      await h.smtp.until('the first attempt failed', () => logged(h, 'sign-in mail not sent; will retry').length === 1);
      await h.server.mailQueue.drain(10_000);
      expect(h.smtp.mails.map((m) => m.to)).to.deep.equal(['drained@example.com']);
      await h.server.audit.flushed();
      expect(audited(h, 'mail.sent').map((a) => a.reason)).to.deep.equal(['after 2 attempts']);
    } finally {
      await h.stop();
    }
  });

  it('reports mail it could not send before stopping as failed (audit and error), never drops it silently', async () => {
    const h = await new Harness().start({}, { mail: { retryDelaysMs: [20, 60_000] } });
    try {
      const app = await h.createApp();
      h.smtp.rejectNext = 100;
      await askForLink(h, app, 'lost@example.com');
      await h.smtp.until('two attempts failed', () => logged(h, 'sign-in mail not sent; will retry').length === 2);
      await h.server.mailQueue.drain(500); // the next retry is a minute away
      await h.server.audit.flushed();
      const failed = audited(h, 'mail.failed');
      expect(failed.map((a) => [a.email, a.reason])).to.deep.equal([['lost@example.com', 'not sent before the process stopped (outbox in memory)']]);
      expect(logged(h, 'sign-in mail given up').map((l) => [l.app_id, l.reason])).to.deep.equal([[app.app_id, failed[0]!.reason]]);
      expect(await h.stores.outbox.nextDue()).to.equal(undefined);
    } finally {
      await h.stop();
    }
  });
});

describe('sign-in mail: instances sharing a Redis outbox', function () {
  this.timeout(60_000);
  const redis = new RedisServer();
  before(() => redis.start());
  after(() => redis.destroy());

  it('two instances sending from one outbox send each of 40 mails exactly once', async () => {
    const [a, b] = [new Harness(), new Harness()];
    // idle() sees another instance's sends only when it looks at the outbox: look often.
    await a.start({ REDIS_URL: redis.url }, { mail: { pollMs: 50 } });
    await b.start({ REDIS_URL: redis.url }, { mail: { pollMs: 50 } });
    try {
      const app = await a.createApp(); // mail is sent for apps that exist
      const to = Array.from({ length: 40 }, (_, i) => `shared-${i}@example.com`);
      await Promise.all(to.map((address, i) => (i % 2 ? a : b).server.mailQueue.enqueue(message(address), { appId: app.app_id })));
      await Promise.all([a.server.mailQueue.idle(), b.server.mailQueue.idle()]);
      const delivered = [...a.smtp.mails, ...b.smtp.mails].map((m) => m.to).sort();
      expect(delivered).to.deep.equal([...to].sort());
      // Both took part: each instance's capture received some of the other's mail.
      expect(a.smtp.mails.length, 'sent by a').to.be.above(0);
      expect(b.smtp.mails.length, 'sent by b').to.be.above(0);
    } finally {
      await a.stop();
      await b.stop();
    }
  });

  it('mail waiting for a retry when its instance stops is sent by another, once', async () => {
    const [a, b] = [new Harness(), new Harness()];
    // The retry is a minute away, so that it cannot fall due while `a` still runs, however
    // slowly the steps before its drain go on a busy machine.
    await a.start({ REDIS_URL: redis.url }, { mail: { retryDelaysMs: [60_000] } });
    try {
      const app = await a.createApp();
      a.smtp.rejectNext = 1;
      await askForLink(a, app, 'handed-over@example.com');
      await a.smtp.until('the first attempt failed', () => logged(a, 'sign-in mail not sent; will retry').length === 1);
      await a.server.mailQueue.drain(10_000); // nothing due now: returns at once, leaving the retry in the outbox
      expect(a.smtp.mails).to.have.length(0);
      await b.start({ REDIS_URL: redis.url });
      // `b` looks at the outbox once the retry is due: its clock a minute on, not a minute's wait.
      b.clock.travel(60);
      b.server.mailQueue.start();
      await b.smtp.next('handed-over@example.com');
      await b.server.mailQueue.idle();
      expect(b.smtp.mails.map((m) => m.to)).to.deep.equal(['handed-over@example.com']);
      expect(a.smtp.mails).to.have.length(0);
      expect(audited(b, 'mail.sent').map((e) => [e.email, e.reason])).to.deep.equal([['handed-over@example.com', 'after 2 attempts']]);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

describe('sign-in mail: real processes killed or stopped with mail in the outbox', function () {
  this.timeout(90_000);
  const redis = new RedisServer();
  const h = new Harness();
  let port: number;
  const running: Instance[] = [];

  /** A Postern process on `port` (each test restarts on the same one, so links and issuers stay valid). */
  async function instance(env: Record<string, string> = {}): Promise<Instance> {
    const started = new Instance(port, {
      NODE_ENV: 'test',
      PUBLIC_URL: `http://localhost:${port}`,
      REDIS_URL: redis.url,
      SMTP_URL: h.smtp.url,
      ADMIN_TOKEN,
      COOKIE_SECRETS: 'outbox-cookie-secret-0123456789abcdef0123456',
      KEY_ENCRYPTION_KEY: '53cf3100c18a19dacedc6ba6c07d71fa3a708a531698ce58ae1aa93fbc36678b',
      LOG_LEVEL: 'info',
      ...env,
    });
    running.push(started);
    return started.start();
  }

  before(async () => {
    await redis.start();
    port = await freePort();
    await h.attach(`http://localhost:${port}`);
  });
  afterEach(async () => {
    for (const started of running.splice(0)) await started.kill('SIGKILL');
    h.smtp.refuseNext = 0;
  });
  after(async () => {
    await h.stop();
    await redis.destroy();
  });

  it('SIGKILL while a mail waits for its retry: the next instance sends it, and the link signs the person in', async () => {
    const a = await instance();
    const app = await h.createApp();
    h.smtp.refuseNext = 1_000; // the relay is down
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    expect((await browser.submit(login.page, { email: 'killed@example.com' })).body).to.include('Check your email');
    await a.printed(/sign-in mail not sent; will retry/);
    await a.kill('SIGKILL');

    h.smtp.refuseNext = 0; // the relay is back
    const b = await instance();
    const mail = await h.smtp.next('killed@example.com', 0, 20_000);
    const callback = await browser.submit(await browser.navigate(linkIn(mail)), {}, '/link', login.redirectUri);
    expect(callback.url.startsWith(login.redirectUri), 'signed in').to.equal(true);
    expect(h.smtp.mails.filter((m) => m.to === 'killed@example.com')).to.have.length(1);
    await b.printed(/"type":"mail.sent"/);
    expect(b.logged('audit').map((l) => (l.audit as Record<string, unknown>).reason)).to.include('after 2 attempts');
  });

  it('SIGTERM while the relay sits on a mail: exits 0 at the timeout, the mail stays in the outbox and the next instance sends it', async () => {
    const a = await instance({ SHUTDOWN_TIMEOUT_SECONDS: '2' });
    const app = await h.createApp();
    h.smtp.stallAfterDataNext = 1;
    await askForLink(h, app, 'interrupted@example.com');
    await h.smtp.until('the relay sits on the mail', () => h.smtp.stalled === 1);
    expect(await a.kill('SIGTERM')).to.equal(0);
    await h.smtp.until('the connection was dropped', () => h.smtp.stalled === 0);
    expect(a.logged('sign-in mail interrupted by shutdown; left in the outbox')).to.have.length(1);
    expect(h.smtp.mails.some((m) => m.to === 'interrupted@example.com')).to.equal(false);

    await instance();
    await h.smtp.next('interrupted@example.com', 0, 20_000);
  });

  it('SIGTERM with the memory store and the relay down: exits 0 and reports the mail failed (audit and error), never silently', async () => {
    const a = await instance({ REDIS_URL: '' });
    const app = await h.createApp();
    h.smtp.refuseNext = 1_000;
    await askForLink(h, app, 'in-memory@example.com');
    await a.printed(/sign-in mail not sent; will retry/);
    expect(await a.kill('SIGTERM')).to.equal(0);
    const failed = a.logged('audit').map((l) => l.audit as Record<string, unknown>).filter((e) => e.type === 'mail.failed');
    expect(failed.map((e) => [e.email, e.reason])).to.deep.equal([['in-memory@example.com', 'not sent before the process stopped (outbox in memory)']]);
    expect(a.logged('sign-in mail given up').map((l) => l.level)).to.deep.equal(['error']);
  });
});
