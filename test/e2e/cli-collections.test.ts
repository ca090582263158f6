// The CLI's commands for an app's clients, initial access tokens and resources, end to
// end against the harness's server. Each suite runs only where the server has the
// collection's route: on a server without it (GET answers 404) the suite is skipped and
// says so.
import { expect } from 'chai';
import { runCli, type CliResult } from '../helpers/cli.ts';
import { ADMIN_TOKEN, Harness, type AppJson } from '../helpers/harness.ts';

describe('postern CLI: clients, initial access tokens, resources', function () {
  // Each case runs the CLI as a process of its own, some of them a dozen times: about 0.3 s a
  // run on a quiet machine, 1 s or more on a loaded one.
  this.timeout(90_000);
  const h = new Harness();
  let app: AppJson;
  before(async () => {
    await h.start();
    app = await h.createApp();
  });
  after(() => h.stop());

  async function postern(...args: string[]): Promise<CliResult> {
    const result = await runCli(args, { env: { POSTERN_URL: h.url, POSTERN_ADMIN_TOKEN: ADMIN_TOKEN } });
    expect(result.stdout + result.stderr).to.not.include(ADMIN_TOKEN);
    return result;
  }

  async function json(...args: string[]): Promise<{ body: any; stderr: string }> {
    const r = await postern(...args, '--json');
    expect(r.code, r.stderr).to.equal(0);
    return { body: r.stdout ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
  }

  /** Skips the suite, visibly, on a server that does not have the collection's route. */
  function onlyWithRoute(collection: string) {
    return async function (this: Mocha.Context) {
      const res = await h.admin('GET', `/admin/apps/${app.app_id}/${collection}`);
      if (res.status === 404) {
        console.log(`      skipped: this server has no GET /admin/apps/{id}/${collection} yet (404)`);
        this.skip();
      }
    };
  }

  /** The items of a list answer, whatever its field is called. */
  const itemsOf = (body: Record<string, unknown>) => Object.values(body).find(Array.isArray) as Record<string, unknown>[];

  describe('clients', () => {
    before(onlyWithRoute('clients'));

    it('creates, lists, shows, updates, rotates the secret of and deletes a client', async () => {
      const created = await json(
        'clients', 'create', app.app_id, '--name', 'Back office', '--redirect-uri', 'http://localhost:8080/office', '--auth-method', 'client_secret_basic',
      );
      const id = created.body.client_id as string;
      expect(id).to.be.a('string');
      expect(created.body).to.include({ client_name: 'Back office', token_endpoint_auth_method: 'client_secret_basic' });
      expect(created.body.client_secret).to.be.a('string');
      expect(created.stderr).to.match(/client_secret is shown this once: store it now/);

      const list = await postern('clients', 'list', app.app_id);
      expect(list.code, list.stderr).to.equal(0);
      expect(list.stdout.split('\n')[0]).to.match(/^CLIENT_ID\s+CLIENT_NAME/);
      expect(list.stdout).to.match(new RegExp(`^${id}\\s+Back office\\s`, 'm'));

      expect((await json('clients', 'show', app.app_id, id)).body.client_id).to.equal(id);
      const updated = await json('clients', 'update', app.app_id, id, '--redirect-uri', 'http://localhost:8080/a', '--redirect-uri', 'http://localhost:8080/b');
      expect(updated.body.redirect_uris).to.deep.equal(['http://localhost:8080/a', 'http://localhost:8080/b']);

      const rotated = await json('clients', 'rotate-secret', app.app_id, id, '--grace-period', '60');
      expect(rotated.body.client_secret).to.be.a('string').and.not.equal(created.body.client_secret);
      expect(rotated.stderr).to.match(/client_secret is shown this once/);

      const refused = await postern('clients', 'delete', app.app_id, id);
      expect(refused.code).to.equal(2);
      const deleted = await postern('clients', 'delete', app.app_id, id, '--yes');
      expect(deleted.code, deleted.stderr).to.equal(0);
      expect(deleted.stdout).to.equal(`Deleted client ${id}.\n`);
      const gone = await postern('clients', 'show', app.app_id, id);
      expect(gone.code).to.equal(1);
      expect(gone.stderr).to.match(/HTTP 404/);
    });

    it('keeps a client id inside its path segment', async () => {
      const r = await postern('clients', 'delete', app.app_id, `../../${app.app_id}`, '--yes');
      expect(r.code).to.equal(1);
      expect((await h.admin('GET', `/admin/apps/${app.app_id}`)).status).to.equal(200);
    });
  });

  describe('initial access tokens', () => {
    before(onlyWithRoute('initial-access-tokens'));

    it('creates one (shown once, with a warning), lists it and revokes it', async () => {
      const created = await json(
        'initial-access-tokens', 'create', app.app_id, '--expires-in', '3600', '--max-uses', '1', '--redirect-uri-host', 'app.example.com',
      );
      expect(created.body.initial_access_token).to.be.a('string');
      expect(created.body.id).to.be.a('string');
      expect(created.body.expires_at).to.be.a('string');
      expect(created.stderr).to.match(/initial_access_token is shown this once: store it now/);

      const listed = await json('initial-access-tokens', 'list', app.app_id);
      expect(itemsOf(listed.body).map((t) => t.id)).to.include(created.body.id);
      expect(JSON.stringify(listed.body)).to.not.include(created.body.initial_access_token);

      const revoked = await postern('initial-access-tokens', 'revoke', app.app_id, created.body.id, '--yes');
      expect(revoked.code, revoked.stderr).to.equal(0);
      expect(revoked.stdout).to.equal(`Revoked initial access token ${created.body.id}.\n`);
      expect(itemsOf((await json('initial-access-tokens', 'list', app.app_id)).body).map((t) => t.id)).to.not.include(created.body.id);
    });
  });

  describe('resources', () => {
    before(onlyWithRoute('resources'));

    it('creates, lists, shows, updates and deletes a resource', async () => {
      const created = await json(
        'resources', 'create', app.app_id, '--identifier', 'https://api.example.com', '--scope', 'read', '--scope', 'write', '--access-token-ttl', '600',
      );
      const id = created.body.id as string;
      expect(created.body).to.include({ identifier: 'https://api.example.com', access_token_ttl: 600 });
      expect(created.body.scopes).to.deep.equal(['read', 'write']);

      const list = await postern('resources', 'list', app.app_id);
      expect(list.code, list.stderr).to.equal(0);
      expect(list.stdout).to.match(new RegExp(`^${id}\\s+https://api\\.example\\.com\\s+read, write\\s+600$`, 'm'));
      expect((await json('resources', 'show', app.app_id, id)).body.identifier).to.equal('https://api.example.com');
      expect((await json('resources', 'update', app.app_id, id, '--access-token-ttl', '900')).body.access_token_ttl).to.equal(900);

      const deleted = await postern('resources', 'delete', app.app_id, id, '--yes');
      expect(deleted.code, deleted.stderr).to.equal(0);
      expect((await postern('resources', 'show', app.app_id, id)).code).to.equal(1);
    });
  });
});
