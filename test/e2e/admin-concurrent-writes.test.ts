// Two admins writing the same record at once: each change is made to the record as its
// write finds it (inside the compare-and-replace), so neither answer's 200 is a lie. The
// store's reads are held so that both requests read before either writes.
import { expect } from 'chai';
import type { AppRecord } from '../../src/storage/ports.ts';
import { ADMIN_TOKEN, Harness, REDIRECT_URI } from '../helpers/harness.ts';

/** The next two reads of app records wait for each other: two requests both read before either writes. */
function meetOnNextTwoReads(h: Harness): () => void {
  const apps = h.stores.apps;
  const original = apps.get.bind(apps);
  let waiting: (() => void) | undefined;
  let reads = 0;
  apps.get = async (id: string): Promise<AppRecord | undefined> => {
    const found = await original(id);
    reads++;
    if (reads === 1) await new Promise<void>((resolve) => (waiting = resolve));
    else if (reads === 2) waiting!();
    return found;
  };
  return () => {
    apps.get = original;
  };
}

describe('admin writes at the same time', () => {
  const h = new Harness();
  before(() => h.start());
  after(() => h.stop());

  it('keeps both admins\' changes when they PATCH different fields of one client at once', async () => {
    const app = await h.createApp();
    const created = await h.admin('POST', `/admin/apps/${app.app_id}/clients`, { client_name: 'Original', redirect_uris: [REDIRECT_URI] });
    expect(created.status).to.equal(201);
    const path = `/admin/apps/${app.app_id}/clients/${created.body.client_id}`;

    const restore = meetOnNextTwoReads(h);
    const [a, b] = await Promise.all([
      h.admin('PATCH', path, { client_name: 'Renamed by admin A' }),
      h.admin('PATCH', path, { logo_uri: 'https://cdn.example.com/logo-by-b.png' }),
    ]);
    restore();
    expect(a.status).to.equal(200);
    expect(b.status).to.equal(200);

    const now = await h.admin('GET', path);
    // Both 200s: both changes must be there.
    expect(now.body.logo_uri, 'admin B\'s change').to.equal('https://cdn.example.com/logo-by-b.png');
    expect(now.body.client_name, 'admin A\'s change').to.equal('Renamed by admin A');
  });

  it('keeps both admins\' changes when they PATCH different fields of one app at once', async () => {
    const app = await h.createApp();
    const path = `/admin/apps/${app.app_id}`;
    const restore = meetOnNextTwoReads(h);
    const [a, b] = await Promise.all([
      h.admin('PATCH', path, { name: 'Renamed by admin A' }),
      h.admin('PATCH', path, { id_token_ttl: 600 }),
    ]);
    restore();
    expect(a.status).to.equal(200);
    expect(b.status).to.equal(200);
    const now = await h.admin('GET', path);
    expect(now.body.name).to.equal('Renamed by admin A');
    expect(now.body.id_token_ttl).to.equal(600);
  });

  describe('with If-Match (optimistic concurrency)', () => {
    const send = async (method: string, path: string, body: unknown, ifMatch?: string) => {
      const res = await fetch(`${h.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...(ifMatch !== undefined ? { 'if-match': ifMatch } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, etag: res.headers.get('etag'), body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
    };
    const patch = (path: string, body: unknown, ifMatch?: string) => send('PATCH', path, body, ifMatch);
    const etagOf = async (path: string) => (await h.admin('GET', path)).headers.get('etag')!;

    it('names each version of an app with a strong ETag: the same for every read, a new one for every write of any kind', async () => {
      const created = await h.admin('POST', '/admin/apps', { name: 'Versioned', redirect_uris: [REDIRECT_URI] });
      const path = `/admin/apps/${created.body.app_id}`;
      const first = created.headers.get('etag')!;
      expect(first).to.match(/^"[0-9a-z]+"$/);
      expect(await etagOf(path)).to.equal(first);
      expect((await h.admin('HEAD', path)).headers.get('etag')).to.equal(first);
      const renamed = await patch(path, { name: 'Renamed' });
      expect(renamed.etag).not.to.equal(first);
      expect(await etagOf(path)).to.equal(renamed.etag);
      // A write that is not a PATCH of the app moves it too: a client, a key rotation.
      await h.admin('POST', `${path}/clients`, { redirect_uris: [REDIRECT_URI] });
      const afterClient = await etagOf(path);
      expect(afterClient).not.to.equal(renamed.etag);
      const rotated = await h.admin('POST', `${path}/keys/rotate?immediate=true`);
      expect(rotated.headers.get('etag')).not.to.equal(afterClient);
      expect(await etagOf(path)).to.equal(rotated.headers.get('etag'));
    });

    it('changes only the version If-Match names: a stale, weak, mangled or other app\'s tag is 412 and changes nothing', async () => {
      const app = await h.createApp({ name: 'Before' });
      const other = await h.createApp();
      const path = `/admin/apps/${app.app_id}`;
      const stale = await etagOf(path);
      await h.admin('POST', `${path}/clients`, { redirect_uris: [REDIRECT_URI] });
      const current = await etagOf(path);
      for (const ifMatch of [stale, `W/${current}`, current.slice(1, -1), await etagOf(`/admin/apps/${other.app_id}`), '""', ' , ', '']) {
        const refused = await patch(path, { name: 'Lost update' }, ifMatch);
        expect([refused.status, refused.body.error], ifMatch).to.deep.equal([412, 'precondition_failed']);
        expect(refused.body.error_description).to.include(current);
      }
      expect((await h.admin('GET', path)).body.name).to.equal('Before');
      expect(await etagOf(path)).to.equal(current);
      // The current tag, a list naming it, or "*" (any version) go through.
      const changed = await patch(path, { name: 'After' }, `"nope", ${current}`);
      expect([changed.status, changed.body.name]).to.deep.equal([200, 'After']);
      expect((await patch(path, { name: 'Any' }, '*')).status).to.equal(200);
      // Without If-Match a PATCH changes whatever version it finds, as before.
      expect((await patch(path, { name: 'Unconditional' })).status).to.equal(200);
      // Unknown app: 404 first, whatever If-Match says.
      expect((await patch('/admin/apps/00000000-0000-4000-8000-000000000000', { name: 'x' }, '*')).status).to.equal(404);
    });

    it('of two admins sending the same If-Match at once, one changes the app and the other gets 412', async () => {
      const app = await h.createApp({ name: 'Contended' });
      const path = `/admin/apps/${app.app_id}`;
      const version = await etagOf(path);
      const restore = meetOnNextTwoReads(h);
      const answers = await Promise.all([patch(path, { name: 'Admin A' }, version), patch(path, { name: 'Admin B' }, version)]);
      restore();
      expect(answers.map((a) => a.status).sort()).to.deep.equal([200, 412]);
      const winner = answers.find((a) => a.status === 200)!;
      const now = await h.admin('GET', path);
      expect(now.body.name).to.equal(winner.body.name);
      expect(now.headers.get('etag')).to.equal(winner.etag);
    });

    it("versions each further client on its own: a stale or another client's tag is 412, a secret rotation moves it, and one of two PATCHes at once wins", async () => {
      const app = await h.createApp();
      const clients = `/admin/apps/${app.app_id}/clients`;
      const created = await h.admin('POST', clients, { client_name: 'First', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'client_secret_basic' });
      const sibling = await h.admin('POST', clients, { redirect_uris: [REDIRECT_URI] });
      const path = `${clients}/${created.body.client_id}`;
      const first = created.headers.get('etag')!;
      expect(await etagOf(path)).to.equal(first);
      // The default client is the app's record: its tag is the app's.
      expect(await etagOf(`${clients}/${app.app_id}`)).to.equal(await etagOf(`/admin/apps/${app.app_id}`));
      await h.admin('POST', `${path}/secret`, {});
      const rotated = await etagOf(path);
      expect(rotated).not.to.equal(first);
      for (const ifMatch of [first, sibling.headers.get('etag')!, `W/${rotated}`]) {
        const refused = await patch(path, { client_name: 'Lost update' }, ifMatch);
        expect([refused.status, refused.body.error], ifMatch).to.deep.equal([412, 'precondition_failed']);
      }
      expect((await h.admin('GET', path)).body.client_name).to.equal('First');
      const changed = await patch(path, { client_name: 'Second' }, rotated);
      expect([changed.status, changed.body.client_name]).to.deep.equal([200, 'Second']);
      expect(changed.etag).to.equal(await etagOf(path)).and.not.equal(rotated);

      const restore = meetOnNextTwoReads(h);
      const answers = await Promise.all([patch(path, { client_name: 'Admin A' }, changed.etag!), patch(path, { client_name: 'Admin B' }, changed.etag!)]);
      restore();
      expect(answers.map((a) => a.status).sort()).to.deep.equal([200, 412]);
      expect((await h.admin('GET', path)).body.client_name).to.equal(answers.find((a) => a.status === 200)!.body.client_name);
    });

    it('holds a key rotation, a DELETE, a client DELETE and a secret rotation to If-Match too: a stale tag is 412 and changes nothing', async () => {
      const app = await h.createApp({ token_endpoint_auth_method: 'client_secret_basic' });
      const path = `/admin/apps/${app.app_id}`;
      const stale = await etagOf(path);
      const client = await h.admin('POST', `${path}/clients`, { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'client_secret_basic' });
      const clientPath = `${path}/clients/${client.body.client_id}`;
      const current = await etagOf(path);
      const clientVersion = client.headers.get('etag')!;

      const refusals = [
        await send('POST', `${path}/keys/rotate?immediate=true`, undefined, stale),
        await send('DELETE', path, undefined, stale),
        await send('POST', `${path}/clients/${app.app_id}/secret`, {}, stale),
        await send('DELETE', clientPath, undefined, `"${'0'.repeat(8)}"`),
        await send('POST', `${clientPath}/secret`, {}, ''),
      ];
      expect(refusals.map((r) => [r.status, r.body.error])).to.deep.equal(Array.from({ length: 5 }, () => [412, 'precondition_failed']));
      expect(await etagOf(path)).to.equal(current);
      expect(await etagOf(clientPath)).to.equal(clientVersion);
      expect((await h.admin('GET', path)).status).to.equal(200);

      // With the current tags each goes through.
      expect((await send('POST', `${clientPath}/secret`, {}, clientVersion)).status).to.equal(200);
      const rotated = await send('POST', `${path}/keys/rotate?immediate=true`, undefined, await etagOf(path));
      expect(rotated.status).to.equal(200);
      expect((await send('DELETE', clientPath, undefined, await etagOf(clientPath))).status).to.equal(204);
      expect((await send('DELETE', path, undefined, await etagOf(path))).status).to.equal(204);
      expect((await h.admin('GET', path)).status).to.equal(404);
      // A conditional DELETE repeated after the app is gone answers 204 like any repeat.
      expect((await send('DELETE', path, undefined, current)).status).to.equal(204);
    });
  });
});
