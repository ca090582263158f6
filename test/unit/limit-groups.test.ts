// A group of rate-limit hits (a link request's four narrow limits, then its app-wide one):
// the group's last hit counts only when every hit before it was within its limit. The same
// on every backend; on Redis a group asked for in one turn is one script call.
import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { StoreProbe } from '../../src/storage/guard.ts';
import { LimitGroup, type RateLimiter } from '../../src/storage/ports.ts';
import { rateLimiterFactory } from '../../src/storage/rate-limiters.ts';
import { RedisServer } from '../helpers/redis-server.ts';

type Limiters = ReturnType<typeof rateLimiterFactory>;

/** One request's group: a hit of `narrow` for `key`, then `last` for `lastKey`. */
async function request(narrow: RateLimiter, key: string, last: RateLimiter, lastKey: string): Promise<[boolean, boolean]> {
  const group = new LimitGroup();
  const first = narrow.hit(key, { group });
  const second = last.hit(lastKey, { group, last: true });
  return Promise.all([first, second]);
}

for (const kind of ['memory', 'redis'] as const) {
  describe(`rate-limit groups (${kind})`, () => {
    const server = new RedisServer();
    let client: Redis | undefined;
    let limiters: Limiters;
    before(async () => {
      if (kind === 'redis') {
        await server.start();
        client = new Redis(server.url);
      }
      limiters = rateLimiterFactory(client ? { kind: 'redis', client, probe: new StoreProbe() } : { kind: 'memory' });
    });
    after(async () => {
      client?.disconnect();
      if (kind === 'redis') await server.destroy();
    });

    /** Limiters with names of their own, so tests share no counters. */
    const fresh = (points: number) => limiters(`group-test-${randomUUID()}`, points, 60);

    it('counts the last hit when the others let the request through, and refuses it over its own limit', async () => {
      const [narrow, appWide] = [fresh(10), fresh(2)];
      expect(await request(narrow, 'a', appWide, 'app')).to.deep.equal([true, true]);
      expect(await request(narrow, 'b', appWide, 'app')).to.deep.equal([true, true]);
      expect(await appWide.exhausted('app')).to.equal(true);
      expect(await request(narrow, 'c', appWide, 'app')).to.deep.equal([true, false]);
    });

    it('counts nothing against the last limit while another hit of the group is refused', async () => {
      const [narrow, appWide] = [fresh(1), fresh(2)];
      expect(await request(narrow, 'flood', appWide, 'app')).to.deep.equal([true, true]);
      // One network floods: refused by its own limit, it never spends the app-wide budget.
      for (let i = 0; i < 5; i++) expect(await request(narrow, 'flood', appWide, 'app')).to.deep.equal([false, true]);
      expect(await appWide.exhausted('app')).to.equal(false);
      expect(await request(narrow, 'someone-else', appWide, 'app')).to.deep.equal([true, true]);
      expect(await request(narrow, 'a-third', appWide, 'app')).to.deep.equal([true, false]);
    });

    it('in a parallel burst of one key, counts the last hit only for the one request let through', async () => {
      const [narrow, appWide] = [fresh(1), fresh(2)];
      const answers = await Promise.all(Array.from({ length: 20 }, () => request(narrow, 'burst', appWide, 'app')));
      expect(answers.filter(([within]) => within)).to.have.length(1);
      expect(answers.every(([, lastWithin]) => lastWithin)).to.equal(true);
      expect(await request(narrow, 'fresh', appWide, 'app')).to.deep.equal([true, true]);
      expect(await appWide.exhausted('app')).to.equal(true);
    });

    it('waits for the others when the last hit is asked for after them, in a later turn', async () => {
      const [narrow, appWide] = [fresh(1), fresh(5)];
      for (const expected of [[true, true], [false, true]]) {
        const group = new LimitGroup();
        const first = await narrow.hit('late', { group });
        expect([first, await appWide.hit('app', { group, last: true })]).to.deep.equal(expected);
      }
      expect(await appWide.exhausted('app')).to.equal(false);
      expect(await request(fresh(1), 'x', appWide, 'app')).to.deep.equal([true, true]);
    });

    if (kind === 'redis') {
      it('sends a group asked for in one turn, its last hit included, as one script call', async () => {
        const calls = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await client!.info('commandstats'))?.[1] ?? 0) + Number(/cmdstat_eval:calls=(\d+)/.exec(await client!.info('commandstats'))?.[1] ?? 0);
        const limits = [fresh(5), fresh(5), fresh(5), fresh(5)];
        const appWide = fresh(5);
        await request(limits[0]!, 'warm', appWide, 'warm'); // the script is loaded once per connection
        const before = await calls();
        const group = new LimitGroup();
        const answers = await Promise.all([...limits.map((limiter) => limiter.hit('k', { group })), appWide.hit('app', { group, last: true })]);
        expect(answers).to.deep.equal([true, true, true, true, true]);
        expect((await calls()) - before).to.equal(1);
      });
    }
  });
}
