// The memory store's indexes: every look-up goes through one, so they must follow the
// documents exactly: an expired or replaced document is never found through a stale entry,
// and entries go with their documents (the maps shrink back to nothing).
import { expect } from 'chai';
import { MemoryOidcStore } from '../../src/storage/memory/memory-oidc-store.ts';
import { ManualClock } from './store-time.ts';

const APP = 'app-1';
const EMPTY = { docs: 0, uid: 0, userCode: 0, grant: 0, account: 0 };

describe('memory store indexes', () => {
  let clock: ManualClock;
  let store: MemoryOidcStore;
  const sizes = () => store.apps.get(APP)!.sizes();

  beforeEach(() => {
    clock = new ManualClock();
    store = new MemoryOidcStore(clock);
  });

  it('finds an expired document through no index, and drops its entries when it is read', async () => {
    await store.upsert(APP, 'Session', 's1', { uid: 'u1', accountId: 'a@example.com' }, 10);
    await store.upsert(APP, 'DeviceCode', 'd1', { userCode: 'UC-1', grantId: 'g1' }, 10);
    clock.advance(10_000);
    expect(await store.findByUid(APP, 'Session', 'u1')).to.equal(undefined);
    expect(await store.findByUserCode(APP, 'DeviceCode', 'UC-1')).to.equal(undefined);
    expect(await store.destroyByAccount(APP, 'a@example.com')).to.deep.equal({ grants: 0, sessions: [], tokens: 0 });
    await store.revokeByGrantId(APP, 'DeviceCode', 'g1');
    expect(sizes()).to.deep.equal(EMPTY);
  });

  it('shrinks back to nothing after a sweep of many expired documents', async () => {
    for (let i = 0; i < 1000; i++) {
      await store.upsert(APP, 'RefreshToken', `rt${i}`, { grantId: `g${i % 10}`, accountId: `a${i % 7}@example.com` }, 60);
      await store.upsert(APP, 'Session', `s${i}`, { uid: `u${i}`, accountId: `a${i % 7}@example.com` }, 60);
    }
    expect(sizes()).to.deep.equal({ docs: 2000, uid: 1000, userCode: 0, grant: 10, account: 7 });
    clock.advance(60_000);
    store.apps.get(APP)!.sweep();
    expect(sizes()).to.deep.equal(EMPTY);
  });

  it('drops the entries of destroyed, revoked and signed-out documents', async () => {
    await store.upsert(APP, 'Session', 's1', { uid: 'u1', accountId: 'a@example.com' }, 60);
    await store.upsert(APP, 'Grant', 'g1', { accountId: 'a@example.com' }, 60);
    await store.upsert(APP, 'AccessToken', 'at1', { grantId: 'g1' }, 60);
    await store.upsert(APP, 'RefreshToken', 'rt1', { grantId: 'g2', accountId: 'b@example.com' }, 60);
    await store.destroy(APP, 'RefreshToken', 'rt1');
    expect(sizes()).to.deep.equal({ docs: 3, uid: 1, userCode: 0, grant: 1, account: 1 });
    const removed = await store.destroyByAccount(APP, 'a@example.com');
    expect(removed.grants).to.equal(1);
    expect(removed.tokens).to.equal(1);
    expect(removed.sessions.map((s) => s.id)).to.deep.equal(['s1']);
    expect(sizes()).to.deep.equal(EMPTY);
  });

  it('gives every reader its own copy: changing what was read changes nothing stored', async () => {
    await store.upsert(APP, 'Session', 's1', { uid: 'u1', authorizations: { c: { sid: 'x' } } }, 60);
    const read = (await store.find(APP, 'Session', 's1'))!;
    (read['authorizations'] as Record<string, unknown>)['c'] = 'changed';
    expect(await store.findByUid(APP, 'Session', 'u1')).to.deep.equal({ uid: 'u1', authorizations: { c: { sid: 'x' } } });
  });
});
