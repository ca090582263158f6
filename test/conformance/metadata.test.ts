// Authorization server metadata where RFC 8414 clients look for it: for an issuer with a
// path ({PUBLIC_URL}/apps/{app_id}), the well-known path is inserted before that path
// (§3.1). The document is the app's OpenID Connect discovery document (§3: same values).
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { randomUUID } from 'node:crypto';
import { Harness, type AppJson } from '../helpers/harness.ts';

describe('conformance: RFC 8414 authorization server metadata', function () {
  this.timeout(30_000);
  const h = new Harness();
  let app: AppJson;
  before(async () => {
    await h.start();
    app = await h.createApp({ name: 'Metadata App' });
  });
  after(() => h.stop());

  it('serves the discovery document at /.well-known/oauth-authorization-server/apps/{app_id}', async () => {
    const res = await fetch(`${h.url}/.well-known/oauth-authorization-server/apps/${app.app_id}`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.include('application/json');
    const meta = (await res.json()) as Record<string, unknown>;
    const discovery = (await (await fetch(`${app.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(meta).to.deep.equal(discovery);
    expect(meta.issuer).to.equal(app.issuer);
  });

  it('is what an RFC 8414 client library finds for the issuer', async () => {
    const config = await oidc.discovery(new URL(app.issuer), app.client_id, undefined, oidc.None(), {
      algorithm: 'oauth2',
      execute: [oidc.allowInsecureRequests],
    });
    expect(config.serverMetadata().issuer).to.equal(app.issuer);
  });

  it('answers 404 for an unknown app, another spelling or a longer path', async () => {
    for (const path of [
      `/.well-known/oauth-authorization-server/apps/${randomUUID()}`,
      `/.WELL-KNOWN/oauth-authorization-server/apps/${app.app_id}`,
      `/.well-known/oauth-authorization-server/apps/${app.app_id}/token`,
      `/.well-known/oauth-authorization-server`,
    ]) {
      const res = await fetch(`${h.url}${path}`);
      expect(res.status, path).to.equal(404);
    }
  });
});
