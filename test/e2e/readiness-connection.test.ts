// The readiness ping (Stores.ping, /readyz) on Redis goes over a connection of its own:
// under load it reports Redis, not the queue of the application's commands in front of it
// on the command connection (corked per turn of the event loop). It still reports the command connection: while
// that one is being made again, every request fails, so Postern is not ready.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/log.ts';
import { openStores } from '../../src/storage/open-stores.ts';
import { StoreUnavailableError, type Stores } from '../../src/storage/ports.ts';
import { Harness } from '../helpers/harness.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { untilStoresAnswer } from '../helpers/stores-ready.ts';

/** The connections Redis has from Postern, by name (CLIENT LIST). */
async function posternClients(admin: Redis): Promise<Map<string, string>> {
  const list = (await admin.client('LIST')) as string;
  const byName = new Map<string, string>();
  for (const line of list.trim().split('\n')) {
    const fields = Object.fromEntries(line.split(' ').map((f) => f.split('=') as [string, string]));
    if (fields.name?.startsWith('postern-')) byName.set(fields.name, fields.id!);
  }
  return byName;
}

describe('the Redis readiness ping', function () {
  this.timeout(30_000);
  const redis = new RedisServer();
  let stores: Stores;
  let admin: Redis;

  before(async () => {
    await redis.start();
    stores = await openStores({ redisUrl: redis.url, mongodbUri: undefined, storeTimeoutMs: 5_000 }, createLogger('silent'));
    admin = new Redis(redis.url);
  });
  after(async () => {
    admin?.disconnect();
    await stores?.close();
    await redis.destroy();
  });

  it('is answered before the application commands sent ahead of it', async () => {
    // Sent in one turn: on the command connection they leave as one pipeline, and a PING
    // behind them would be answered after the last of them.
    const commands = 30_000;
    const settled: string[] = [];
    const reads = Array.from({ length: commands }, (_, i) => stores.apps.get(`absent-${i}`).then(() => {
      if (i === commands - 1) settled.push('last command');
    }));
    const ping = stores.ping().then(() => settled.push('ping'));
    await Promise.all([...reads, ping]);
    expect(settled).to.deep.equal(['ping', 'last command']);
  });

  it('has a named connection of its own, next to the command and subscriber connections', async () => {
    const clients = await posternClients(admin);
    expect([...clients.keys()].sort()).to.deep.equal(['postern-commands', 'postern-readiness', 'postern-subscriber']);
  });

  it('fails while the command connection is being made again, though its own connection answers', async () => {
    await stores.ping();
    const commandsId = (await posternClients(admin)).get('postern-commands')!;
    await admin.client('KILL', 'ID', commandsId);
    // The driver sees the connection close and makes it again after a backoff (100 ms):
    // meanwhile the ping must fail, as every request's command would.
    const outcomes: unknown[] = [];
    for (let i = 0; i < 200 && !outcomes.some((o) => o instanceof StoreUnavailableError); i++) {
      outcomes.push(await stores.ping().then(() => 'ready', (err: unknown) => err));
    }
    const failure = outcomes.find((o) => o instanceof StoreUnavailableError) as StoreUnavailableError | undefined;
    expect(failure, 'no ping failed while the command connection was down').to.be.instanceOf(StoreUnavailableError);
    expect(failure!.store).to.equal('redis');
    // And it comes back without a restart.
    await untilStoresAnswer(stores);
  });

  it('closes its connection with the stores', async () => {
    const own = await openStores({ redisUrl: redis.url, mongodbUri: undefined, storeTimeoutMs: 5_000 }, createLogger('silent'));
    const before = (await admin.client('LIST')) as string;
    await own.close();
    // QUIT is answered before the socket closes: wait until Redis has seen all three go.
    const countOf = (list: string, name: string) => list.split('\n').filter((l) => l.includes(` name=${name} `)).length;
    let after = before;
    for (let tries = 0; tries < 100 && countOf(after, 'postern-readiness') >= countOf(before, 'postern-readiness'); tries++) {
      await new Promise((r) => setTimeout(r, 20));
      after = (await admin.client('LIST')) as string;
    }
    expect(countOf(after, 'postern-readiness')).to.equal(countOf(before, 'postern-readiness') - 1);
  });
});

describe('/readyz on Redis', function () {
  this.timeout(30_000);
  const redis = new RedisServer();
  const h = new Harness();

  before(async () => {
    await redis.start();
    await h.start({ REDIS_URL: redis.url });
  });
  after(async () => {
    await h.stop();
    await redis.destroy();
  });

  it('answers 200 to every probe of a parallel burst while the command connection is busy', async () => {
    const app = await h.createApp();
    // Application traffic on the command connection, probes in the middle of it.
    const traffic = Array.from({ length: 200 }, () => fetch(`${app.issuer}/.well-known/openid-configuration`));
    const probes = await Promise.all(Array.from({ length: 50 }, () => fetch(`${h.url}/readyz`)));
    await Promise.all(traffic);
    expect(probes.map((r) => r.status)).to.deep.equal(probes.map(() => 200));
    const body = (await probes[0]!.json()) as { status: string; storage: string };
    expect(body).to.deep.include({ status: 'ready', storage: 'redis' });
  });

  it('answers probes from the background ping: a burst of probes sends Redis no ping of its own', async () => {
    const admin = new Redis(redis.url);
    const pings = async () => Number(/cmdstat_ping:calls=(\d+)/.exec((await admin.info('commandstats')) as string)?.[1] ?? 0);
    try {
      await h.untilReady();
      const before = await pings();
      const probes = 200;
      const answers = await Promise.all(Array.from({ length: probes }, () => fetch(`${h.url}/readyz`)));
      expect(answers.map((r) => r.status)).to.deep.equal(answers.map(() => 200));
      // One ping every PROBE_INTERVAL_MS whatever the probes: a ping per probe would be 200.
      expect((await pings()) - before).to.be.below(probes / 4);
    } finally {
      admin.disconnect();
    }
  });
});
