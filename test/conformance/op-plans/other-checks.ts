// Checks outside the certification plans: a module of the oidcc-test-plan (not part of
// certification), and a rule of Postern's own. (The end-session POST, a MUST no official
// module sends, sits with the logout modules whose steps it shares.)
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { codeFlow, expectErrorPage, type Module } from './module.ts';

/** From the oidcc-test-plan (not a certification plan): no redirect_uri, two registered. */
export const REDIRECT_URI_REQUIRED: Module = {
  name: 'oidcc-ensure-redirect-uri-in-authorization-request',
  async run(run) {
    expect(run.rp.app.redirect_uris, 'the app registers two redirect URIs').to.have.length(2);
    const request = await run.rp.request(run.mode, { redirect_uri: undefined });
    expectErrorPage(await run.op.session().open(run.rp.authorizationUrl(request)), 'redirect_uri missing', /redirect_uri/);
  },
};

/**
 * Postern's own rule, not the spec's (which allows consent_required here): an app's
 * clients are first-party, so prompt=none succeeds while the session lasts, also after
 * the app revoked the refresh token it held (RFC 7009), as silent renew in browser apps needs.
 */
export const PROMPT_NONE_AFTER_REVOCATION: Module = {
  name: 'prompt-none-after-token-revocation',
  async run(run) {
    const user = run.op.person();
    const first = await codeFlow(run, { user, changes: { scope: 'openid offline_access', prompt: 'consent' } });
    expect(first.tokens.refresh_token, 'a refresh token to revoke').to.be.a('string');
    await oidc.tokenRevocation(run.rp.config, first.tokens.refresh_token!);
    const second = await codeFlow(run, { user, changes: { prompt: 'none' } });
    expect(second.idToken.claims.sub, 'the same person, silently').to.equal(first.idToken.claims.sub);
  },
};
