// Back-channel logout survives the instance that queued it: real Postern processes on a
// real Redis (test/helpers/instance.ts), one killed with SIGKILL while a logout waits for
// its retry, and another one, started afterwards, delivers it. Meanwhile the notification
// sits in Redis sealed: no address, no sid.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { decodeJwt } from 'jose';
import { keys } from '../../src/storage/redis/redis-keys.ts';
import { Cluster, Instance } from '../helpers/instance.ts';
import { LogoutReceiver, verifyLogoutToken } from '../helpers/logout-receiver.ts';
import { freePort } from '../helpers/redis-server.ts';

describe('back-channel logout: a killed instance loses no delivery', function () {
  this.timeout(90_000);
  const cluster = new Cluster();
  const rp = new LogoutReceiver();
  let next: Instance | undefined;

  before(async () => {
    await cluster.start(1);
    await rp.start();
  });
  after(async () => {
    await next?.kill();
    await cluster.stop();
    await rp.stop();
  });

  it('SIGKILL while a logout waits for its retry: the next instance delivers it, and the store held it sealed', async () => {
    const { h, lb } = cluster;
    const first = cluster.instances[0]!;
    const app = await h.createApp({ name: 'Durable Logout App', backchannel_logout_uri: rp.url });
    const email = 'killed-instance@example.com';
    const signedIn = await h.signIn(app, email);
    const sid = decodeJwt(signedIn.tokens.id_token!).sid as string;

    rp.script.push(503);
    const page = await signedIn.browser.navigate(`${app.issuer}/session/end?${new URLSearchParams({ id_token_hint: signedIn.tokens.id_token! })}`);
    const done = await signedIn.browser.submit(page, { logout: 'yes' });
    expect(done.body).to.include('You have signed out');
    await first.printed(/back-channel logout not delivered; will retry/);
    expect(await first.kill('SIGKILL')).to.equal(null);

    const redis = new Redis(cluster.redis.url);
    try {
      const held = await redis.hvals(keys.logoutOutbox.messages);
      expect(held, 'waiting in the logout outbox').to.have.length(1);
      for (const secret of [email, sid, app.app_id]) expect(held[0]!.includes(secret), `${secret} at rest`).to.equal(false);
      expect(await redis.hlen(keys.mailOutbox.messages), 'nothing in the mail outbox').to.equal(0);
    } finally {
      redis.disconnect();
    }

    next = await new Instance(await freePort(), first.env).start();
    lb.targets.push(next.url);
    lb.target = 1;
    await rp.until('delivered by the next instance', () => rp.tokens.length === 2);
    const claims = await verifyLogoutToken(rp.tokens[1]!, app);
    expect(claims).to.include({ sub: email, sid });

    // Audited by the instance that delivered it.
    let events: Record<string, unknown>[] = [];
    for (const deadline = Date.now() + 10_000; events.length === 0 && Date.now() < deadline; await new Promise((r) => setTimeout(r, 50))) {
      events = (await h.admin('GET', `/admin/apps/${app.app_id}/audit?type=logout.backchannel_delivered`)).body.events;
    }
    expect(events.map((e) => [e.email, e.reason])).to.deep.equal([[email, 'rp_logout: after 2 attempts']]);
  });
});
