import { expect } from 'chai';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { keys } from '../../src/storage/redis/redis-keys.ts';
import { RedisOidcStore } from '../../src/storage/redis/redis-oidc-store.ts';
import { createLogger } from '../../src/log.ts';
import { openStores, splitStores } from '../../src/storage/open-stores.ts';
import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import { appCursorOf, StoreUnavailableError, type Stores } from '../../src/storage/ports.ts';
import { allApps } from '../helpers/all-apps.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';
import { redisAtRest } from './at-rest.ts';
import { outboxContract } from './outbox-contract.ts';
import { storeContract } from './store-contract.ts';
import { realTime, until } from './store-time.ts';

const redis = new RedisServer();
before(async () => {
  await redis.start();
});
after(() => redis.destroy());

storeContract('redis', () => openStores({ redisUrl: redis.url, mongodbUri: undefined, storeTimeoutMs: 2_000 }, createLogger('silent')), realTime, () => redisAtRest(redis.url));
// Durable models in one store, short-lived ones in Redis, as with MONGODB_URI and REDIS_URL
// both set; the memory store stands in for MongoDB, which this machine may lack (the real
// pair runs in mongodb.test.ts when MONGODB_URI is set).
storeContract('redis+memory (split)', async () => splitStores(openMemoryStores(), await openStores({ redisUrl: redis.url, mongodbUri: undefined, storeTimeoutMs: 2_000 }, createLogger('silent'))), realTime, undefined);
outboxContract('redis', () => openStores({ redisUrl: redis.url, mongodbUri: undefined, storeTimeoutMs: 2_000 }, createLogger('silent')), () => redisAtRest(redis.url));

/** For one describe block: the stores on the test's Redis, and a raw client beside them. */
function openedOnRedis(): { stores: Stores; raw: Redis } {
  const opened = {} as { stores: Stores; raw: Redis };
  before(async () => {
    opened.stores = await openStores({ redisUrl: redis.url, mongodbUri: undefined, storeTimeoutMs: 2_000 }, createLogger('silent'));
    opened.raw = new Redis(redis.url);
  });
  after(async () => {
    opened.raw.disconnect();
    await opened.stores.close();
  });
  return opened;
}

describe('redis change bus', () => {
  const opened = openedOnRedis();

  it('is subscribed once the stores are open: a notice published at once reaches it, however slowly Redis answers the SUBSCRIBE', async () => {
    // Every SUBSCRIBE reaches Redis 300 ms late; other commands go at once.
    const proxy = await new TcpProxy(redis.port, (chunk) => (/subscribe/i.test(chunk.toString()) ? 300 : 0)).listen();
    const stores = await openStores({ redisUrl: proxy.redisUrl, mongodbUri: undefined, storeTimeoutMs: 2_000 }, createLogger('silent'));
    try {
      const heard: string[] = [];
      stores.changes.subscribe({ changed: (id) => heard.push(id), missed: () => {} });
      const notice = randomUUID();
      await opened.raw.publish(keys.appChanges, notice);
      await until(() => heard.includes(notice), 5_000);
      expect(heard).to.deep.equal([notice]);
    } finally {
      await stores.close();
      await proxy.close();
    }
  });

  it('tells its listeners that notices may be lost once it is subscribed again after its connection dropped, and hears later notices', async () => {
    const heard: string[] = [];
    let missed = 0;
    opened.stores.changes.subscribe({ changed: (id) => heard.push(id), missed: () => missed++ });
    const [before, lost, after] = [randomUUID(), randomUUID(), randomUUID()];
    await opened.stores.changes.publish(before);
    await until(() => heard.includes(before), 5_000);
    expect(heard).to.deep.equal([before]);
    expect(missed).to.equal(0);
    // Redis drops the subscriber (as it does one past its output buffer limit), and a notice
    // is published before it is back: pub/sub keeps nothing for it.
    const [killed, receivers] = (await opened.raw.multi().client('KILL', 'TYPE', 'pubsub').publish(keys.appChanges, lost).exec())!;
    expect(killed![1]).to.be.at.least(1);
    expect(receivers![1]).to.equal(0);
    await until(() => missed > 0, 5_000);
    expect(missed).to.equal(1);
    await opened.stores.changes.publish(after);
    await until(() => heard.includes(after), 5_000);
    expect(heard).to.deep.equal([before, after]);
  });
});

