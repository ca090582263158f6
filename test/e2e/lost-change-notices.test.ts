// An app changed on another instance reaches this one by Redis pub/sub, which keeps nothing
// for a subscriber that is away: a notice published while this instance's subscriber was
// disconnected is gone. Once subscribed again, the instance checks every app it has cached
// against the store (ProviderRegistry.revalidateAll), instead of serving a stale app until
// its 30-second revalidation.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { Browser } from '../helpers/browser.ts';
import { harnessOn } from '../helpers/storage-harness.ts';

describe('an app change whose notice was lost while the subscriber was away (Redis)', function () {
  this.timeout(30_000);
  const { h, redis } = harnessOn('redis');

  it('is served as soon as the subscriber is back, well before revalidation', async () => {
    const app = await h.createApp({ name: 'Name Before' });
    const loginPage = async () => (await h.startLogin(app, new Browser())).page.body;
    for (let i = 0; i < 2; i++) expect(await loginPage()).to.include('Name Before'); // its Provider is cached now

    // Another instance renamed the app, and its notice never arrived here.
    const stored = (await h.stores.apps.get(app.app_id))!;
    expect(await h.stores.apps.replace({ ...stored, name: 'Name After', updatedAt: stored.updatedAt + 1 }, stored.updatedAt)).to.equal(true);
    expect(await loginPage(), 'nothing else tells this instance').to.include('Name Before');

    // Redis drops the subscriber (a failover, a network blip, its output buffer limit).
    const raw = new Redis(redis.url);
    try {
      expect(await raw.client('KILL', 'TYPE', 'pubsub')).to.be.at.least(1);
    } finally {
      raw.disconnect();
    }
    const bound = Date.now() + 5_000; // revalidation alone would take 30 s
    let body = await loginPage();
    while (!body.includes('Name After') && Date.now() < bound) {
      await new Promise((r) => setTimeout(r, 50));
      body = await loginPage();
    }
    expect(body).to.include('Name After');
  });
});
