// A Redis failover behind one endpoint (a managed Redis's primary name, a proxy): the
// replica is promoted, the old primary becomes its replica, and the endpoint names the new
// primary. Postern's open connections still reach the old one, which answers reads and
// refuses writes with READONLY. Postern answers that write 503 and connects again, reaching
// the new primary: nothing stored before the failover is lost, and writes work again
// without a restart.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/log.ts';
import { openStores } from '../../src/storage/open-stores.ts';
import { StoreUnavailableError } from '../../src/storage/ports.ts';
import { keys } from '../../src/storage/redis/redis-keys.ts';
import { Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { TcpProxy } from '../helpers/tcp-proxy.ts';

describe('a Redis failover behind one endpoint', function () {
  this.timeout(60_000);
  const primary = new RedisServer();
  const replica = new RedisServer();
  let proxy: TcpProxy;
  let toPrimary: Redis;
  let toReplica: Redis;
  const h = new Harness();

  before(async () => {
    await Promise.all([primary.start(), replica.start()]);
    toPrimary = new Redis(primary.url);
    toReplica = new Redis(replica.url);
    await toPrimary.config('SET', 'repl-diskless-sync-delay', '0'); // the replica syncs at once
    await toReplica.replicaof('127.0.0.1', primary.port);
    proxy = await new TcpProxy(primary.port).listen();
    await h.start({ REDIS_URL: proxy.redisUrl });
  });
  after(async () => {
    await h.stop();
    toPrimary.disconnect();
    toReplica.disconnect();
    await proxy.close();
    await Promise.all([primary.destroy(), replica.destroy()]);
  });

  it('answers the writes that reach the old primary 503, connects again and writes to the new one, with everything stored before', async () => {
    const before = await h.createApp({ name: 'Before Failover' });
    // The replica has it. (Not WAIT on this connection: it waits for this connection's own
    // writes, and it has made none, so it answered at once, before the app was replicated.)
    for (const until = performance.now() + 10_000; !(await toReplica.hexists(keys.apps, before.app_id)) && performance.now() < until; ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(await toReplica.hexists(keys.apps, before.app_id), 'replicated before the failover').to.equal(1);

    // The failover: the replica is promoted, the old primary follows it, the endpoint moves.
    await toReplica.replicaof('NO', 'ONE');
    await toPrimary.replicaof('127.0.0.1', replica.port);
    proxy.target = replica.port;

    const refused: number[] = [];
    let after: AppJson | undefined;
    // A deadline, not a count of attempts: on a busy machine connecting again takes longer.
    for (let i = 0, deadline = performance.now() + 10_000; !after && performance.now() < deadline; i++) {
      const res = await h.admin('POST', '/admin/apps', { name: `After Failover ${i}`, redirect_uris: [REDIRECT_URI] });
      if (res.status === 201) after = res.body as AppJson;
      else {
        refused.push(res.status);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // The write that met READONLY answered 503 (never a 500), as did any sent while the
    // connection was being made again (100 ms and more, longer on a busy machine); then a
    // write went through.
    expect(refused).to.have.length.at.least(1);
    expect(new Set(refused)).to.deep.equal(new Set([503]));
    if (!after) throw new Error(`no write went through after the failover: ${refused.join(', ')}`);
    expect((await h.admin('GET', `/admin/apps/${after.app_id}`)).status).to.equal(200);
    expect(await toReplica.hexists(keys.apps, after.app_id), 'written to the new primary').to.equal(1);
    // What was stored before the failover is served, and sign-in works end to end.
    expect((await h.admin('GET', `/admin/apps/${before.app_id}`)).status).to.equal(200);
    await h.signIn(before, 'after-failover@example.com');
    expect((await fetch(`${h.url}/readyz`)).status).to.equal(200);
  });

  it('refuses to start on a replica, saying so (the old primary now is one)', async () => {
    expect((await toPrimary.role())[0]).to.equal('slave');
    const failure = await openStores({ redisUrl: primary.url, mongodbUri: undefined, storeTimeoutMs: 2_000 }, createLogger('silent')).then(
      async (stores) => {
        await stores.close();
        return undefined;
      },
      (err: unknown) => err,
    );
    expect(failure).to.be.instanceOf(StoreUnavailableError);
    expect(String((failure as StoreUnavailableError).cause)).to.include('REDIS_URL names a read-only replica');
  });
});