describe('redis indexes', () => {
  const opened = openedOnRedis();

  it('hold live documents only: expired members go at the next write, destroyed ones at once', async () => {
    const appId = randomUUID();
    const grant = { grantId: 'chain', accountId: 'long-chain@example.com' };
    // Written together, so none has expired before the last is in (each write trims expired members).
    await Promise.all(Array.from({ length: 20 }, (_, i) => opened.stores.oidc.upsert(appId, 'RefreshToken', `spent-${i}`, grant, 1)));
    const sets = [keys.grant(appId, 'chain'), keys.accountDocs(appId, 'long-chain@example.com')];
    for (const set of sets) expect(await opened.raw.zcard(set)).to.equal(20);
    await until(async () => (await Promise.all(Array.from({ length: 20 }, (_, i) => opened.stores.oidc.find(appId, 'RefreshToken', `spent-${i}`)))).every((d) => d === undefined), 4_000);
    await opened.stores.oidc.upsert(appId, 'RefreshToken', 'current', grant, 600);
    await opened.stores.oidc.upsert(appId, 'Session', 'session', { accountId: grant.accountId, uid: 'session-uid' }, 600);
    expect(await opened.raw.zrange(sets[0]!, 0, -1)).to.deep.equal([keys.doc(appId, 'RefreshToken', 'current')]);
    expect(await opened.raw.zcard(sets[1]!)).to.equal(2);
    await opened.stores.oidc.destroy(appId, 'RefreshToken', 'current');
    await opened.stores.oidc.destroy(appId, 'Session', 'session');
    for (const set of sets) expect(await opened.raw.zcard(set)).to.equal(0);
    expect(await opened.raw.exists(keys.uid(appId, 'Session', 'session-uid'))).to.equal(0);
  });

  it('keep a set that holds a member without expiry for good, and give a new or shrunk set its member\'s lifetime', async () => {
    const appId = randomUUID();
    const forever = keys.accountDocs(appId, 'forever@example.com');
    await opened.stores.oidc.upsert(appId, 'Grant', 'kept', { accountId: 'forever@example.com' }, undefined);
    await opened.stores.oidc.upsert(appId, 'Session', 'short', { accountId: 'forever@example.com', uid: 'su' }, 5);
    expect(await opened.raw.pttl(forever)).to.equal(-1);
    // Its only member re-saved with a shorter lifetime: the set now lives as long as that.
    const grant = keys.grant(appId, 'g-only');
    await opened.stores.oidc.upsert(appId, 'AccessToken', 'only', { grantId: 'g-only' }, 600);
    await opened.stores.oidc.upsert(appId, 'AccessToken', 'only', { grantId: 'g-only' }, 10);
    expect(await opened.raw.pttl(grant)).to.be.within(1, 10_000);
  });

  it("an instance whose clock runs ahead drops no live member of another instance's documents from an index", async () => {
    const appId = randomUUID();
    await opened.stores.oidc.upsert(appId, 'AccessToken', 'live', { grantId: 'skewed' }, 60);
    const realNow = Date.now;
    Date.now = () => realNow() + 120_000; // this writer's clock is two minutes ahead
    try {
      await opened.stores.oidc.upsert(appId, 'RefreshToken', 'written-ahead', { grantId: 'skewed' }, 600);
    } finally {
      Date.now = realNow;
    }
    await opened.stores.oidc.revokeByGrantId(appId, 'AccessToken', 'skewed');
    expect(await opened.stores.oidc.find(appId, 'AccessToken', 'live')).to.equal(undefined);
  });

  it('sign-out everywhere racing another instance\'s sign-ins: whatever it leaves, the next sign-out removes, over many rounds', async () => {
    const writer = new Redis(redis.url); // another instance's connection
    try {
      const signOut = new RedisOidcStore(opened.raw);
      const other = new RedisOidcStore(writer);
      for (let round = 0; round < 20; round++) {
        const appId = randomUUID();
        const who = { accountId: 'raced@example.com' };
        await other.upsert(appId, 'Grant', 'G-old', who, 600);
        const signIns = Array.from({ length: 5 }, async (_, i) => {
          await other.upsert(appId, 'Grant', `G-${i}`, who, 600);
          await other.upsert(appId, 'RefreshToken', `rt-${i}`, { ...who, grantId: `G-${i}` }, 600);
        });
        const [first] = await Promise.all([signOut.destroyByAccount(appId, who.accountId), ...signIns]);
        const second = await signOut.destroyByAccount(appId, who.accountId);
        expect(first.grants + second.grants, `round ${round}`).to.equal(6);
        expect(first.tokens + second.tokens, `round ${round}`).to.equal(5);
        for (let i = 0; i < 5; i++) expect(await other.find(appId, 'RefreshToken', `rt-${i}`), `round ${round}`).to.equal(undefined);
      }
    } finally {
      writer.disconnect();
    }
  });

  it('answers a query by address from that address\'s own index, and trims events past the retention', async () => {
    const appId = randomUUID();
    const now = Date.now();
    const event = (i: number, email: string, at = now - i) => ({ id: `e${i}`, at, appId, type: 'link.requested', outcome: 'success' as const, email });
    for (let i = 0; i < 50; i++) await opened.stores.audit.append(event(i, `crowd-${i}@example.com`), 3600);
    for (let i = 50; i < 53; i++) await opened.stores.audit.append(event(i, 'one@example.com'), 3600);
    expect(await opened.raw.zcard(keys.auditByEmail(appId, 'one@example.com'))).to.equal(3);
    const found = await opened.stores.audit.query(appId, { email: 'one@example.com', limit: 10 });
    expect(found.map((e) => e.id)).to.deep.equal(['e50', 'e51', 'e52']);

    // An event older than the retention goes at the next append, from both indexes.
    await opened.stores.audit.append(event(60, 'one@example.com', now - 7200_000), 3600);
    await opened.stores.audit.append(event(61, 'one@example.com'), 3600);
    expect((await opened.stores.audit.query(appId, { email: 'one@example.com', limit: 10 })).map((e) => e.id)).to.not.include('e60');
    expect((await opened.stores.audit.query(appId, { limit: 100 })).map((e) => e.id)).to.not.include('e60');
  });

  it('orders apps stored before the order index existed once a process opens the store, and drops an index entry whose record is gone', async () => {
    const now = Date.now();
    const legacy = Array.from({ length: 1_200 }, (_, i) => ({ id: randomUUID(), name: `Legacy ${i}`, createdAt: now + i, updatedAt: now + i }));
    // Written as a release before the index wrote them: the hash alone.
    for (let i = 0; i < legacy.length; i += 400) {
      await opened.raw.hset(keys.apps, Object.fromEntries(legacy.slice(i, i + 400).map((a) => [a.id, JSON.stringify(a)])));
    }
    const orphan = appCursorOf({ createdAt: now + 5_000, id: randomUUID() });
    await opened.raw.zadd(keys.appOrder, 0, orphan);
    const reopened = await openStores({ redisUrl: redis.url, mongodbUri: undefined, storeTimeoutMs: 2_000 }, createLogger('silent'));
    try {
      const ids = new Set<string>(legacy.map((a) => a.id));
      const listed = (await allApps(reopened.apps, 250)).filter((a) => ids.has(a.id));
      expect(listed.map((a) => a.name)).to.deep.equal(legacy.map((a) => a.name));
      expect(await opened.raw.zscore(keys.appOrder, orphan)).to.equal(null);
      expect(await opened.raw.zcard(keys.appOrder)).to.equal(await opened.raw.hlen(keys.apps));
    } finally {
      await reopened.close();
    }
  });
});

