// One contract for every storage implementation: the same tests run against memory,
// Redis and (when MONGODB_URI is set) MongoDB. A store is correct when this passes.
import { allApps } from '../helpers/all-apps.ts';
import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import { SealedOidcStore } from '../../src/keys/sealed-oidc-store.ts';
import { appCursorOf, DuplicateError, INSTANCE_TRAIL, type AppRecord, type AuditRecord, type MagicLinkRecord, type Stores } from '../../src/storage/ports.ts';
import { until, type StoreTime } from './store-time.ts';

function app(overrides: Partial<AppRecord> = {}): AppRecord {
  const now = Date.now();
  return {
    id: randomUUID(),
    name: 'Contract App',
    redirectUris: ['https://app.example/cb'],
    postLogoutRedirectUris: [],
    tokenEndpointAuthMethod: 'none',
    encryptedClientSecret: undefined,
    settings: { id_token_ttl: 1800, magic_link_ttl: 900, refresh_token_idle_ttl: 604800, refresh_token_max_ttl: 7776000 },
    keys: [{ kid: randomUUID(), alg: 'ES512', createdAt: now, publicJwk: { kty: 'EC', crv: 'P-521', x: 'x', y: 'y' }, encryptedPrivateJwk: 'v1.a.b.c' }],
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}

function link(appId: string, overrides: Partial<MagicLinkRecord> = {}): MagicLinkRecord {
  const now = Math.floor(Date.now() / 1000);
  return {
    hash: randomUUID().replace(/-/g, ''),
    shortCodeHash: randomUUID().replace(/-/g, ''),
    appId,
    interactionUid: randomUUID(),
    email: 'contract@example.com',
    clientId: appId,
    createdAt: now,
    expiresAt: now + 900,
    ...overrides,
  };
}

const KEK = randomBytes(32);

/**
 * `time` lets record lifetimes run out the way the driver allows (see store-time.ts);
 * `atRest` reads everything the driver holds, keys and values, as one text; undefined for
 * a driver with no rest (memory: Postern keeps its engine documents unsealed, compose.ts).
 */
export function storeContract(name: string, open: () => Promise<Stores>, time: StoreTime, atRest: ((stores: Stores) => Promise<string>) | undefined): void {
  describe(`storage contract: ${name}`, function () {
    this.timeout(20_000);
    let stores: Stores;
    let appId: string;
    let otherApp: string;

    before(async () => {
      stores = await open();
    });
    after(async () => {
      await stores?.close();
    });
    beforeEach(() => {
      appId = randomUUID();
      otherApp = randomUUID();
    });

    it('is reachable', async () => {
      await stores.ping();
    });

    describe('apps', () => {
      it('inserts, reads, lists, replaces and deletes, preserving every field', async () => {
        const record = app({ encryptedClientSecret: 'v1.secret' });
        await stores.apps.insert(record);
        expect(await stores.apps.get(record.id)).to.deep.equal(record);
        expect((await allApps(stores.apps)).map((a) => a.id)).to.include(record.id);
        const changed = { ...record, name: 'Renamed', updatedAt: record.updatedAt + 1 };
        expect(await stores.apps.replace(changed)).to.equal(true);
        expect(await stores.apps.get(record.id)).to.deep.equal(changed);
        expect(await stores.apps.delete(record.id, 1_000)).to.equal(true);
        expect(await stores.apps.get(record.id)).to.equal(undefined);
        expect(await stores.apps.delete(record.id, 2_000)).to.equal(false);
      });

      it('deletes only the version named, when one is (compare-and-delete): a changed record stays, with no mark', async () => {
        const record = app();
        await stores.apps.insert(record);
        const changed = { ...record, name: 'Changed', updatedAt: record.updatedAt + 5 };
        expect(await stores.apps.replace(changed, record.updatedAt)).to.equal(true);
        expect(await stores.apps.delete(record.id, 1_000, record.updatedAt)).to.equal(false);
        expect((await stores.apps.get(record.id))?.name).to.equal('Changed');
        expect(await stores.apps.deletion(record.id)).to.equal(undefined);
        expect(await stores.apps.delete(record.id, 1_000, changed.updatedAt)).to.equal(true);
        expect(await stores.apps.get(record.id)).to.equal(undefined);
        expect(await stores.apps.deletion(record.id)).to.deep.equal({ id: record.id, deletedAt: 1_000 });
      });

      it('leaves a deletion mark in the same step as it takes an app out of every read, until it is forgotten', async () => {
        const [doomed, other] = [app(), app()];
        await stores.apps.insert(doomed);
        await stores.apps.insert(other);
        expect(await stores.apps.deletion(doomed.id)).to.equal(undefined);
        const at = Date.now();
        expect(await stores.apps.delete(doomed.id, at)).to.equal(true);
        expect(await stores.apps.deletion(doomed.id)).to.deep.equal({ id: doomed.id, deletedAt: at });
        // Out of every read, and a writer that read it before cannot bring it back.
        expect(await stores.apps.get(doomed.id)).to.equal(undefined);
        expect((await allApps(stores.apps)).map((a) => a.id)).not.to.include(doomed.id);
        expect(await stores.apps.replace({ ...doomed, name: 'Back' })).to.equal(false);
        expect(await stores.apps.replace({ ...doomed, name: 'Back', updatedAt: doomed.updatedAt + 1 }, doomed.updatedAt)).to.equal(false);
        expect(await stores.apps.get(doomed.id)).to.equal(undefined);
        expect(await stores.apps.deletion(other.id)).to.equal(undefined);
        // A second delete of the same app changes nothing: the first mark's time stays.
        expect(await stores.apps.delete(doomed.id, at + 5)).to.equal(false);
        expect((await stores.apps.deletion(doomed.id))?.deletedAt).to.equal(at);
        // Purges are noted on the mark, the latest one kept: a slower purge that began earlier
        // and finished later does not take the note back (it would cost one more purge).
        await stores.apps.purged(doomed.id, at + 10);
        await stores.apps.purged(doomed.id, at + 20);
        await stores.apps.purged(doomed.id, at + 15);
        expect(await stores.apps.deletion(doomed.id)).to.deep.equal({ id: doomed.id, deletedAt: at, purgedAt: at + 20 });
        expect((await stores.apps.deletions(1000)).find((m) => m.id === doomed.id)).to.deep.equal({ id: doomed.id, deletedAt: at, purgedAt: at + 20 });
        expect(await stores.apps.deletion(other.id)).to.equal(undefined);
        // The id stays taken while it is marked: a purge would take a new app's data with it.
        const reinserted = await stores.apps.insert(doomed).then(() => undefined, (err: unknown) => err);
        expect(reinserted).to.be.instanceOf(DuplicateError);
        expect(await stores.apps.get(doomed.id)).to.equal(undefined);
        await stores.apps.forget(doomed.id);
        expect(await stores.apps.deletion(doomed.id)).to.equal(undefined);
        // A purge finishing after the mark was forgotten notes nothing, and brings back no mark.
        await stores.apps.purged(doomed.id, at + 30);
        expect(await stores.apps.deletion(doomed.id)).to.equal(undefined);
        await stores.apps.purged(other.id, at + 30); // nor makes one for a live app
        expect(await stores.apps.deletion(other.id)).to.equal(undefined);
        expect((await stores.apps.get(other.id))?.id).to.equal(other.id);
        await stores.apps.forget(doomed.id); // forgetting twice is fine
      });

      it('lists deletion marks oldest first, up to the limit, and forgets only the one named', async () => {
        const base = Date.now() - 10_000_000;
        const records = Array.from({ length: 4 }, () => app());
        for (const r of records) await stores.apps.insert(r);
        // Deleted out of order: the list follows the times.
        for (const i of [2, 0, 3, 1]) await stores.apps.delete(records[i]!.id, base + i);
        const mine = (marks: { id: string }[]) => marks.map((m) => m.id).filter((id) => records.some((r) => r.id === id));
        const all = await stores.apps.deletions(1000);
        expect(mine(all)).to.deep.equal(records.map((r) => r.id));
        expect(all.find((m) => m.id === records[3]!.id)?.deletedAt).to.equal(base + 3);
        const times = all.map((m) => m.deletedAt);
        expect(times).to.deep.equal([...times].sort((a, b) => a - b));
        expect((await stores.apps.deletions(2)).length).to.equal(2);
        await stores.apps.forget(records[1]!.id);
        expect(mine(await stores.apps.deletions(1000))).to.deep.equal([0, 2, 3].map((i) => records[i]!.id));
        for (const i of [0, 2, 3]) await stores.apps.forget(records[i]!.id);
        expect(mine(await stores.apps.deletions(1000))).to.deep.equal([]);
      });

      it('pages through deletion marks after a given one: every mark once, those of one time by id, even past one forgotten since', async () => {
        const base = Date.now() - 20_000_000;
        const records = Array.from({ length: 5 }, () => app());
        for (const r of records) await stores.apps.insert(r);
        // Three deleted in the same millisecond: their ids order them.
        const times = [base, base + 1, base + 1, base + 1, base + 2];
        for (const [i, r] of records.entries()) await stores.apps.delete(r.id, times[i]!);
        const order = records
          .map((r, i) => ({ id: r.id, deletedAt: times[i]! }))
          .sort((a, b) => a.deletedAt - b.deletedAt || (a.id < b.id ? -1 : 1))
          .map((m) => m.id);
        const mine = (ids: string[]) => ids.filter((id) => order.includes(id));
        for (const limit of [1, 2, 3]) {
          const seen: string[] = [];
          for (let page = await stores.apps.deletions(limit); page.length > 0; page = await stores.apps.deletions(limit, page.at(-1))) {
            expect(page.length).to.be.at.most(limit);
            seen.push(...page.map((m) => m.id));
          }
          expect(new Set(seen).size, `pages of ${limit} repeat no mark`).to.equal(seen.length);
          expect(mine(seen), `pages of ${limit}`).to.deep.equal(order);
        }
        // After the middle one of the three, forgotten since: the two after it, none before.
        await stores.apps.forget(order[2]!);
        expect(mine((await stores.apps.deletions(1000, { id: order[2]!, deletedAt: base + 1 })).map((m) => m.id))).to.deep.equal(order.slice(3));
        for (const id of order) await stores.apps.forget(id);
      });

      it('refuses a duplicate id and does not replace a missing app', async () => {
        const record = app();
        await stores.apps.insert(record);
        let error: unknown;
        try {
          await stores.apps.insert({ ...record, name: 'Impostor' });
        } catch (err) {
          error = err;
        }
        expect(error).to.be.instanceOf(DuplicateError);
        expect((await stores.apps.get(record.id))?.name).to.equal('Contract App');
        expect(await stores.apps.replace(app())).to.equal(false);
      });

      it('compare-and-replaces on updatedAt: a stale writer loses, and of concurrent writers exactly one wins', async () => {
        const record = app({
          encryptedClientSecret: 'v1.secret',
          keys: [
            { kid: randomUUID(), alg: 'ES512', createdAt: 1, publicJwk: { kty: 'EC' }, encryptedPrivateJwk: 'v1.a.b.c', status: 'current', activatedAt: 2, maxTokenTtl: 1800 },
            { kid: randomUUID(), alg: 'ES512', createdAt: 1, publicJwk: { kty: 'EC' }, encryptedPrivateJwk: 'v1.d.e.f', status: 'previous', activatedAt: 1, maxTokenTtl: 60, retireAt: 3 },
            { kid: randomUUID(), alg: 'ES512', createdAt: 2, publicJwk: { kty: 'EC' }, encryptedPrivateJwk: 'v1.g.h.i', status: 'next' },
          ],
        });
        await stores.apps.insert(record);
        expect(await stores.apps.get(record.id)).to.deep.equal(record); // rotation fields survive
        const first = { ...record, name: 'First', updatedAt: record.updatedAt + 1 };
        expect(await stores.apps.replace(first, record.updatedAt)).to.equal(true);
        // A writer that read the record before `first` was written must not overwrite it.
        expect(await stores.apps.replace({ ...record, name: 'Stale', updatedAt: record.updatedAt + 2 }, record.updatedAt)).to.equal(false);
        expect((await stores.apps.get(record.id))?.name).to.equal('First');
        const racers = await Promise.all(
          Array.from({ length: 10 }, (_, i) => stores.apps.replace({ ...first, name: `Racer ${i}`, updatedAt: first.updatedAt + 1 }, first.updatedAt)),
        );
        expect(racers.filter(Boolean)).to.have.length(1);
        expect((await stores.apps.get(record.id))?.name).to.equal(`Racer ${racers.indexOf(true)}`);
        expect(await stores.apps.replace(app(), 0)).to.equal(false); // missing app
      });
    });

    describe('apps, a page at a time', () => {
      // Far in the future, each test later than the one before, so a test's apps are the
      // newest whatever else the store holds.
      let later = 9_000_000_000_000 + Math.floor(Math.random() * 1e11);
      const base = () => (later += 1e9);
      const mine = (all: AppRecord[], ids: Set<string>) => all.filter((a) => ids.has(a.id)).map((a) => a.id);
      const inOrder = (records: AppRecord[]) => [...records].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1)).map((a) => a.id);

      it('returns every app once, oldest first (ties by id), whatever the page size, with next exactly on pages that have a next', async () => {
        const at = base();
        // Three apps share each creation time; inserted at once, in no particular order.
        const records = Array.from({ length: 30 }, (_, i) => app({ createdAt: at + Math.floor(i / 3), updatedAt: at }));
        await Promise.all(records.map((r) => stores.apps.insert(r)));
        const ids = new Set(records.map((r) => r.id));
        for (const size of [1, 7, 30, 500]) expect(mine(await allApps(stores.apps, size), ids), `page size ${size}`).to.deep.equal(inOrder(records));
        // From just before the first of them: exactly one full page, and it is the last.
        const before = appCursorOf({ createdAt: at - 1, id: records[0]!.id });
        const page = await stores.apps.page(30, before);
        expect(page.apps.map((a) => a.id)).to.deep.equal(inOrder(records));
        expect(page.next).to.equal(undefined);
        const first = await stores.apps.page(29, before);
        expect(first.next).to.equal(appCursorOf(records.find((r) => r.id === inOrder(records)[28])!));
        expect((await stores.apps.page(29, first.next)).apps.map((a) => a.id)).to.deep.equal(inOrder(records).slice(29));
        // Records come back whole, keys and all, as a single read has them.
        expect(page.apps.find((a) => a.id === records[4]!.id)).to.deep.equal(await stores.apps.get(records[4]!.id));
      });

      it('drops a deleted app from the order, keeps a replaced one in its place, and answers an empty page after the last', async () => {
        const at = base();
        const records = Array.from({ length: 5 }, (_, i) => app({ createdAt: at + i, updatedAt: at }));
        for (const r of records) await stores.apps.insert(r);
        expect(await stores.apps.delete(records[1]!.id, at)).to.equal(true);
        expect(await stores.apps.replace({ ...records[3]!, name: 'Renamed', updatedAt: at + 10 }, at)).to.equal(true);
        const page = await stores.apps.page(10, appCursorOf({ createdAt: at - 1, id: records[0]!.id }));
        expect(page.apps.map((a) => a.id)).to.deep.equal([0, 2, 3, 4].map((i) => records[i]!.id));
        expect(page.apps[2]!.name).to.equal('Renamed');
        expect(await stores.apps.page(10, appCursorOf(records[4]!))).to.deep.equal({ apps: [], next: undefined });
        // A cursor that names a deleted app still says where to go on from.
        expect((await stores.apps.page(1, appCursorOf(records[1]!))).apps[0]!.id).to.equal(records[2]!.id);
      });
    });

    describe('accounts', () => {
      it('creates an account at the first login and keeps its creation time', async () => {
        expect(await stores.accounts.find(appId, 'a@example.com')).to.equal(undefined);
        const first = await stores.accounts.recordLogin(appId, 'a@example.com', 1000);
        expect(first).to.deep.equal({ email: 'a@example.com', createdAt: 1000, lastLoginAt: 1000 });
        const second = await stores.accounts.recordLogin(appId, 'a@example.com', 2000);
        expect(second).to.deep.equal({ email: 'a@example.com', createdAt: 1000, lastLoginAt: 2000 });
        expect(await stores.accounts.find(appId, 'a@example.com')).to.deep.equal(second);
        expect(await stores.accounts.find(otherApp, 'a@example.com')).to.equal(undefined);
      });
    });

    describe('magic links', () => {
      it('stores a record, uses it once and reports the state before', async () => {
        const record = link(appId);
        await stores.magicLinks.save(record, 60);
        const uid = record.interactionUid;
        expect(await stores.magicLinks.find(appId, record.hash)).to.deep.equal(record);
        expect(await stores.magicLinks.find(otherApp, record.hash)).to.equal(undefined);
        // Another attempt's confirmation, or another app's, never uses it.
        expect(await stores.magicLinks.useCurrent(appId, record.hash, 'another-attempt', 5)).to.deep.equal({ record, superseded: false, used: false });
        expect(await stores.magicLinks.useCurrent(otherApp, record.hash, uid, 5)).to.equal(undefined);
        expect(await stores.magicLinks.useCurrent(appId, record.hash, uid, 5)).to.deep.equal({ record, superseded: false, used: true });
        expect(await stores.magicLinks.useCurrent(appId, record.hash, uid, 6)).to.deep.equal({ record: { ...record, usedAt: 5 }, superseded: false, used: false });
        expect(await stores.magicLinks.find(appId, record.hash)).to.deep.equal({ ...record, usedAt: 5 });
        expect(await stores.magicLinks.useCurrent(appId, 'missing', uid, 7)).to.equal(undefined);
      });

      it('uses neither an expired link nor one a later link of its attempt replaced', async () => {
        const expired = link(appId, { expiresAt: 1000 });
        await stores.magicLinks.save(expired, 60);
        expect(await stores.magicLinks.useCurrent(appId, expired.hash, expired.interactionUid, 1000)).to.deep.equal({ record: expired, superseded: false, used: false });
        expect(await stores.magicLinks.useCurrent(appId, expired.hash, expired.interactionUid, 999)).to.deep.equal({ record: expired, superseded: false, used: true });
        const first = link(appId);
        const second = link(appId, { interactionUid: first.interactionUid });
        await stores.magicLinks.save(first, 60);
        await stores.magicLinks.save(second, 60);
        expect(await stores.magicLinks.useCurrent(appId, first.hash, first.interactionUid, 5)).to.deep.equal({ record: first, superseded: true, used: false });
        expect(await stores.magicLinks.find(appId, first.hash)).to.deep.equal(first);
        expect(await stores.magicLinks.useCurrent(appId, second.hash, first.interactionUid, 5)).to.deep.equal({ record: second, superseded: false, used: true });
      });

      it('lets exactly one of 20 concurrent confirmations use a link', async () => {
        const record = link(appId);
        await stores.magicLinks.save(record, 60);
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => stores.magicLinks.useCurrent(appId, record.hash, record.interactionUid, 100 + i)));
        expect(results.filter((r) => r?.used)).to.have.length(1);
        expect(results.filter((r) => r && !r.used && r.record.usedAt !== undefined && r.record.usedAt >= 100)).to.have.length(19);
      });

      it('knows the latest link of a login attempt', async () => {
        const first = link(appId);
        await stores.magicLinks.save(first, 60);
        expect(await stores.magicLinks.latestForAttempt(appId, first.interactionUid)).to.deep.equal(first);
        const second = link(appId, { interactionUid: first.interactionUid });
        await stores.magicLinks.save(second, 60);
        expect(await stores.magicLinks.latestForAttempt(appId, first.interactionUid)).to.deep.equal(second);
        expect(await stores.magicLinks.find(appId, first.hash)).to.deep.equal(first);
        expect(await stores.magicLinks.latestForAttempt(otherApp, first.interactionUid)).to.equal(undefined);
      });

      it('finds a link with whether a later link of its attempt replaced it', async () => {
        const first = link(appId);
        await stores.magicLinks.save(first, 60);
        expect(await stores.magicLinks.findWithSuccessor(appId, first.hash)).to.deep.equal({ record: first, superseded: false });
        const second = link(appId, { interactionUid: first.interactionUid });
        await stores.magicLinks.save(second, 60);
        expect(await stores.magicLinks.findWithSuccessor(appId, first.hash)).to.deep.equal({ record: first, superseded: true });
        expect(await stores.magicLinks.findWithSuccessor(appId, second.hash)).to.deep.equal({ record: second, superseded: false });
        // Used and counted links keep those fields; another attempt's link is not a successor.
        await stores.magicLinks.useCurrent(appId, second.hash, second.interactionUid, 7);
        await stores.magicLinks.takeAttempt(appId, second.hash, 5);
        await stores.magicLinks.save(link(appId), 60);
        expect(await stores.magicLinks.findWithSuccessor(appId, second.hash)).to.deep.equal({ record: { ...second, usedAt: 7, attempts: 1 }, superseded: false });
        expect(await stores.magicLinks.findWithSuccessor(otherApp, first.hash)).to.equal(undefined);
        expect(await stores.magicLinks.findWithSuccessor(appId, 'no-such-hash')).to.equal(undefined);
      });

      it('lets exactly 5 of 20 concurrent short-code attempts through, numbered 1 to 5', async () => {
        const record = link(appId);
        await stores.magicLinks.save(record, 60);
        const taken = await Promise.all(Array.from({ length: 20 }, () => stores.magicLinks.takeAttempt(appId, record.hash, 5)));
        expect(taken.filter((n) => n > 0).sort((a, b) => a - b)).to.deep.equal([1, 2, 3, 4, 5]);
        expect(taken.filter((n) => n === 0)).to.have.length(15);
        // Refused attempts are not counted: the record says 5, not 20.
        expect((await stores.magicLinks.find(appId, record.hash))?.attempts).to.equal(5);
        expect(await stores.magicLinks.takeAttempt(appId, record.hash, 5)).to.equal(0);
      });

      it('takes attempts per link, and none of a missing link or another app', async () => {
        const record = link(appId);
        const other = link(appId, { interactionUid: record.interactionUid });
        await stores.magicLinks.save(record, 60);
        await stores.magicLinks.save(other, 60);
        expect(await stores.magicLinks.takeAttempt(appId, record.hash, 2)).to.equal(1);
        expect(await stores.magicLinks.takeAttempt(appId, record.hash, 2)).to.equal(2);
        expect(await stores.magicLinks.takeAttempt(appId, record.hash, 2)).to.equal(0);
        expect(await stores.magicLinks.takeAttempt(appId, other.hash, 2)).to.equal(1);
        expect(await stores.magicLinks.takeAttempt(otherApp, record.hash, 2)).to.equal(0);
        expect(await stores.magicLinks.takeAttempt(appId, 'missing', 5)).to.equal(0);
        expect(await stores.magicLinks.find(otherApp, record.hash)).to.equal(undefined);
        // Saving the record again (as it was read) keeps what it says.
        await stores.magicLinks.save({ ...record, attempts: 2 }, 60);
        expect((await stores.magicLinks.find(appId, record.hash))?.attempts).to.equal(2);
      });

      it('forgets a record after its retention time', async () => {
        const record = link(appId);
        await stores.magicLinks.save(record, time.ttl);
        expect(await stores.magicLinks.find(appId, record.hash)).to.deep.equal(record);
        await time.elapse(async () => (await stores.magicLinks.find(appId, record.hash)) === undefined);
        expect(await stores.magicLinks.find(appId, record.hash)).to.equal(undefined);
        expect(await stores.magicLinks.latestForAttempt(appId, record.interactionUid)).to.equal(undefined);
      });
    });

    // The same contract holds for a driver's documents and for them sealed (what Postern
    // uses): hashing ids and sealing payloads changes nothing a caller can see.
    for (const [layer, docsOf] of [
      ['as the driver stores them', (s: Stores) => s.oidc],
      ['sealed', (s: Stores) => new SealedOidcStore(s.oidc, KEK)],
    ] as const) describe(`oidc-provider models, ${layer}`, () => {
      const docs = () => docsOf(stores);
      const payload = (extra: Record<string, unknown> = {}) => ({
        iat: 1,
        exp: 2,
        kind: 'X',
        scope: 'openid',
        amr: [],
        claims: { id_token: { email: null }, nested: { empty: {} } },
        ...extra,
      });

      it('round-trips a payload exactly and namespaces it by app', async () => {
        const doc = payload({ jti: 'abc', accountId: 'a@example.com', grantId: 'g1' });
        await docs().upsert(appId, 'AccessToken', 'abc', doc, 60);
        expect(await docs().find(appId, 'AccessToken', 'abc')).to.deep.equal(doc);
        expect(await docs().find(otherApp, 'AccessToken', 'abc')).to.equal(undefined);
        expect(await docs().find(appId, 'RefreshToken', 'abc')).to.equal(undefined);
      });

      // The engine changes documents it read (a session's authorizations, a grant's scopes)
      // before it saves them, and the memory store hands out what it holds unsealed.
      it('keeps what was stored when a caller changes what it gave or read, nested objects included', async () => {
        const given: Record<string, unknown> = payload({ jti: 'mutable', uid: 'u-m', authorizations: { c: { sid: 's' } } });
        const expected = structuredClone(given);
        await docs().upsert(appId, 'Session', 'mutable', given, 60);
        (given.authorizations as Record<string, unknown>)['d'] = { sid: 'given' };
        const read = (await docs().find(appId, 'Session', 'mutable'))!;
        (read['authorizations'] as Record<string, unknown>)['e'] = { sid: 'read' };
        ((read['claims'] as Record<string, Record<string, unknown>>)['id_token']!)['email'] = { essential: true };
        read['uid'] = 'changed';
        expect(await docs().find(appId, 'Session', 'mutable')).to.deep.equal(expected);
        expect(await docs().findByUid(appId, 'Session', 'u-m')).to.deep.equal(expected);
      });

      it('finds by uid and by user code, and keeps documents without expiry', async () => {
        await docs().upsert(appId, 'Session', 's1', payload({ uid: 'u-1' }), 60);
        await docs().upsert(appId, 'DeviceCode', 'd1', payload({ userCode: 'ABCD-EFGH' }), 60);
        await docs().upsert(appId, 'Client', 'c1', payload({ client_id: 'c1' }), undefined);
        expect((await docs().findByUid(appId, 'Session', 'u-1'))?.uid).to.equal('u-1');
        expect(await docs().findByUid(otherApp, 'Session', 'u-1')).to.equal(undefined);
        expect((await docs().findByUserCode(appId, 'DeviceCode', 'ABCD-EFGH'))?.userCode).to.equal('ABCD-EFGH');
        expect((await docs().find(appId, 'Client', 'c1'))?.client_id).to.equal('c1');
      });

      it('overwrites on upsert and destroys', async () => {
        await docs().upsert(appId, 'Session', 's2', payload({ uid: 'u-2', v: 1 }), 60);
        await docs().upsert(appId, 'Session', 's2', payload({ uid: 'u-2', v: 2 }), 60);
        expect((await docs().find(appId, 'Session', 's2'))?.v).to.equal(2);
        await docs().destroy(appId, 'Session', 's2');
        expect(await docs().find(appId, 'Session', 's2')).to.equal(undefined);
        expect(await docs().findByUid(appId, 'Session', 'u-2')).to.equal(undefined);
      });

      // Every look-up and index follows what a document holds now, and one document never
      // takes another's entry away: not by changing its own fields, nor by going.
      it('follows a document whose indexed fields change, and never drops an entry another document holds', async () => {
        await docs().upsert(appId, 'Session', 'moving', payload({ uid: 'mu-old', accountId: 'old@example.com' }), 60);
        await docs().upsert(appId, 'AccessToken', 'moving-at', payload({ grantId: 'G-old' }), 60);
        await docs().upsert(appId, 'Session', 'moving', payload({ uid: 'mu-new', accountId: 'new@example.com' }), 60);
        await docs().upsert(appId, 'AccessToken', 'moving-at', payload({ grantId: 'G-new' }), 60);
        expect(await docs().findByUid(appId, 'Session', 'mu-old')).to.equal(undefined);
        expect((await docs().findByUid(appId, 'Session', 'mu-new'))?.accountId).to.equal('new@example.com');
        expect(await docs().destroyByAccount(appId, 'old@example.com')).to.deep.equal({ grants: 0, sessions: [], tokens: 0 });
        await docs().revokeByGrantId(appId, 'AccessToken', 'G-old');
        expect((await docs().find(appId, 'AccessToken', 'moving-at'))?.grantId).to.equal('G-new');

        // A second document with the same uid takes the look-up; the first going leaves it.
        await docs().upsert(appId, 'Session', 'taker', payload({ uid: 'mu-new' }), 60);
        await docs().destroy(appId, 'Session', 'moving');
        expect(await docs().findByUid(appId, 'Session', 'mu-new')).to.deep.equal(payload({ uid: 'mu-new' }));
      });

      it('consumes once: exactly one of 20 concurrent consumers wins', async () => {
        await docs().upsert(appId, 'AuthorizationCode', 'code1', payload({ grantId: 'g' }), 60);
        const wins = await Promise.all(Array.from({ length: 20 }, () => docs().consume(appId, 'AuthorizationCode', 'code1')));
        expect(wins.filter(Boolean)).to.have.length(1);
        const after = await docs().find(appId, 'AuthorizationCode', 'code1');
        expect(after?.consumed).to.be.a('number');
        expect(await docs().consume(appId, 'AuthorizationCode', 'missing')).to.equal(false);
      });

      it('expires documents with their TTL', async () => {
        await docs().upsert(appId, 'Interaction', 'i1', payload({ uid: 'iu' }), time.ttl);
        expect(await docs().find(appId, 'Interaction', 'i1')).not.to.equal(undefined);
        await time.elapse(async () => (await docs().find(appId, 'Interaction', 'i1')) === undefined);
        expect(await docs().find(appId, 'Interaction', 'i1')).to.equal(undefined);
        expect(await docs().findByUid(appId, 'Interaction', 'iu')).to.equal(undefined);
      });

      it('a document saved to expire now or before is gone at once, the one it replaces too, and no index keeps it', async () => {
        const who = { accountId: 'ending@example.com' };
        await docs().upsert(appId, 'Session', 'ending', payload({ ...who, uid: 'su-ending' }), 600);
        // The engine saves what is left of a lifetime: 0 at the end of its last second.
        await docs().upsert(appId, 'Session', 'ending', payload({ ...who, uid: 'su-ending' }), 0);
        await docs().upsert(appId, 'Grant', 'G-ended', payload({ ...who }), -5);
        expect(await docs().find(appId, 'Session', 'ending')).to.equal(undefined);
        expect(await docs().findByUid(appId, 'Session', 'su-ending')).to.equal(undefined);
        expect(await docs().find(appId, 'Grant', 'G-ended')).to.equal(undefined);
        expect(await docs().destroyByAccount(appId, 'ending@example.com')).to.deep.equal({ grants: 0, sessions: [], tokens: 0 });
      });

      it('revokes by grant id, model by model, and only that grant', async () => {
        await docs().upsert(appId, 'AccessToken', 'at1', payload({ grantId: 'G1' }), 60);
        await docs().upsert(appId, 'RefreshToken', 'rt1', payload({ grantId: 'G1' }), 60);
        await docs().upsert(appId, 'AccessToken', 'at2', payload({ grantId: 'G2' }), 60);
        await docs().upsert(otherApp, 'AccessToken', 'at1', payload({ grantId: 'G1' }), 60);
        await docs().revokeByGrantId(appId, 'AccessToken', 'G1');
        expect(await docs().find(appId, 'AccessToken', 'at1')).to.equal(undefined);
        expect(await docs().find(appId, 'RefreshToken', 'rt1')).not.to.equal(undefined);
        expect(await docs().find(appId, 'AccessToken', 'at2')).not.to.equal(undefined);
        expect(await docs().find(otherApp, 'AccessToken', 'at1')).not.to.equal(undefined);
        await docs().revokeByGrantId(appId, 'RefreshToken', 'G1');
        expect(await docs().find(appId, 'RefreshToken', 'rt1')).to.equal(undefined);
      });

      it("destroys everything of one account: grants, their tokens, sessions", async () => {
        const who = { accountId: 'gone@example.com' };
        await docs().upsert(appId, 'Grant', 'GA', payload({ ...who }), 600);
        await docs().upsert(appId, 'RefreshToken', 'rtA', payload({ ...who, grantId: 'GA' }), 600);
        await docs().upsert(appId, 'AccessToken', 'atA', payload({ ...who, grantId: 'GA' }), 600);
        await docs().upsert(appId, 'AuthorizationCode', 'acA', payload({ grantId: 'GA' }), 600);
        await docs().upsert(appId, 'Session', 'sA', payload({ ...who, uid: 'suA' }), 600);
        await docs().upsert(appId, 'Grant', 'GB', payload({ accountId: 'stays@example.com' }), 600);
        await docs().upsert(otherApp, 'Grant', 'GA', payload({ ...who }), 600);
        const counts = await docs().destroyByAccount(appId, 'gone@example.com');
        expect(counts).to.deep.equal({ grants: 1, sessions: [{ id: 'sA', payload: payload({ ...who, uid: 'suA' }) }], tokens: 3 });
        for (const [model, id] of [['Grant', 'GA'], ['RefreshToken', 'rtA'], ['AccessToken', 'atA'], ['AuthorizationCode', 'acA'], ['Session', 'sA']] as const) {
          expect(await docs().find(appId, model, id), `${model} ${id}`).to.equal(undefined);
        }
        expect(await docs().find(appId, 'Grant', 'GB')).not.to.equal(undefined);
        expect(await docs().find(otherApp, 'Grant', 'GA')).not.to.equal(undefined);
      });

      it('returns every session it removed with its id and document, and only those: not another account\'s, not another app\'s, not twice', async () => {
        const session = (n: number, accountId: string) => payload({ accountId, uid: `su${n}`, authorizations: { [appId]: { sid: `sid-${n}`, grantId: `G${n}` } } });
        await docs().upsert(appId, 'Session', 's1', session(1, 'two-browsers@example.com'), 600);
        await docs().upsert(appId, 'Session', 's2', session(2, 'two-browsers@example.com'), 600);
        await docs().upsert(appId, 'Session', 's3', session(3, 'someone-else@example.com'), 600);
        await docs().upsert(otherApp, 'Session', 's4', session(4, 'two-browsers@example.com'), 600);
        await docs().upsert(appId, 'Grant', 'G1', payload({ accountId: 'two-browsers@example.com' }), 600);
        const removed = await docs().destroyByAccount(appId, 'two-browsers@example.com');
        expect(removed.grants).to.equal(1);
        expect([...removed.sessions].sort((a, b) => a.id.localeCompare(b.id))).to.deep.equal([
          { id: 's1', payload: session(1, 'two-browsers@example.com') },
          { id: 's2', payload: session(2, 'two-browsers@example.com') },
        ]);
        expect(await docs().find(appId, 'Session', 's3')).not.to.equal(undefined);
        expect(await docs().find(otherApp, 'Session', 's4')).not.to.equal(undefined);
        expect(await docs().destroyByAccount(appId, 'two-browsers@example.com')).to.deep.equal({ grants: 0, sessions: [], tokens: 0 });
      });

      it('leaves an expired session out of what it returns', async () => {
        await docs().upsert(appId, 'Session', 'gone-session', payload({ accountId: 'expired@example.com', uid: 'sx' }), time.ttl);
        await time.elapse(async () => (await docs().find(appId, 'Session', 'gone-session')) === undefined);
        expect((await docs().destroyByAccount(appId, 'expired@example.com')).sessions).to.deep.equal([]);
      });
    });

    if (atRest) describe('oidc-provider documents at rest', () => {
      const secret = () => randomBytes(32).toString('base64url');

      it('hold no id the engine handed out, in any key, index set or value, and still answer every look-up', async () => {
        const sealed = new SealedOidcStore(stores.oidc, KEK);
        const id = { session: secret(), sessionUid: secret(), sid: secret(), grant: secret(), access: secret(), refresh: secret(), code: secret(), interaction: secret() };
        const accountId = `at-rest-${randomUUID()}@example.com`;
        const grant = { grantId: id.grant, accountId };
        await sealed.upsert(appId, 'Session', id.session, { jti: id.session, uid: id.sessionUid, accountId, authorizations: { [appId]: { sid: id.sid, grantId: id.grant } } }, 600);
        await sealed.upsert(appId, 'Interaction', id.interaction, { jti: id.interaction, uid: id.interaction, returnTo: `https://idp.example/auth/${id.interaction}`, session: { cookie: id.session, uid: id.sessionUid, accountId } }, 600);
        await sealed.upsert(appId, 'Grant', id.grant, { jti: id.grant, accountId }, 600);
        await sealed.upsert(appId, 'AccessToken', id.access, { jti: id.access, ...grant }, 600);
        await sealed.upsert(appId, 'RefreshToken', id.refresh, { jti: id.refresh, ...grant }, 600);
        await sealed.upsert(appId, 'AuthorizationCode', id.code, { jti: id.code, ...grant }, 600);
        expect(await sealed.consume(appId, 'AuthorizationCode', id.code)).to.equal(true);

        const text = await atRest(stores);
        for (const [what, value] of [...Object.entries(id), ['account', accountId]]) {
          expect(text.includes(value!), `${what} found in the store`).to.equal(false);
        }

        expect((await sealed.find(appId, 'RefreshToken', id.refresh))?.jti).to.equal(id.refresh);
        expect((await sealed.find(appId, 'AuthorizationCode', id.code))?.consumed).to.be.a('number');
        expect((await sealed.findByUid(appId, 'Session', id.sessionUid))?.jti).to.equal(id.session);
        expect((await sealed.find(appId, 'Interaction', id.interaction))?.session).to.deep.equal({ cookie: id.session, uid: id.sessionUid, accountId });
        await sealed.revokeByGrantId(appId, 'AccessToken', id.grant);
        expect(await sealed.find(appId, 'AccessToken', id.access)).to.equal(undefined);
        expect(await sealed.destroyByAccount(appId, accountId)).to.deep.equal({
          grants: 1,
          // Opened again, under the engine's own id: the sid the app's ID tokens carried is readable.
          sessions: [{ id: id.session, payload: { jti: id.session, uid: id.sessionUid, accountId, authorizations: { [appId]: { sid: id.sid, grantId: id.grant } } } }],
          tokens: 2,
        });
        expect(await sealed.find(appId, 'RefreshToken', id.refresh)).to.equal(undefined);
      });

      it('reports a removed session under its own id only: a session document copied under another id is removed, not reported', async () => {
        const sealed = new SealedOidcStore(stores.oidc, KEK);
        const accountId = `copied-${randomUUID()}@example.com`;
        const genuine = secret();
        await sealed.upsert(appId, 'Session', genuine, { jti: genuine, uid: secret(), accountId, authorizations: { [appId]: { sid: 'genuine-sid' } } }, 600);
        const stored = (await stores.oidc.find(appId, 'Session', sealed.hash(genuine)))!;
        await stores.oidc.upsert(appId, 'Session', sealed.hash(secret()), stored, 600);
        const removed = await sealed.destroyByAccount(appId, accountId);
        expect(removed.sessions.map((s) => [s.id, s.payload.authorizations])).to.deep.equal([[genuine, { [appId]: { sid: 'genuine-sid' } }]]);
        expect((await sealed.destroyByAccount(appId, accountId)).sessions).to.deep.equal([]);
      });

      it('cannot be presented in place of the id: a stored key or copied document opens as nothing', async () => {
        const sealed = new SealedOidcStore(stores.oidc, KEK);
        const refresh = secret();
        await sealed.upsert(appId, 'RefreshToken', refresh, { jti: refresh, grantId: 'g' }, 600);
        const storedKey = sealed.hash(refresh);
        // What a reader of the store holds: the key and the stored document.
        expect(await sealed.find(appId, 'RefreshToken', storedKey)).to.equal(undefined);
        const stored = (await stores.oidc.find(appId, 'RefreshToken', storedKey))!;
        const forged = secret();
        await stores.oidc.upsert(appId, 'RefreshToken', sealed.hash(forged), stored, 600);
        expect(await sealed.find(appId, 'RefreshToken', forged), 'copied under another id').to.equal(undefined);
        await stores.oidc.upsert(otherApp, 'RefreshToken', storedKey, stored, 600);
        expect(await sealed.find(otherApp, 'RefreshToken', refresh), 'copied to another app').to.equal(undefined);
        expect(await new SealedOidcStore(stores.oidc, randomBytes(32)).find(appId, 'RefreshToken', refresh), 'under another key').to.equal(undefined);
        expect((await sealed.find(appId, 'RefreshToken', refresh))?.jti).to.equal(refresh);
      });
    });

    describe('rate limiters', () => {
      it('count hits up to the limit, say when a key is exhausted, and take a refunded hit back', async () => {
        const limiter = stores.rateLimiter(`contract-${appId}`, 3, 60);
        for (let i = 0; i < 3; i++) expect(await limiter.hit('a'), `hit ${i + 1}`).to.equal(true);
        expect(await limiter.exhausted('a')).to.equal(true);
        expect(await limiter.exhausted('b')).to.equal(false);
        await limiter.refund('a');
        expect(await limiter.exhausted('a')).to.equal(false);
        expect(await limiter.hit('a')).to.equal(true);
        expect(await limiter.hit('a')).to.equal(false);
        // A refund of a key with no hits in the window gives it nothing extra.
        await limiter.refund('b');
        for (let i = 0; i < 3; i++) expect(await limiter.hit('b'), `b hit ${i + 1}`).to.equal(true);
        expect(await limiter.hit('b')).to.equal(false);
      });
    });

    describe('audit', () => {
      it('keeps events per app, newest first, filterable and pageable', async () => {
        const base = Date.now() - 10_000;
        // Ids are unique per run: a MongoDB database may keep earlier runs' events.
        const events: AuditRecord[] = Array.from({ length: 6 }, (_, i) => ({
          id: `e${i}-${appId}`,
          at: base + i * 1000,
          appId,
          type: i % 2 ? 'link.requested' : 'token.issued',
          outcome: 'success',
          email: i < 3 ? 'x@example.com' : 'y@example.com',
        }));
        for (const event of events) await stores.audit.append(event, 3600);
        await stores.audit.append({ ...events[0]!, id: `other-${otherApp}`, appId: otherApp }, 3600);
        const ids = (list: AuditRecord[]) => list.map((e) => e.id.split('-')[0]);
        const all = await stores.audit.query(appId, { limit: 100 });
        expect(ids(all)).to.deep.equal(['e5', 'e4', 'e3', 'e2', 'e1', 'e0']);
        expect(all[0]).to.deep.equal(events[5]);
        expect(ids(await stores.audit.query(appId, { limit: 100, type: 'link.requested' }))).to.deep.equal(['e5', 'e3', 'e1']);
        expect(ids(await stores.audit.query(appId, { limit: 100, email: 'x@example.com' }))).to.deep.equal(['e2', 'e1', 'e0']);
        expect(ids(await stores.audit.query(appId, { limit: 100, from: base + 2000, to: base + 4000 }))).to.deep.equal(['e3', 'e2']);
        const page1 = await stores.audit.query(appId, { limit: 2 });
        const last = page1.at(-1)!;
        const page2 = await stores.audit.query(appId, { limit: 2, before: { at: last.at, id: last.id } });
        expect(ids([...page1, ...page2])).to.deep.equal(['e5', 'e4', 'e3', 'e2']);
      });

      it('pages through more events than one read holds, many in one millisecond, newest first by time and id', async () => {
        const at = Date.now() - 5_000;
        // 1,203 events: 1,100 in one millisecond, every hundredth of another type.
        // Fields in the audit log's order (the event's, then id and time), so no store may
        // lean on a record's text sorting as its id does.
        const events: AuditRecord[] = Array.from({ length: 1203 }, (_, i) => ({
          type: i % 100 === 7 ? 'mail.failed' : 'link.requested',
          outcome: 'success',
          appId,
          requestId: String(i),
          id: `${String((i * 7919) % 1203).padStart(4, '0')}-${appId}`,
          at: i < 1100 ? at : at - i,
        }));
        for (const event of events) await stores.audit.append(event, 3600);
        const expected = [...events].sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1)).map((e) => e.id);
        const pages: string[] = [];
        let before: AuditRecord | undefined;
        do {
          const page = await stores.audit.query(appId, { limit: 300, ...(before && { before: { at: before.at, id: before.id } }) });
          pages.push(...page.map((e) => e.id));
          before = page.length === 300 ? page.at(-1) : undefined;
        } while (before);
        expect(pages).to.deep.equal(expected);
        const failed = await stores.audit.query(appId, { limit: 500, type: 'mail.failed' });
        expect(failed.map((e) => e.id)).to.deep.equal(expected.filter((id) => events.find((e) => e.id === id)!.type === 'mail.failed'));
        expect(failed).to.have.length(12);
      });

      it('forgets events after their retention time', async () => {
        const event: AuditRecord = { id: `gone-${appId}`, at: Date.now(), appId, type: 'link.requested', outcome: 'success' };
        await stores.audit.append(event, time.ttl);
        expect(await stores.audit.query(appId, { limit: 10 })).to.deep.equal([event]);
        await time.elapse(async () => (await stores.audit.query(appId, { limit: 10 })).length === 0);
        expect(await stores.audit.query(appId, { limit: 10 })).to.deep.equal([]);
      });
    });

    describe('apps lifecycle', () => {
      it("keeps the instance's trail apart from every app's", async () => {
        const at = Date.now();
        const about = randomUUID();
        const kept = { id: `instance-${about}`, at, appId: about, type: 'admin.app_deleted', outcome: 'success' as const, trail: INSTANCE_TRAIL as typeof INSTANCE_TRAIL, ip: '192.0.2.1' };
        await stores.audit.append(kept, 3600);
        await stores.audit.append({ id: `app-${about}`, at, appId: about, type: 'admin.app_deleted', outcome: 'success' }, 3600);
        expect((await stores.audit.query(about, { limit: 10 })).map((e) => e.id)).to.deep.equal([`app-${about}`]);
        const instance = await stores.audit.query(INSTANCE_TRAIL, { limit: 500, type: 'admin.app_deleted', from: at });
        expect(instance.find((e) => e.id === kept.id)).to.deep.equal(kept);
        expect(instance.map((e) => e.id)).not.to.include(`app-${about}`);
      });

      it("purges one app's data and leaves the others alone", async () => {
        await stores.oidc.upsert(appId, 'Session', 'p1', { uid: 'pu' }, 600);
        await stores.oidc.upsert(otherApp, 'Session', 'p1', { uid: 'pu' }, 600);
        await stores.accounts.recordLogin(appId, 'p@example.com', 1);
        await stores.accounts.recordLogin(otherApp, 'p@example.com', 1);
        const record = link(appId);
        await stores.magicLinks.save(record, 600);
        const event = (id: string, about: string, trail?: typeof INSTANCE_TRAIL) => ({ id, at: Date.now(), appId: about, type: 'admin.app_deleted', outcome: 'success' as const, ...(trail && { trail }) });
        await stores.audit.append(event(`purged-${appId}`, appId), 3600);
        await stores.audit.append(event(`kept-${otherApp}`, otherApp), 3600);
        // The instance's record of the deletion, about the purged app: it outlives the app's data.
        await stores.audit.append(event(`deleted-${appId}`, appId, INSTANCE_TRAIL), 3600);
        await stores.purgeApp(appId);
        await stores.purgeApp(appId); // a repeat finds nothing more to do
        expect(await stores.audit.query(appId, { limit: 10 })).to.deep.equal([]);
        expect((await stores.audit.query(otherApp, { limit: 10 })).map((e) => e.id)).to.include(`kept-${otherApp}`);
        expect((await stores.audit.query(INSTANCE_TRAIL, { limit: 500 })).map((e) => e.id)).to.include(`deleted-${appId}`);
        expect(await stores.oidc.find(appId, 'Session', 'p1')).to.equal(undefined);
        expect(await stores.accounts.find(appId, 'p@example.com')).to.equal(undefined);
        expect(await stores.magicLinks.find(appId, record.hash)).to.equal(undefined);
        expect(await stores.oidc.find(otherApp, 'Session', 'p1')).not.to.equal(undefined);
        expect(await stores.accounts.find(otherApp, 'p@example.com')).not.to.equal(undefined);
      });

      it('announces app changes to subscribers', async () => {
        const heard: string[] = [];
        stores.changes.subscribe({ changed: (id) => heard.push(id), missed: () => {} });
        await stores.changes.publish(appId);
        await until(() => heard.includes(appId), 5_000);
        expect(heard).to.include(appId);
      });
    });
  });
}
