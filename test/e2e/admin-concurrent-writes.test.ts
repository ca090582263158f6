// Two admins writing the same record at once: each change is made to the record as its
// write finds it (inside the compare-and-replace), so neither answer's 200 is a lie. The
// store's reads are held so that both requests read before either writes.
import { expect } from 'chai';
import type { AppRecord } from '../../src/storage/ports.ts';
import { Harness, REDIRECT_URI } from '../helpers/harness.ts';

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
});