describe('redis round trips', () => {
  const opened = openedOnRedis();

  // Commands issued in one turn of the event loop leave in one write (turn-batched-redis.ts):
  // each must still get its own answer, scripts and plain commands mixed.
  it('answers every command of a burst sent together with its own reply', async () => {
    const appId = randomUUID();
    const record = (i: number) => ({ hash: `h${i}`, shortCodeHash: `s${i}`, appId, interactionUid: `uid-${i}`, email: `p${i}@example.com`, clientId: 'c', expiresAt: Date.now() + 60_000, createdAt: Date.now() });
    await opened.stores.magicLinks.save(record(0), 60);
    // Even i: a save; odd i: a find, of the link saved above (i % 4 == 1) or of one never saved.
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? opened.stores.magicLinks.find(appId, i % 4 === 1 ? 'h0' : `h${i}`) : opened.stores.magicLinks.save(record(i), 60))));
    answers.forEach((answer, i) => {
      if (i % 2 === 0) expect(answer, `save ${i}`).to.equal(undefined);
      else expect((answer as { email: string } | undefined)?.email, `find ${i}`).to.equal(i % 4 === 1 ? 'p0@example.com' : undefined);
    });
    for (const i of [2, 100, 198]) expect((await opened.stores.magicLinks.latestForAttempt(appId, `uid-${i}`))?.email).to.equal(`p${i}@example.com`);
  });


  // Hits of one turn of the event loop go to Redis together, whatever limiters they are of.
  it('counts a burst of hits over several limiters and keys exactly: each lets its own number through', async () => {
    const run = randomUUID();
    const three = opened.stores.rateLimiter(`burst-three-${run}`, 3, 60);
    const five = opened.stores.rateLimiter(`burst-five-${run}`, 5, 120);
    const hits = await Promise.all([
      ...Array.from({ length: 10 }, () => three.hit('a')),
      ...Array.from({ length: 10 }, () => five.hit('a')),
      ...Array.from({ length: 2 }, () => three.hit('b')),
    ]);
    expect(hits.slice(0, 10).filter(Boolean)).to.have.length(3);
    expect(hits.slice(10, 20).filter(Boolean)).to.have.length(5);
    expect(hits.slice(20)).to.deep.equal([true, true]);
    expect(await three.exhausted('a')).to.equal(true);
    expect(await three.exhausted('b')).to.equal(false);
    expect(await five.exhausted('a')).to.equal(true);
    // Refused hits count too; each counter lives for its own window, from its first hit.
    expect(await opened.raw.get(`postern-rl:burst-three-${run}:a`)).to.equal('10');
    const ttl = await opened.raw.ttl(`postern-rl:burst-five-${run}:a`);
    expect(ttl).to.be.within(110, 120);
    expect(await three.hit('a')).to.equal(false);
    expect(await opened.raw.get(`postern-rl:burst-three-${run}:a`)).to.equal('11');
  });

  // Audit appends nobody waits on: those of one turn of the event loop go as one script call.
  it('keeps every audit event of a burst over apps, addresses and retentions, in one script call, each trimmed by its own retention', async () => {
    const apps = [randomUUID(), randomUUID()];
    const now = Date.now();
    const evalshaCalls = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await opened.raw.info('commandstats'))?.[1] ?? 0);
    // Past a one-hour retention, within three hours: the burst trims it, since the last
    // event of the burst in each of its sets asks for one hour.
    await opened.stores.audit.append({ id: 'old', at: now - 7200_000, appId: apps[0]!, type: 'link.requested', outcome: 'success', email: 'a@example.com' }, 3 * 3600);
    const before = await evalshaCalls();
    const events = Array.from({ length: 300 }, (_, i) => ({
      id: `b${String(i).padStart(3, '0')}`,
      at: now - (i % 7),
      appId: apps[i % 2]!,
      type: i % 3 ? 'link.opened' : 'token.issued',
      outcome: 'success' as const,
      ...(i % 3 ? { email: i % 5 ? 'a@example.com' : 'B@Example.com' } : {}),
    }));
    await Promise.all(events.map((event, i) => opened.stores.audit.append(event, i === 298 ? 3600 : 3 * 3600)));
    // Only the burst's command counted (and INFO itself is not EVALSHA).
    expect((await evalshaCalls()) - before).to.equal(1);
    for (const appId of apps) {
      const mine = events.filter((e) => e.appId === appId);
      const expected = [...mine].sort((x, y) => y.at - x.at || (x.id < y.id ? 1 : -1)).map((e) => e.id);
      expect((await opened.stores.audit.query(appId, { limit: 1000 })).map((e) => e.id)).to.deep.equal(expected);
      for (const email of ['a@example.com', 'B@Example.com']) {
        const found = await opened.stores.audit.query(appId, { email, limit: 1000 });
        expect(found.map((e) => e.id)).to.have.members(mine.filter((e) => e.email === email).map((e) => e.id));
      }
    }
  });
});

