// The 3rd Party-Initiated Login OP plan. The official modules register a client
// dynamically with initiate_login_uri and read it back from the client configuration
// endpoint. Postern has no dynamic registration: its clients are registered through the
// admin API, so the equivalent is creating the app there and reading it back with
// GET /admin/apps/{id}; a non-https initiate_login_uri must be refused as client metadata.
import { expect } from 'chai';
import type { Module, ModuleRun } from './module.ts';
import { CLIENT } from './variants.ts';

function register(run: ModuleRun, initiateLoginUri: string) {
  return run.op.h.admin('POST', '/admin/apps', {
    name: `${run.op.variant.name} 3rd party login`,
    redirect_uris: [CLIENT.redirectUri],
    ...run.op.variant.fields,
    initiate_login_uri: initiateLoginUri,
  });
}

export const THIRD_PARTY_MODULES: readonly Module[] = [
  {
    name: 'oidcc-3rd_party-init-login',
    async run(run) {
      const uri = 'https://rp.example.com/initiate_login';
      const created = await register(run, uri);
      const refusal = `${created.body?.error}: ${String(created.body?.error_description ?? '').split('. ')[0]}`;
      expect(created.status, `registration refused (${refusal})`).to.equal(201);
      expect(created.body.initiate_login_uri, 'initiate_login_uri in the registration response (Registration §3.2)').to.equal(uri);
      const read = await run.op.h.admin('GET', `/admin/apps/${created.body.app_id}`);
      expect(read.status, 'client configuration read').to.equal(200);
      expect(read.headers.get('content-type'), 'JSON').to.include('application/json');
      expect(read.body.initiate_login_uri, 'initiate_login_uri read back').to.equal(uri);
    },
  },
  {
    name: 'oidcc-3rd_party-init-login-nohttps',
    async run(run) {
      // OpenID Connect Core §4 / Registration §2: initiate_login_uri MUST use https.
      const refused = await register(run, 'http://rp.example.com/initiate_login');
      expect(refused.status, 'a non-https initiate_login_uri').to.equal(400);
      expect(refused.headers.get('content-type'), 'JSON').to.include('application/json');
      expect(refused.body?.error, 'error (Registration §3.3)').to.equal('invalid_client_metadata');
    },
  },
];
