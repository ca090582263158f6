// The store guard (src/storage/guard.ts): every command timed and reported, a driver's
// failure turned into StoreUnavailableError, a duplicate passed through; one wrapper per
// method, whatever the number of commands.
import { expect } from 'chai';
import { guard, StoreProbe } from '../../src/storage/guard.ts';
import { DuplicateError, StoreUnavailableError } from '../../src/storage/ports.ts';

class Driver {
  readonly calls: string[] = [];
  async find(id: string) {
    this.calls.push(id);
    return { id, from: this.calls.length };
  }
  async fail(): Promise<never> {
    throw new Error('ECONNREFUSED');
  }
  async duplicate(): Promise<never> {
    throw new DuplicateError('taken');
  }
}

describe('store guard', () => {
  const setUp = () => {
    const probe = new StoreProbe();
    const seen: { store: string; port: string; failed: boolean }[] = [];
    probe.observer = { command: (store, port, seconds, failed) => (expect(seconds).to.be.at.least(0), seen.push({ store, port, failed })) } as StoreProbe['observer'];
    const driver = new Driver();
    return { driver, seen, store: guard('redis', driver, probe, 'oidc') };
  };

  it('calls the driver with its own `this` and reports every command', async () => {
    const { driver, seen, store } = setUp();
    expect(await store.find('a')).to.deep.equal({ id: 'a', from: 1 });
    expect(await Promise.all([store.find('b'), store.find('c')])).to.deep.equal([{ id: 'b', from: 2 }, { id: 'c', from: 3 }]);
    expect(driver.calls).to.deep.equal(['a', 'b', 'c']);
    expect(seen).to.deep.equal(Array(3).fill({ store: 'redis', port: 'oidc', failed: false }));
  });

  it('makes one wrapper per method, not one per command', () => {
    const { store } = setUp();
    expect(store.find).to.equal(store.find);
    expect(store.find).not.to.equal(store.fail);
    expect(store.calls).to.be.an('array');
  });

  it('turns a driver failure into StoreUnavailableError and lets a duplicate through, reporting both', async () => {
    const { seen, store } = setUp();
    const outage = await store.fail().catch((err: unknown) => err);
    expect(outage).to.be.instanceOf(StoreUnavailableError);
    expect((outage as StoreUnavailableError).store).to.equal('redis');
    expect(await store.duplicate().catch((err: unknown) => err)).to.be.instanceOf(DuplicateError);
    expect(seen.map((s) => s.failed)).to.deep.equal([true, false]);
  });
});
