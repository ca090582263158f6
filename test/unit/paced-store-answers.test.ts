// The work after each store command takes turns under load shedding (Stores.pace, done by the
// guard of every network driver, src/storage/guard.ts, over src/http/turns.ts): answers handed
// over while the turn has room go on at once, the rest in later turns with the loop polling in
// between; failures and values pass through unchanged; unpaced, answers come at once. The
// stores here are the memory driver's under the same guard the Redis and MongoDB drivers use.
import { expect } from 'chai';
import type { LagSource } from '../../src/http/event-loop-lag.ts';
import { Turns } from '../../src/http/turns.ts';
import { guardStores, StoreProbe } from '../../src/storage/guard.ts';
import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import type { Stores } from '../../src/storage/ports.ts';
import { holdEventLoop } from '../helpers/hold-event-loop.ts';

const BUDGET_MS = 5;
const noLag: LagSource = { lagMs: () => 0 };
const turns = () => new Turns({ budgetMs: BUDGET_MS, maxWaitMs: 200, maxLagMs: 200, lag: noLag });

/** Guarded stores whose answers take `t`'s turns (none: unpaced). */
function pacedStores(t: Turns | undefined): Stores {
  const stores = guardStores('test', openMemoryStores(), new StoreProbe());
  stores.pace(t && (() => t.resume()));
  return stores;
}

describe('stores paced by turns', () => {
  it('hand every answer over at once when load shedding is off, even with a turn used up', async () => {
    const t = turns();
    const stores = pacedStores(undefined);
    t.admit();
    holdEventLoop(BUDGET_MS + 1);
    let done = 0;
    const reads = Array.from({ length: 6 }, () => stores.apps.get('absent').then(() => done++));
    const seenBetween: number[] = [];
    const probe = setImmediate(() => seenBetween.push(done));
    await Promise.all(reads);
    clearImmediate(probe);
    expect(done).to.equal(6);
    expect(seenBetween, 'no turn passed before every answer was handed over').to.deep.equal([]);
  });

  it('hand over every answer, and every failure, as the stores gave them', async () => {
    const stores = pacedStores(turns());
    await stores.oidc.upsert('app', 'Session', 's1', { accountId: 'a' }, 60);
    expect(await stores.oidc.find('app', 'Session', 's1')).to.deep.include({ accountId: 'a' });
    expect(await stores.apps.get('absent')).to.equal(undefined);
    expect(stores.kind).to.equal('memory');
    expect(await stores.ping()).to.equal(undefined);
    // A failure is the store's own, handed over at once.
    const unpaced = await pacedStores(undefined).apps.insert(undefined as never).then(() => undefined, (err: unknown) => err);
    const paced = await stores.apps.insert(undefined as never).then(() => undefined, (err: unknown) => err);
    expect(unpaced).to.be.instanceOf(Error);
    expect(paced).to.be.instanceOf((unpaced as Error).constructor);
    expect((paced as Error).message).to.equal((unpaced as Error).message);
  });

  it('go on with at most a budget of work per turn once the turn is used up, letting the loop poll in between', async () => {
    const t = turns();
    const stores = pacedStores(t);
    t.admit(); // this turn's first expensive work
    holdEventLoop(BUDGET_MS + 1);
    let done = 0;
    const reads = Array.from({ length: 6 }, (_, i) =>
      stores.apps.get(`app-${i}`).then(() => {
        done++;
        holdEventLoop(BUDGET_MS / 2); // each caller's work after its answer
      }),
    );
    const seenBetween: number[] = [];
    const probe = setInterval(() => seenBetween.push(done), 0);
    await Promise.all(reads);
    clearInterval(probe);
    expect(done).to.equal(6);
    expect(seenBetween.some((n) => n < 6), `answers handed over, seen between turns: ${seenBetween}`).to.equal(true);
  });
});
