import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { AdapterPayload } from 'oidc-provider';
import { RequestReads } from '../../src/oidc/request-reads.ts';

const reads = new RequestReads();
const readOnce = reads.readOnce.bind(reads);
const wrote = reads.wrote.bind(reads);

/** A store of one document per name, counting its reads. */
function documents() {
  const stored = new Map<string, AdapterPayload>();
  let reads = 0;
  return {
    stored,
    get reads() {
      return reads;
    },
    read: (name: string) => async () => {
      reads++;
      const payload = stored.get(name);
      return payload && structuredClone(payload);
    },
  };
}

describe('reads of one request', () => {
  it('reads a document once per request, giving each reader a copy of its own', async () => {
    const store = documents();
    const id = randomUUID();
    store.stored.set(id, { params: { client_id: 'app' } });
    const request = {};
    const first = await readOnce(request, 'Interaction', 'id', id, store.read(id));
    // A model shares the payload's nested objects (A67): what one reader changes, the next never sees.
    (first!.params as Record<string, string>).client_id = 'changed by the first reader';
    const second = await readOnce(request, 'Interaction', 'id', id, store.read(id));
    expect(second).to.deep.equal({ params: { client_id: 'app' } });
    expect(store.reads).to.equal(1);
    // Another request reads for itself; so does a read outside any request.
    await readOnce({}, 'Interaction', 'id', id, store.read(id));
    await readOnce(undefined, 'Interaction', 'id', id, store.read(id));
    expect(store.reads).to.equal(3);
  });

  it('reads again after any write of the document, by this request, another or none, also one under way during the read', async () => {
    const store = documents();
    const id = randomUUID();
    store.stored.set(id, { returnTo: 'first' });
    const request = {};
    await readOnce(request, 'Interaction', 'id', id, store.read(id));
    // Destroyed elsewhere (a resume in another tab, or Postern's own end()).
    store.stored.delete(id);
    wrote('Interaction', id);
    expect(await readOnce(request, 'Interaction', 'id', id, store.read(id))).to.equal(undefined);
    // Saved again; then saved while this request's read was on its way: the copy is not trusted after it.
    wrote('Interaction', id, { returnTo: 'second' });
    store.stored.set(id, { returnTo: 'second' });
    const reading = readOnce(request, 'Interaction', 'id', id, store.read(id));
    wrote('Interaction', id, { returnTo: 'third' });
    store.stored.set(id, { returnTo: 'third' });
    expect(await reading).to.deep.equal({ returnTo: 'second' });
    expect(await readOnce(request, 'Interaction', 'id', id, store.read(id))).to.deep.equal({ returnTo: 'third' });
    expect(store.reads).to.equal(4);
  });

  it('reads a session by uid again after a save naming the uid, a destroy of any session, or a revocation of the model', async () => {
    const store = documents();
    const uid = randomUUID();
    store.stored.set(uid, { jti: 'session-id', uid, accountId: 'a@example.com' });
    const request = {};
    const read = () => readOnce(request, 'Session', 'uid', uid, store.read(uid));
    await read();
    await read();
    expect(store.reads).to.equal(1);
    wrote('Session', 'session-id', { uid, accountId: 'b@example.com' });
    await read();
    expect(store.reads).to.equal(2);
    wrote('Session', 'some-other-session-id'); // a destroy names no uid
    await read();
    expect(store.reads).to.equal(3);
    wrote('Session');
    await read();
    await read();
    expect(store.reads).to.equal(4);
  });

  it('keeps no failed read, and reads every other model each time', async () => {
    const request = {};
    const id = randomUUID();
    let calls = 0;
    const failing = async () => {
      calls++;
      throw new Error('store down');
    };
    await readOnce(request, 'Interaction', 'id', id, failing).catch(() => {});
    const failed = await readOnce(request, 'Interaction', 'id', id, failing).catch((err: Error) => err.message);
    expect(failed).to.equal('store down');
    expect(calls).to.equal(2);
    const store = documents();
    store.stored.set(id, { consumed: 1 });
    for (let i = 0; i < 3; i++) await readOnce(request, 'RefreshToken', 'id', id, store.read(id));
    expect(store.reads).to.equal(3);
  });
});
