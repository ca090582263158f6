// Deleting an app leaves nothing behind and can always be finished: the app leaves every
// read with its deletion mark in one write, its data is purged after, and whatever stops
// that purge (the store refusing it, the process killed, a request still writing for the
// app) is finished by a repeated DELETE or by the sweeper every instance runs. The
// deletion itself is kept in the instance's trail, which the purge leaves alone.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { GRACE_MS } from '../../src/apps/deletion-sweeper.ts';
import { INSTANCE_TRAIL } from '../../src/storage/ports.ts';
import { Browser } from '../helpers/browser.ts';
import { ADMIN_TOKEN, Harness, type AppJson } from '../helpers/harness.ts';
import { Instance } from '../helpers/instance.ts';
import { freePort, RedisServer } from '../helpers/redis-server.ts';
import { harnessOn } from '../helpers/storage-harness.ts';

interface AuditEventJson {
  type: string;
  app_id: string;
  reason?: string;
  ip?: string;
  request_id?: string;
}

async function deletionEvents(h: Harness, appId: string): Promise<AuditEventJson[]> {
  await h.server.audit.flushed();
  const res = await h.admin('GET', '/admin/audit?type=admin.app_deleted&limit=500');
  expect(res.status).to.equal(200);
  return (res.body.events as AuditEventJson[]).filter((e) => e.app_id === appId);
}

/** What the stores still hold of an app: its account, its audit trail, its deletion mark. */
async function leftOf(h: Harness, appId: string, email: string) {
  await h.server.audit.flushed();
  return {
    account: (await h.stores.accounts.find(appId, email)) !== undefined,
    audit: (await h.stores.audit.query(appId, { limit: 10 })).length,
    marked: (await h.stores.apps.deletion(appId)) !== undefined,
  };
}

