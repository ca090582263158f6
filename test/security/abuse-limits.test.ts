// Abuse limits, checked before any mail is sent: per mailbox (in the app and across apps),
// per client IP (IPv4 address, IPv6 /64), per client network (IPv4 /24, IPv6 /48) and per
// app for link requests; per login attempt and per IP for short codes; per IP for failed
// admin authentication. A limited link request looks exactly like any other. Client
// addresses come from a forged X-Forwarded-For under TRUST_PROXY=true.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { Browser, formOn, type Page } from '../helpers/browser.ts';
import { ADMIN_TOKEN, Harness, type AppJson } from '../helpers/harness.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { harnessOn } from '../helpers/storage-harness.ts';
import { shortCodeIn } from '../helpers/smtp-capture.ts';
import { audits, logLines, serverErrors, uidOf } from './support.ts';

/** Submits the email form of a fresh login attempt, optionally from a given client IP. */
async function ask(h: Harness, app: AppJson, email: string, ip?: string): Promise<Page> {
  const browser = new Browser();
  const { page } = await h.startLogin(app, browser);
  const form = /<form[^>]*action="([^"]*)"[\s\S]*?name="csrf" value="([^"]*)"/.exec(page.body)!;
  return browser.request(new URL(form[1]!, page.url).href, {
    form: { csrf: form[2]!, email },
    ...(ip ? { headers: { 'x-forwarded-for': ip } } : {}),
  });
}

/** Addresses mail went to, among those starting with `prefix`, once the queue is idle. */
async function sentTo(h: Harness, prefix: string): Promise<string[]> {
  await h.server.mailQueue.idle();
  return h.smtp.mails.map((m) => m.to).filter((to) => to.startsWith(prefix));
}

/** The page with what differs per request anyway (CSRF tokens, the attempt id) blanked. */
const normalize = (body: string) =>
  body.replace(/name="csrf" value="[^"]*"/g, 'name="csrf" value=""').replace(/\/interaction\/[A-Za-z0-9_-]+/g, '/interaction/UID');

/**
 * 31 people behind one address each type their own right short code (an office behind a
 * NAT): one more than the wrong codes a network may type in 15 minutes. Then that
 * network's wrong codes are still limited.
 */
async function rightCodesDoNotCount(h: Harness, app: AppJson, tag: string) {
  for (let person = 0; person < 31; person++) {
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    const { page, mail } = await h.requestLink(browser, login.page, `${tag}-${person}@example.com`);
    const done = await browser.submit(page, { code: shortCodeIn(mail) }, '/code', login.redirectUri);
    expect(done.url.startsWith(login.redirectUri), `person ${person}: ${done.status}`).to.equal(true);
  }
  let wrong = 0;
  for (let attempt = 0; attempt < 8; attempt++) {
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    let page = (await h.requestLink(browser, login.page, `${tag}-guess-${attempt}@example.com`)).page;
    for (let i = 0; i < 4; i++) {
      page = await browser.submit(page, { code: 'BBBB-BBBB' }, '/code');
      if (page.status === 429) return expect(wrong, 'wrong codes before the 429').to.equal(30);
      wrong += 1;
    }
  }
  expect.fail('no 429 after 32 wrong codes from one IP');
}

describe('abuse limits', function () {
  this.timeout(60_000);

  describe('link requests', () => {
    const h = new Harness();
    before(() => h.start({ TRUST_PROXY: 'true' }));
    after(() => h.stop());

    it('sends at most 5 links per address per 15 minutes by default, and the 6th looks the same', async () => {
      const app = await h.createApp();
      const pages: Page[] = [];
      for (let i = 0; i < 6; i++) pages.push(await ask(h, app, 'bombed@example.com', `10.0.0.${i + 1}`));
      await h.server.mailQueue.idle();
      expect(h.smtp.mails.filter((m) => m.to === 'bombed@example.com')).to.have.length(5);
      const [first, last] = [pages[0]!, pages[5]!];
      expect(last.status).to.equal(first.status);
      expect(normalize(last.body)).to.equal(normalize(first.body));
      const limited = audits(h).filter((e) => e.type === 'link.rate_limited');
      expect(limited).to.have.length(1);
      expect(limited[0]).to.include({ app_id: app.app_id, email: 'bombed@example.com', reason: 'limit per address' });
    });

    it('limits links per client IP, across addresses, with the per-app setting', async () => {
      const app = await h.createApp({ max_links_per_ip: 3 });
      for (let i = 0; i < 4; i++) await ask(h, app, `ip-${i}@example.com`, '192.0.2.7');
      await ask(h, app, 'other-ip@example.com', '192.0.2.8');
      await h.server.mailQueue.idle();
      const to = h.smtp.mails.map((m) => m.to);
      expect(to).to.include.members(['ip-0@example.com', 'ip-1@example.com', 'ip-2@example.com', 'other-ip@example.com']);
      expect(to).not.to.include('ip-3@example.com');
    });

    it('caps the links of a whole app, and a PATCH changes the cap at once', async () => {
      const app = await h.createApp({ max_links_per_app: 2 });
      for (let i = 0; i < 3; i++) await ask(h, app, `app-cap-${i}@example.com`, `198.51.100.${i + 1}`);
      await h.server.mailQueue.idle();
      expect(h.smtp.mails.filter((m) => m.to.startsWith('app-cap-'))).to.have.length(2);
      expect((await h.admin('PATCH', `/admin/apps/${app.app_id}`, { max_links_per_app: 10 })).status).to.equal(200);
      await ask(h, app, 'app-cap-late@example.com', '198.51.100.9');
      await h.server.mailQueue.idle();
      expect(h.smtp.mails.map((m) => m.to)).to.include('app-cap-late@example.com');
    });

    it('rejects limits out of range', async () => {
      const res = await h.admin('POST', '/admin/apps', { name: 'x', redirect_uris: ['https://a.example/cb'], max_links_per_address: 0 });
      expect(res.status).to.equal(400);
      expect(res.body.error_description).to.include('max_links_per_address');
    });

    it('counts the client IP only from X-Forwarded-For when TRUST_PROXY is on', async () => {
      const untrusted = await new Harness().start();
      try {
        const app = await untrusted.createApp({ max_links_per_ip: 2 });
        // Spoofed X-Forwarded-For values do not create fresh budgets without TRUST_PROXY.
        const spoofed = ['203.0.113.1', '2001:db8:99::1', 'garbage', '203.0.113.2'];
        for (const [i, ip] of spoofed.entries()) await ask(untrusted, app, `spoof-${i}@example.com`, ip);
        await untrusted.server.mailQueue.idle();
        expect(untrusted.smtp.mails).to.have.length(2);
        const ips = audits(untrusted).filter((e) => e.type === 'link.rate_limited').map((e) => e.ip);
        expect(ips).to.deep.equal(['127.0.0.1', '127.0.0.1']); // the socket's address, not the header's
      } finally {
        await untrusted.stop();
      }
    });
    it('counts a whole IPv6 /64 as one client IP, however each address is spelled', async () => {
      const app = await h.createApp({ max_links_per_ip: 3 });
      const spellings = ['2001:db8:5:6::1', '2001:DB8:5:6::2', '2001:0db8:0005:0006:0000:0000:0000:0003', '[2001:db8:5:6::4]:443', '2001:db8:5:6:ffff::5%eth0'];
      for (const [i, ip] of spellings.entries()) expect((await ask(h, app, `v6-${i}@example.com`, ip)).status).to.equal(200);
      await ask(h, app, 'v6-next@example.com', '2001:db8:5:7::1'); // the next /64 is another client
      expect(await sentTo(h, 'v6-')).to.have.members(['v6-0@example.com', 'v6-1@example.com', 'v6-2@example.com', 'v6-next@example.com']);
    });

    it('counts an IPv4 client alike in its IPv4-mapped spellings', async () => {
      const app = await h.createApp({ max_links_per_ip: 2 });
      for (const [i, ip] of ['192.0.2.60', '::ffff:192.0.2.60', '::FFFF:c000:23c', '192.0.2.60:5555'].entries()) {
        await ask(h, app, `mapped-${i}@example.com`, ip);
      }
      expect(await sentTo(h, 'mapped-')).to.have.members(['mapped-0@example.com', 'mapped-1@example.com']);
    });

    it('limits links per client network (IPv6 /48, IPv4 /24) with max_links_per_network', async () => {
      const app = await h.createApp({ max_links_per_network: 3 });
      for (let i = 1; i <= 4; i++) await ask(h, app, `net6-${i}@example.com`, `2001:db8:77:${i}::1`);
      await ask(h, app, 'net6-next@example.com', '2001:db8:78::1');
      for (let i = 1; i <= 4; i++) await ask(h, app, `net4-${i}@example.com`, `203.0.113.${i}`);
      await ask(h, app, 'net4-next@example.com', '203.0.114.1');
      expect(await sentTo(h, 'net6-')).to.have.members(['net6-1@example.com', 'net6-2@example.com', 'net6-3@example.com', 'net6-next@example.com']);
      expect(await sentTo(h, 'net4-')).to.have.members(['net4-1@example.com', 'net4-2@example.com', 'net4-3@example.com', 'net4-next@example.com']);
      const limited = audits(h).filter((e) => e.type === 'link.rate_limited' && e.app_id === app.app_id);
      expect(limited.map((e) => [e.email, e.reason])).to.deep.equal([
        ['net6-4@example.com', 'limit per network'],
        ['net4-4@example.com', 'limit per network'],
      ]);
    });

    it('keeps the app-wide budget for other networks while one floods, and reports spending it once', async () => {
      const app = await h.createApp({ max_links_per_network: 2, max_links_per_app: 5 });
      for (let i = 1; i <= 8; i++) await ask(h, app, `flood-${i}@example.com`, `2001:db8:bad:${i}::1`);
      for (const [i, ip] of ['198.51.100.10', '192.0.2.10', '2001:db8:600d::1'].entries()) await ask(h, app, `netuser-${i}@example.com`, ip);
      expect(await sentTo(h, 'flood-')).to.have.length(2);
      expect(await sentTo(h, 'netuser-')).to.have.length(3);
      // 2 + 3 = 5: the budget is spent. More networks are refused; the operator hears of it once.
      for (let i = 1; i <= 3; i++) await ask(h, app, `spent-${i}@example.com`, `192.0.${100 + i}.1`);
      expect(await sentTo(h, 'spent-')).to.deep.equal([]);
      const mine = audits(h).filter((e) => e.app_id === app.app_id);
      expect(mine.filter((e) => e.type === 'link.rate_limited' && e.reason === 'limit per app').map((e) => e.email)).to.deep.equal([
        'spent-1@example.com',
        'spent-2@example.com',
        'spent-3@example.com',
      ]);
      const reached = mine.filter((e) => e.type === 'link.app_limit_reached');
      expect(reached).to.have.length(1);
      expect(reached[0]).to.include({ outcome: 'failure', reason: 'app-wide limit of 5 links per hour reached' });
      const warnings = logLines(h).filter((l) => l.level === 'warn' && l.app_id === app.app_id);
      expect(warnings).to.have.length(1);
      expect(warnings[0]).to.include({ max_links_per_app: 5 });
      await h.server.audit.flushed();
      const kept = await h.admin('GET', `/admin/apps/${app.app_id}/audit?type=link.app_limit_reached`);
      expect(kept.body.events).to.have.length(1);
    });

    it('shows max_links_per_network with its default, and takes changes within its range', async () => {
      const app = await h.createApp();
      expect(app.max_links_per_network).to.equal(500);
      expect(app.max_links_per_network).to.be.below(app.max_links_per_app as number);
      const zero = await h.admin('POST', '/admin/apps', { name: 'x', redirect_uris: ['https://a.example/cb'], max_links_per_network: 0 });
      expect(zero.status).to.equal(400);
      expect(zero.body.error_description).to.include('max_links_per_network');
      const patched = await h.admin('PATCH', `/admin/apps/${app.app_id}`, { max_links_per_network: 50 });
      expect(patched.status).to.equal(200);
      expect(patched.body.max_links_per_network).to.equal(50);
    });

    it('never fails and never opens a fresh budget, whatever X-Forwarded-For says', async () => {
      const app = await h.createApp({ max_links_per_ip: 2 });
      const junk = [
        'garbage',
        'unknown',
        'x'.repeat(6000),
        `${'203.0.113.9, '.repeat(400)}not-an-ip`,
        '1.2.3.4.5',
        '::ffff:999.1.1.1',
        '2001:db8::1::2',
        '<script>alert(1)</script>',
        '01.02.03.04',
        '%00',
      ];
      for (const [i, ip] of junk.entries()) expect((await ask(h, app, `junk-${i}@example.com`, ip)).status, ip.slice(0, 40)).to.equal(200);
      expect(await sentTo(h, 'junk-')).to.have.length(2);
      // Only the last entry counts (the one the proxy adds): varying the others gains nothing.
      for (let i = 0; i < 4; i++) await ask(h, app, `left-${i}@example.com`, `10.${i}.0.1, 2001:db8:${i}::1, 192.0.2.99`);
      expect(await sentTo(h, 'left-')).to.have.length(2);
      const ips = audits(h).filter((e) => e.app_id === app.app_id).map((e) => String(e.ip));
      for (const ip of ips) expect(ip.length).to.be.at.most(100);
      expect(serverErrors(h)).to.deep.equal([]);
    });

    it('counts +tags, case, Gmail dots and googlemail.com as one mailbox, and a refused request looks the same', async () => {
      const app = await h.createApp();
      const variants = [
        'mbx.victim@gmail.com',
        'mbxvictim@gmail.com',
        'MbxVictim+1@gmail.com',
        'mbx.vic.tim@googlemail.com',
        'mbxvictim+x@GoogleMail.com',
        'm.b.x.victim@gmail.com',
        'mbxvictim+2@gmail.com',
      ];
      const pages: Page[] = [];
      for (const [i, email] of variants.entries()) pages.push(await ask(h, app, email, `10.1.${i}.1`));
      const typed = variants.map((v) => v.toLowerCase());
      await h.server.mailQueue.idle();
      expect(h.smtp.mails.filter((m) => typed.includes(m.to))).to.have.length(5);
      const shown = (i: number) => normalize(pages[i]!.body).replaceAll(typed[i]!, 'EMAIL');
      expect(pages[6]!.status).to.equal(pages[0]!.status);
      expect(shown(6)).to.equal(shown(0));
      const limited = audits(h).filter((e) => e.type === 'link.rate_limited' && e.app_id === app.app_id);
      // The audit trail keeps each address as typed; only the limit folds them.
      expect(limited.map((e) => [e.email, e.reason])).to.deep.equal([
        [typed[5], 'limit per address'],
        [typed[6], 'limit per address'],
      ]);
    });

    it('sends one mailbox at most 10 links an hour across all apps by default', async () => {
      const apps = [await h.createApp(), await h.createApp(), await h.createApp()];
      let n = 0;
      for (const app of apps) for (let i = 0; i < 5; i++, n++) await ask(h, app, `multi.app+${n}@example.com`, `10.2.${n}.1`);
      expect(await sentTo(h, 'multi.app+')).to.have.length(10);
      const limited = audits(h).filter((e) => e.type === 'link.rate_limited' && String(e.email).startsWith('multi.app+'));
      expect(limited).to.have.length(5);
      for (const event of limited) expect(event).to.include({ app_id: apps[2]!.app_id, reason: 'limit per mailbox' });
    });

    it('takes the cross-app limit per mailbox from MAX_LINKS_PER_MAILBOX', async () => {
      const other = await new Harness().start({ MAX_LINKS_PER_MAILBOX: '2' });
      try {
        const [a, b] = [await other.createApp(), await other.createApp()];
        await ask(other, a, 'operator@example.com');
        await ask(other, b, 'Operator+b@example.com');
        await ask(other, b, 'operator+c@example.com');
        await other.server.mailQueue.idle();
        // The queue sends the two at once: their order of arrival is not the order asked.
        expect(other.smtp.mails.map((m) => m.to).sort()).to.deep.equal(['operator+b@example.com', 'operator@example.com']);
      } finally {
        await other.stop();
      }
    });

    it('keeps the account as the address was typed: only limits fold mailboxes', async () => {
      const app = await h.createApp();
      const { tokens } = await h.signIn(app, 'Ada.L+Work@GoogleMail.com');
      expect(tokens.claims()).to.include({ sub: 'ada.l+work@googlemail.com', email: 'ada.l+work@googlemail.com' });
    });

    it('limits short codes per IPv6 /64 across login attempts', async () => {
      const app = await h.createApp({ max_links_per_ip: 1000 });
      let refused: Page | undefined;
      let sent = 0;
      for (let attempt = 0; attempt < 8 && !refused; attempt++) {
        const browser = new Browser();
        const login = await h.startLogin(app, browser);
        const page = (await h.requestLink(browser, login.page, `v6code-${attempt}@example.com`)).page;
        const form = formOn(page, '/code');
        // Four wrong codes per link (the fifth would lock it), each from another address of one /64.
        for (let i = 0; i < 4 && !refused; i++) {
          const reply = await browser.request(new URL(form.action, page.url).href, {
            form: { ...form.fields, code: 'BBBB-BBBB' },
            headers: { 'x-forwarded-for': `2001:db8:c0de:1:${++sent}::1` },
          });
          if (reply.status === 429) refused = reply;
        }
      }
      expect(refused, 'a 429 once the /64 typed 30 codes').not.to.equal(undefined);
      expect(sent).to.equal(31);
    });
  });

  describe('wrong codes', () => {
    const h = new Harness();
    before(() => h.start());
    after(() => h.stop());

    it('locks a link after 5 wrong short codes; even the right code then fails', async () => {
      const app = await h.createApp();
      const browser = new Browser();
      const login = await h.startLogin(app, browser);
      const { page, mail } = await h.requestLink(browser, login.page, 'guess@example.com');
      const right = shortCodeIn(mail);
      let current = page;
      for (let i = 0; i < 4; i++) {
        current = await browser.submit(current, { code: 'AAAA-AAAA' }, '/code');
        expect(current.status).to.equal(400);
        expect(current.body).to.include(`${4 - i} attempt`);
      }
      const locked = await browser.submit(current, { code: 'AAAA-AAAA' }, '/code');
      expect(locked.status).to.equal(410);
      expect(locked.body).to.include('Too many wrong codes');
      const after = await browser.submit(locked, {}, '/resend'); // one click: a new link
      expect(after.body).to.include('Check your email');
      const stale = await browser.submit(after, { code: right }, '/code');
      expect(stale.status).to.equal(400); // the old code belongs to the superseded link
    });

    it('limits wrong codes per IP across login attempts', async () => {
      const app = await h.createApp({ max_links_per_ip: 1000 });
      let refused: Page | undefined;
      for (let attempt = 0; attempt < 8 && !refused; attempt++) {
        const browser = new Browser();
        const login = await h.startLogin(app, browser);
        let page = (await h.requestLink(browser, login.page, `wrong-${attempt}@example.com`)).page;
        for (let i = 0; i < 4; i++) {
          page = await browser.submit(page, { code: 'BBBB-BBBB' }, '/code');
          if (page.status === 429) {
            refused = page;
            break;
          }
        }
      }
      expect(refused, 'a 429 after 30 wrong codes from one IP').not.to.equal(undefined);
      expect(refused!.body).to.include('Too many attempts');
    });
  });

  for (const storage of ['memory', 'redis'] as const) {
    describe(`right short codes (${storage})`, () => {
      // A server of its own: other suites' wrong codes count against this same IP.
      const { h } = harnessOn(storage);
      it('counts only wrong codes against the IP: right ones from a busy network never lock it out', async () => {
        await rightCodesDoNotCount(h, await h.createApp({ max_links_per_ip: 1000 }), `office-${storage}`);
      });
    });
  }

  describe('admin authentication', () => {
    it('locks a whole IPv6 /64 out after failed admin authentications from any of its addresses', async () => {
      const h = await new Harness().start({ TRUST_PROXY: 'true' }, { adminAuthFailuresPerIp: 3 });
      const admin = async (ip: string, token: string) =>
        (await fetch(`${h.url}/admin/apps`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': ip } })).status;
      try {
        for (let i = 1; i <= 3; i++) expect(await admin(`2001:db8:ad:1::${i}`, 'wrong-token')).to.equal(401);
        expect(await admin('2001:db8:ad:1:ffff::9', ADMIN_TOKEN)).to.equal(429);
        expect(await admin('2001:DB8:AD:1::1%eth0', ADMIN_TOKEN)).to.equal(429);
        expect(await admin('2001:db8:ad:2::1', ADMIN_TOKEN)).to.equal(200); // the next /64 is another client
      } finally {
        await h.stop();
      }
    });

    it('locks an IP out after 20 failed admin authentications, even with the right token', async () => {
      const h = await new Harness().start();
      try {
        for (let i = 0; i < 20; i++) expect((await h.admin('GET', '/admin/apps', undefined, `wrong-token-${i}`)).status).to.equal(401);
        const locked = await h.admin('GET', '/admin/apps', undefined, 'wrong-token-x');
        expect(locked.status).to.equal(429);
        expect(locked.body.error).to.equal('too_many_requests');
        expect(locked.headers.get('retry-after')).to.equal('900');
        expect((await h.admin('GET', '/admin/apps', undefined, ADMIN_TOKEN)).status).to.equal(429);
      } finally {
        await h.stop();
      }
    });
  });

  describe('on Redis', () => {
    const redis = new RedisServer();
    const h = new Harness();
    let app: AppJson;
    before(async () => {
      await redis.start();
      await h.start({ REDIS_URL: redis.url });
      app = await h.createApp();
    });
    after(async () => {
      await h.stop();
      await redis.destroy();
    });

    /** A login attempt with its link sent: `send` types a code on the check-email page. */
    async function attemptWithLink(email: string) {
      const browser = new Browser();
      const login = await h.startLogin(app, browser);
      const { page, mail } = await h.requestLink(browser, login.page, email);
      const form = formOn(page, '/code');
      const url = new URL(form.action, page.url).href;
      const right = shortCodeIn(mail);
      return {
        right,
        wrong: right === 'AAAA-AAAA' ? 'BBBB-BBBB' : 'AAAA-AAAA',
        send: (code: string) => browser.request(url, { form: { ...form.fields, code } }),
        attempts: async () => (await h.stores.magicLinks.latestForAttempt(app.app_id, uidOf(url)))?.attempts,
      };
    }

    /**
     * Sends 7 wrong codes and the right one (at `position`) at once and checks what must
     * hold whatever order they reach Redis in.
     */
    async function burst(email: string, position: number): Promise<void> {
      const { right, wrong, send, attempts } = await attemptWithLink(email);
      const codes = Array<string>(7).fill(wrong);
      codes.splice(position, 0, right);
      const replies = await Promise.all(codes.map(send));
      await h.server.audit.flushed();
      const taken = (await attempts()) ?? 0;
      const events = audits(h).filter((e) => e.email === email && String(e.type).startsWith('code.'));
      expect(events, 'one event per code').to.have.length(8);
      const accepted = events.filter((e) => e.type === 'code.accepted');
      const wrongCompared = events.filter((e) => e.reason === 'wrong');
      // Every code compared took an attempt first, and no more than 5 were handed out.
      expect(accepted.length + wrongCompared.length, 'codes compared').to.equal(taken);
      expect(taken).to.be.within(1, 5);
      const rightReply = replies[position]!;
      if (accepted.length === 0) {
        // The right code came 6th or later: refused unseen, like the 2 other late ones.
        expect(taken).to.equal(5);
        expect(events.filter((e) => e.reason === 'locked')).to.have.length(3);
        expect(rightReply.status).to.equal(410);
      } else {
        // The right code was among the first 5. Codes that came after it found the link
        // used (not counted) or no attempt left (locked).
        expect(rightReply.status).to.equal(303);
        for (const event of events.filter((e) => e.type !== 'code.accepted')) expect(['wrong', 'locked', 'used']).to.include(event.reason);
      }
      // Each "attempts left" told to the person belongs to one attempt.
      const left = replies.filter((r) => r.status === 400).map((r) => /\((\d) attempts? left\)/.exec(r.body)![1]);
      expect(new Set(left).size).to.equal(left.length);
    }

    it('compares at most 5 of 7 wrong codes and the right one sent at once, the right one last', async () => {
      await burst('burst-last@example.com', 7);
    });

    it('compares at most 5 of 7 wrong codes and the right one sent at once, the right one first', async () => {
      await burst('burst-first@example.com', 0);
    });

    it('refuses the right code once 5 attempts are counted, even sent together with more wrong ones', async () => {
      const { right, wrong, send, attempts } = await attemptWithLink('after-five@example.com');
      const first = await Promise.all(Array.from({ length: 5 }, () => send(wrong)));
      expect(first.map((r) => r.status).sort()).to.deep.equal([400, 400, 400, 400, 410]);
      expect(await attempts()).to.equal(5);
      const second = await Promise.all([right, wrong, wrong].map(send));
      expect(second.map((r) => r.status)).to.deep.equal([410, 410, 410]);
      expect(second[0]!.body).to.include('Too many wrong codes');
      expect(await attempts(), 'refused attempts are not counted').to.equal(5);
    });

    it('keeps no address in the limiter keys: one keyed hash per mailbox', async () => {
      const client = new Redis(redis.url);
      try {
        const before = new Set(await client.keys('postern-rl:*'));
        await ask(h, app, 'Private.Person+news@example.com');
        await ask(h, app, 'private.person@example.com');
        const added = (await client.keys('postern-rl:*')).filter((k) => !before.has(k));
        expect(added.filter((k) => k.startsWith('postern-rl:link-mailbox:'))).to.have.length(1);
        expect(added.filter((k) => k.startsWith('postern-rl:link-address:'))).to.have.length(1);
        for (const key of added) expect(key).to.not.match(/private|person|news|@/i);
        // Both spellings were counted under that one key.
        const mailboxKey = added.find((k) => k.startsWith('postern-rl:link-mailbox:'))!;
        expect(Number(await client.get(mailboxKey))).to.equal(2);
      } finally {
        client.disconnect();
      }
    });
  });
});
