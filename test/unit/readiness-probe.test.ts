// Readiness from a background probe (src/http/readiness-probe.ts): /readyz reads the last
// ping's result without waiting; one ping at a time, whatever the number of reads; a failed
// or stuck ping is not ready; closed at shutdown. The pings here are plain functions that
// answer, fail or hang as a store would; the Redis and frozen-Redis cases are in
// test/e2e/readiness-connection.test.ts and test/e2e/stalled-store.test.ts.
import { expect } from 'chai';
import { PROBE_INTERVAL_MS, ReadinessProbe } from '../../src/http/readiness-probe.ts';
import { PING_DEADLINE_MS, StoreUnavailableError } from '../../src/storage/ports.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A store's ping whose answer the test decides, counting the pings it was sent. */
class Store {
  pings = 0;
  answer: () => Promise<void> = async () => {};
  /** What Stores.unreachable says: a store known down without a ping. */
  down: string | undefined;
  readonly unreachable = () => this.down;
  readonly ping = () => {
    this.pings++;
    return this.answer();
  };
}

describe('the readiness probe', () => {
  const probes: ReadinessProbe[] = [];
  const probe = (store: Store) => {
    const p = new ReadinessProbe({ ping: store.ping, unreachable: store.unreachable, storage: 'redis' });
    probes.push(p);
    return p;
  };
  afterEach(() => probes.splice(0).forEach((p) => p.close()));

  it('is ready once the first ping answers, and then answers every read at once, without a promise', async () => {
    const store = new Store();
    const p = probe(store);
    expect(await p.current()).to.deep.equal({ ready: true });
    for (let i = 0; i < 100; i++) expect(p.current()).to.deep.equal({ ready: true });
  });

  it('sends one ping for a flood of parallel reads, and one at a time afterwards', async () => {
    const store = new Store();
    const p = probe(store);
    const first = await Promise.all(Array.from({ length: 500 }, () => p.current()));
    expect(first.every((r) => r.ready)).to.equal(true);
    expect(store.pings, 'pings for the first 500 reads').to.equal(1);
    const before = store.pings;
    for (let i = 0; i < 1000; i++) p.current();
    expect(store.pings, 'pings for 1,000 more reads').to.equal(before);
  });

  it('is not ready, on the read after it, while a store is known down, however recent the last good ping', async () => {
    const store = new Store();
    const p = probe(store);
    expect(await p.current()).to.deep.equal({ ready: true });
    store.down = 'redis';
    expect(p.current(), 'the command connection dropped after the last ping').to.deep.equal({ ready: false, unavailable: 'redis' });
    store.down = undefined;
    expect(p.current()).to.deep.equal({ ready: true });
  });

  it('reports the store a failed ping names, and is ready again with the next ping that answers', async () => {
    const store = new Store();
    store.answer = () => Promise.reject(new StoreUnavailableError('mongodb'));
    const p = probe(store);
    expect(await p.current()).to.deep.equal({ ready: false, unavailable: 'mongodb' });
    store.answer = () => Promise.reject(new Error('socket closed'));
    while ((p.current() as { unavailable?: string }).unavailable === 'mongodb') await sleep(PROBE_INTERVAL_MS / 2);
    expect(p.current(), 'an error naming no store').to.deep.equal({ ready: false, unavailable: 'redis' });
    store.answer = async () => {};
    while (!(p.current() as { ready: boolean }).ready) await sleep(PROBE_INTERVAL_MS / 2);
    expect(p.current()).to.deep.equal({ ready: true });
  });

  it('is not ready while a ping is stuck past the deadline, before it ever answers', async function () {
    this.timeout(10_000);
    const store = new Store();
    const p = probe(store);
    await p.current();
    let release = () => {};
    store.answer = () => new Promise<void>((resolve) => (release = resolve));
    const pingsBefore = store.pings;
    while (store.pings === pingsBefore) await sleep(PROBE_INTERVAL_MS / 2);
    expect(p.current(), 'a ping under way is no failure').to.deep.equal({ ready: true });
    await sleep(PING_DEADLINE_MS + PROBE_INTERVAL_MS);
    expect(p.current()).to.deep.equal({ ready: false, unavailable: 'redis' });
    release();
  });

  it('stops pinging at close, and reads as not ready from then on', async () => {
    const store = new Store();
    const p = probe(store);
    await p.current();
    p.close();
    const pings = store.pings;
    await sleep(3 * PROBE_INTERVAL_MS);
    expect(store.pings).to.equal(pings);
    expect(p.current()).to.deep.equal({ ready: false, unavailable: 'redis' });
    const never = probe(new Store());
    never.close();
    expect(await never.current(), 'closed before the first read').to.deep.equal({ ready: false, unavailable: 'redis' });
  });
});