describe('redis driver while Redis is down', () => {
  const down = new RedisServer();
  let stores: Stores;
  before(async () => {
    await down.start();
    stores = await openStores({ redisUrl: down.url, mongodbUri: undefined, storeTimeoutMs: 2_000 }, createLogger('silent'));
    await down.stop();
  });
  after(async () => {
    await stores?.close();
    await down.destroy();
  });

  it('answers every store, purgeApp and ping with StoreUnavailableError naming redis', async () => {
    const link = { hash: 'h', shortCodeHash: 's', appId: 'a', interactionUid: 'i', email: 'e@example.com', clientId: 'a', createdAt: 1, expiresAt: 2 };
    const calls: Record<string, () => Promise<unknown>> = {
      'apps.page': () => stores.apps.page(10),
      'accounts.recordLogin': () => stores.accounts.recordLogin('a', 'e@example.com', 1),
      'oidc.upsert': () => stores.oidc.upsert('a', 'Session', 's', {}, 60),
      'oidc.destroyByAccount': () => stores.oidc.destroyByAccount('a', 'e@example.com'),
      'magicLinks.save': () => stores.magicLinks.save(link, 60),
      'outbox.claim': () => stores.outbox.claim(1, 2, 1),
      'logoutOutbox.claim': () => stores.logoutOutbox.claim(1, 2, 1),
      'audit.query': () => stores.audit.query('a', { limit: 1 }),
      purgeApp: () => stores.purgeApp('a'),
      ping: () => stores.ping(),
    };
    for (const [name, call] of Object.entries(calls)) {
      const error = await call().then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error, name).to.be.instanceOf(StoreUnavailableError);
      expect((error as StoreUnavailableError).store, name).to.equal('redis');
    }
  });
});