for (const storage of ['memory', 'redis'] as const) {
  describe(`deleting an app (${storage})`, () => {
    const { h } = harnessOn(storage);

    it("purges the app's data, keeps its deletion in the instance's trail, and answers 204 to a repeat until the deletion is finished", async () => {
      const app = await h.createApp({ name: 'Doomed' });
      await h.signIn(app, 'doomed@example.com');
      expect(await leftOf(h, app.app_id, 'doomed@example.com')).to.include({ account: true, marked: false });
      expect((await leftOf(h, app.app_id, 'doomed@example.com')).audit).to.be.above(0);

      const res = await fetch(`${h.url}/admin/apps/${app.app_id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(res.status).to.equal(204);
      expect(await leftOf(h, app.app_id, 'doomed@example.com')).to.deep.equal({ account: false, audit: 0, marked: true });
      const [event, ...more] = await deletionEvents(h, app.app_id);
      expect(more).to.deep.equal([]);
      expect(event).to.include({ type: 'admin.app_deleted', app_id: app.app_id, request_id: res.headers.get('x-request-id') });
      expect(event).to.have.property('ip');
      expect(event).not.to.have.property('trail');

      // A repeat (the caller never saw the 204) purges again, and is recorded as a repeat.
      expect((await h.admin('DELETE', `/admin/apps/${app.app_id}`)).status).to.equal(204);
      expect((await deletionEvents(h, app.app_id)).map((e) => e.reason ?? 'first')).to.have.members(['repeated', 'first']);
      expect((await h.admin('GET', `/admin/apps/${app.app_id}`)).status).to.equal(404);

      // Purged already and within the grace: a pass leaves it; past the grace, one last purge and the mark goes.
      const early = await h.server.appDeletions.runOnce();
      expect(early.purged).not.to.include(app.app_id);
      expect(early.forgotten).not.to.include(app.app_id);
      h.clock.travel(GRACE_MS / 1000 + 1);
      const late = await h.server.appDeletions.runOnce();
      expect(late.purged).to.include(app.app_id);
      expect(late.forgotten).to.include(app.app_id);
      expect(h.logs.some((line) => line.includes('app deletion finished') && line.includes(app.app_id))).to.equal(true);
      expect(await h.stores.apps.deletion(app.app_id)).to.equal(undefined);
      expect((await h.server.appDeletions.runOnce()).purged).not.to.include(app.app_id);
      const gone = await h.admin('DELETE', `/admin/apps/${app.app_id}`);
      expect(gone.status).to.equal(404);
      expect(gone.body.error).to.equal('not_found');
      // The instance's record of the deletion outlives every purge of the app.
      expect(await deletionEvents(h, app.app_id)).to.have.length(2);
    });

    it('forgets a mark whose last purge ran past the grace (forgetting had failed) without purging again', async () => {
      const app = await h.createApp({ name: 'Forget only' });
      const at = h.clock.now();
      expect(await h.stores.apps.delete(app.app_id, at)).to.equal(true);
      await h.stores.apps.purged(app.app_id, at + GRACE_MS + 1);
      const pass = await h.server.appDeletions.runOnce();
      expect(pass.purged).not.to.include(app.app_id);
      expect(pass.forgotten).to.include(app.app_id);
      expect(await h.stores.apps.deletion(app.app_id)).to.equal(undefined);
    });

    it('a pass reaches a mark due behind a thousand older ones, each purged once and within its grace', async () => {
      const model = (await h.stores.apps.get((await h.createApp({ name: 'Model' })).app_id))!;
      const at = h.clock.now();
      const older = Array.from({ length: 1001 }, () => ({ ...model, id: randomUUID() }));
      for (let i = 0; i < older.length; i += 100) {
        await Promise.all(
          older.slice(i, i + 100).map(async (record, j) => {
            await h.stores.apps.insert(record);
            await h.stores.apps.delete(record.id, at - 10_000 + i + j);
            await h.stores.apps.purged(record.id, at - 10_000 + i + j);
          }),
        );
      }
      // The newest mark's purge never ran (the store failed at its DELETE, say).
      const app = await h.createApp({ name: 'Due last' });
      await h.signIn(app, 'due@example.com');
      expect(await h.stores.apps.delete(app.app_id, at)).to.equal(true);
      const pass = await h.server.appDeletions.runOnce();
      expect(pass.purged).to.deep.equal([app.app_id]);
      expect(pass.failed).to.deep.equal([]);
      expect(await leftOf(h, app.app_id, 'due@example.com')).to.include({ account: false, marked: true });
      for (const record of older) await h.stores.apps.forget(record.id);
    });

    it('removes what a request still under way wrote for the app after its purge', async () => {
      const app = await h.createApp({ name: 'Late writer' });
      expect((await h.admin('DELETE', `/admin/apps/${app.app_id}`)).status).to.equal(204);
      // As a sign-in that was confirming when the app went would: its account, its session, its event.
      await h.stores.accounts.recordLogin(app.app_id, 'late@example.com', Date.now());
      await h.stores.oidc.upsert(app.app_id, 'Session', 'late-session', { uid: 'late-uid', accountId: 'late@example.com' }, 600);
      h.server.audit.record({ type: 'link.accepted', outcome: 'success', appId: app.app_id, email: 'late@example.com' });
      expect(await leftOf(h, app.app_id, 'late@example.com')).to.deep.equal({ account: true, audit: 1, marked: true });

      // Once the grace is over (late writers are done by then): the last purge removes them.
      h.clock.travel(GRACE_MS / 1000 + 1);
      expect((await h.server.appDeletions.runOnce()).forgotten).to.include(app.app_id);
      expect(await leftOf(h, app.app_id, 'late@example.com')).to.deep.equal({ account: false, audit: 0, marked: false });
      expect(await h.stores.oidc.find(app.app_id, 'Session', 'late-session')).to.equal(undefined);
    });

    it('deletes an app once under a burst of parallel DELETEs, and leaves the other apps alone', async () => {
      const keep = await h.createApp({ name: 'Keeper' });
      await h.signIn(keep, 'keeper@example.com');
      const app = await h.createApp({ name: 'Burst' });
      const answers = await Promise.all(Array.from({ length: 8 }, () => h.admin('DELETE', `/admin/apps/${app.app_id}`)));
      expect(answers.map((a) => a.status)).to.deep.equal(Array(8).fill(204));
      // Deleted once: one call took the app out, the seven others are recorded as repeats.
      const reasons = (await deletionEvents(h, app.app_id)).map((e) => e.reason ?? 'first');
      expect(reasons.filter((r) => r === 'first')).to.have.length(1);
      expect(reasons.filter((r) => r === 'repeated')).to.have.length(7);
      expect(await leftOf(h, keep.app_id, 'keeper@example.com')).to.include({ account: true, marked: false });
      expect((await fetch(`${keep.issuer}/.well-known/openid-configuration`)).status).to.equal(200);
    });

    it("reads the instance's trail like an app's: its parameters checked, behind the admin token", async () => {
      expect((await h.admin('GET', '/admin/audit?limit=0')).status).to.equal(400);
      expect((await h.admin('GET', '/admin/audit?app=x')).status).to.equal(400);
      expect((await h.admin('GET', '/admin/audit', undefined, 'wrong-token')).status).to.equal(401);
      expect((await h.admin('GET', '/admin/audit', undefined, '')).status).to.equal(401);
      // Its key is no app's: the trail is not an app, and no app route reaches it.
      expect((await h.admin('GET', `/admin/apps/${INSTANCE_TRAIL}/audit`)).status).to.equal(404);
      expect((await h.admin('DELETE', `/admin/apps/${INSTANCE_TRAIL}`)).status).to.equal(404);
    });
  });
}

for (const storage of ['memory', 'redis'] as const) {
  describe(`deleting an app with its sign-in mail still in the outbox (${storage})`, () => {
    const h = new Harness();
    const redis = new RedisServer();
    before(async () => {
      if (storage === 'redis') await redis.start();
      // A retry long after the first attempt (the test moves the clock to it): the app is
      // deleted in between, however slowly the steps before go on a busy machine.
      await h.start(storage === 'redis' ? { REDIS_URL: redis.url } : {}, { mail: { retryDelaysMs: [60_000] } });
    });
    after(async () => {
      await h.stop();
      await redis.destroy();
    });

    it('never sends it, while the mail of an app that is not cached here still goes out', async () => {
      const doomed = await h.createApp({ name: 'Doomed Mail' });
      const kept = await h.createApp({ name: 'Kept Mail' });
      const browsers = [new Browser(), new Browser()];
      const logins = await Promise.all([doomed, kept].map(async (app, i) => h.startLogin(app, browsers[i]!)));
      h.smtp.rejectNext = 2; // both first attempts refused: both mails wait for their retry
      for (const [i, to] of ['doomed-mail@example.com', 'kept-mail@example.com'].entries()) {
        expect((await browsers[i]!.submit(logins[i]!.page, { email: to })).status).to.equal(200);
      }
      await h.smtp.until('both first attempts were refused', () => h.smtp.rejectNext === 0);
      expect((await h.admin('DELETE', `/admin/apps/${doomed.app_id}`)).status).to.equal(204);
      // The other app's Provider is not cached any more: its mail's check reads the store.
      h.server.registry.invalidate(kept.app_id);
      expect(h.smtp.mails, 'no retry before the deletion').to.have.length(0);
      h.clock.travel(60); // both retries are due now
      await h.server.mailQueue.idle();
      expect(h.smtp.mails.map((m) => m.to)).to.deep.equal(['kept-mail@example.com']);
      const givenUp = h.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'sign-in mail given up');
      expect(givenUp.map((l) => [l['app_id'], l['reason']])).to.deep.equal([[doomed.app_id, 'the app was deleted']]);
      expect(await h.stores.outbox.size()).to.equal(0);
    });
  });
}

describe('deleting an app on a Redis that refuses the purge', () => {
  const { h, redis } = harnessOn('redis');
  let raw: Redis;
  before(() => {
    raw = new Redis(redis.url, { lazyConnect: false });
  });
  after(() => raw.disconnect());
  /** Postern's purge walks the keys with SCAN: taken away from its user, every purge fails. */
  const refuseScans = (refuse: boolean) => raw.call('ACL', 'SETUSER', 'default', refuse ? '-scan' : '+scan');

  it('answers 503 with the app already gone from every read, and a repeated DELETE finishes the purge', async () => {
    const app = await h.createApp({ name: 'Half deleted' });
    await h.signIn(app, 'half@example.com');
    await refuseScans(true);
    try {
      const failed = await h.admin('DELETE', `/admin/apps/${app.app_id}`);
      expect(failed.status).to.equal(503);
      expect(failed.body.error).to.equal('temporarily_unavailable');
    } finally {
      await refuseScans(false);
    }
    // Gone for every caller, its data still there: the mark says what is left to do.
    expect((await h.admin('GET', `/admin/apps/${app.app_id}`)).status).to.equal(404);
    expect((await fetch(`${app.issuer}/.well-known/openid-configuration`)).status).to.equal(404);
    expect(await leftOf(h, app.app_id, 'half@example.com')).to.include({ account: true, marked: true });

    expect((await h.admin('DELETE', `/admin/apps/${app.app_id}`)).status).to.equal(204);
    expect(await leftOf(h, app.app_id, 'half@example.com')).to.deep.equal({ account: false, audit: 0, marked: true });
    expect((await deletionEvents(h, app.app_id)).map((e) => e.reason ?? 'first')).to.have.members(['repeated', 'first']);
  });

  it('a sweeper pass finishes a deletion whose purge failed, with nobody asking again', async () => {
    const app = await h.createApp({ name: 'Left half deleted' });
    await h.signIn(app, 'left@example.com');
    await refuseScans(true);
    try {
      expect((await h.admin('DELETE', `/admin/apps/${app.app_id}`)).status).to.equal(503);
      const refused = await h.server.appDeletions.runOnce();
      expect(refused.failed).to.include(app.app_id);
    } finally {
      await refuseScans(false);
    }
    expect(h.logs.some((line) => line.includes('purging a deleted app failed') && line.includes(app.app_id))).to.equal(true);
    const pass = await h.server.appDeletions.runOnce();
    expect(pass.purged).to.include(app.app_id);
    expect(await leftOf(h, app.app_id, 'left@example.com')).to.include({ account: false, marked: true });
  });
});

describe('deleting an app, the process killed before its purge', () => {
  const redis = new RedisServer();
  let raw: Redis;
  before(async () => {
    await redis.start();
    raw = new Redis(redis.url);
  });
  after(async () => {
    raw.disconnect();
    await redis.destroy();
  });

  it('the next instance to start finishes the deletion', async () => {
    const port = await freePort();
    const h = await new Harness().attach(`http://localhost:${port}`);
    const env = {
      NODE_ENV: 'test',
      PUBLIC_URL: `http://localhost:${port}`,
      SMTP_URL: h.smtp.url,
      ADMIN_TOKEN,
      COOKIE_SECRETS: 'deletion-cookie-secret-0123456789abcdef01234567',
      KEY_ENCRYPTION_KEY: '4f1c2a7e9b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8',
      REDIS_URL: redis.url,
      LOG_LEVEL: 'info',
    };
    let instance = new Instance(port, env);
    try {
      await instance.start();
      const app: AppJson = await h.createApp({ name: 'Killed mid-deletion' });
      await h.signIn(app, 'killed@example.com');
      const appKeys = async () => (await raw.keys(`postern:${app.app_id}:*`)).length;
      expect(await appKeys()).to.be.above(0);
      await raw.call('ACL', 'SETUSER', 'default', '-scan');
      expect((await h.admin('DELETE', `/admin/apps/${app.app_id}`)).status).to.equal(503);
      await raw.call('ACL', 'SETUSER', 'default', '+scan');
      await instance.kill('SIGKILL');
      expect(await appKeys()).to.be.above(0);

      instance = new Instance(port, env);
      await instance.start();
      for (const deadline = Date.now() + 10_000; (await appKeys()) > 0; await new Promise((r) => setTimeout(r, 50))) {
        if (Date.now() > deadline) throw new Error(`the new instance did not purge the app:\n${instance.output}`);
      }
      expect(await raw.zscore('postern:apps:deleted', app.app_id)).not.to.equal(null);
      expect((await h.admin('GET', `/admin/apps/${app.app_id}`)).status).to.equal(404);
    } finally {
      await instance.kill('SIGKILL');
      await h.stop();
    }
  });
});
