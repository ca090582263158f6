// The work after each store command takes turns under load shedding (src/http/paced-stores.ts
// over src/http/turns.ts): on real (memory) stores, answers handed over while the turn has
// room go on at once, the rest in later turns with the loop polling in between; failures
// and values pass through unchanged; without turns the stores are left as they are.
import { expect } from 'chai';
import type { LagSource } from '../../src/http/event-loop-lag.ts';
import { pacedStores } from '../../src/http/paced-stores.ts';
import { Turns } from '../../src/http/turns.ts';
import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import { holdEventLoop } from '../helpers/hold-event-loop.ts';

const BUDGET_MS = 5;
const noLag: LagSource = { lagMs: () => 0 };
const turns = () => new Turns({ budgetMs: BUDGET_MS, maxWaitMs: 200, maxLagMs: 200, lag: noLag });

describe('stores paced by turns', () => {
  it('are the stores themselves when load shedding is off', () => {
    const stores = openMemoryStores();
    expect(pacedStores(stores, undefined)).to.equal(stores);
  });

  it('hand over every answer, and every failure, as the stores gave them', async () => {
    const stores = pacedStores(openMemoryStores(), turns());
    await stores.oidc.upsert('app', 'Session', 's1', { accountId: 'a' }, 60);
    expect(await stores.oidc.find('app', 'Session', 's1')).to.deep.include({ accountId: 'a' });
    expect(await stores.apps.get('absent')).to.equal(undefined);
    expect(stores.kind).to.equal('memory');
    expect(await stores.ping()).to.equal(undefined);
    // A failure is the store's own, handed over at once.
    const unpaced = await openMemoryStores().apps.insert(undefined as never).then(() => undefined, (err: unknown) => err);
    const paced = await stores.apps.insert(undefined as never).then(() => undefined, (err: unknown) => err);
    expect(unpaced).to.be.instanceOf(Error);
    expect(paced).to.be.instanceOf((unpaced as Error).constructor);
    expect((paced as Error).message).to.equal((unpaced as Error).message);
  });

  it('go on with at most a budget of work per turn once the turn is used up, letting the loop poll in between', async () => {
    const t = turns();
    const stores = pacedStores(openMemoryStores(), t);
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
