// The Basic OP plan (oidcc-basic-certification-test-plan), module by module in the
// official order; run again with response_mode=form_post it is the Form Post OP plan.
// Each entry says in a comment what the official module checks where this one differs.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { expectUnguessable, expectUserInfo, expectValidJwks } from './checks.ts';
import { SCOPE_CLAIMS, unrequestedClaims } from './id-token.ts';
import {
  codeFlow,
  ERROR_TEXT,
  expectErrorPage,
  expectErrorResponse,
  realClockReaches,
  longState,
  USER_INTERFACE_ERRORS,
  type Flow,
  type Module,
  type ModuleRun,
} from './module.ts';
import { present, type AuthorizationRequest, type RelyingParty } from './relying-party.ts';
import { CLIENT } from './variants.ts';


/** The suite's same-authentication checks (AbstractOIDCCSameAuthTwiceServerTest). */
function expectSameAuthentication(first: Flow, second: Flow): void {
  expect(second.loginShown, 'no login page the second time').to.equal(false);
  expect(second.idToken.claims.sub, 'the same sub').to.equal(first.idToken.claims.sub);
  if (first.idToken.claims.auth_time !== undefined && second.idToken.claims.auth_time !== undefined) {
    expect(second.idToken.claims.auth_time, 'the same auth_time').to.equal(first.idToken.claims.auth_time);
  }
}

/** A request object sent unsigned (alg none), claims as the request's parameters. */
function unsignedRequestObject(request: AuthorizationRequest): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'none' })}.${part(request.params)}.`;
}

/** The parameters the suite repeats outside a request object (OpenID Connect Core §6.1). */
function outsideRequestObject(request: AuthorizationRequest): Record<string, string> {
  const { client_id, response_type, scope, redirect_uri } = request.params;
  return present({ client_id, response_type, scope, redirect_uri });
}

function scopesSupported(rp: RelyingParty): string[] {
  return (rp.metadata.scopes_supported as string[] | undefined) ?? [];
}

/**
 * oidcc-scope-*: skipped by the suite when discovery does not list every scope asked for.
 * This equivalent also asks anyway, and checks what Postern answers: the sign-in goes
 * through, the unknown scope is dropped from the grant, and none of its claims is released.
 */
function scopeModule(name: string, scopes: readonly string[]): Module {
  return {
    name,
    async run(run) {
      const scope = ['openid', ...scopes].join(' ');
      const flow = await codeFlow(run, { changes: { scope } });
      const info = expectUserInfo(flow.userinfo, flow.idToken.claims.sub);
      const missing = scopes.filter((s) => !scopesSupported(run.rp).includes(s));
      if (missing.length) {
        const granted = String(flow.tokens.scope ?? '').split(' ');
        for (const s of missing) expect(granted, `unsupported scope ${s} is not granted`).not.to.include(s);
        const released = missing.flatMap((s) => SCOPE_CLAIMS[s] ?? []).filter((c) => c in info || c in flow.idToken.claims);
        expect(released, 'no claim of an unsupported scope is released').to.deep.equal([]);
        run.skip(`scope not supported: Postern issues only ${scopesSupported(run.rp).join(', ')}; asked for ${missing.join(', ')}, it signs in and drops them`);
      }
      for (const s of scopes) {
        if (!(SCOPE_CLAIMS[s] ?? []).some((c) => c in info)) run.warn(`UserInfo returned no claim of scope ${s}`);
      }
      if (scopes.includes('email') && 'email' in flow.idToken.claims) {
        run.warn('email is in the ID token as well as in UserInfo (by design: Postern puts it in every ID token; the suite warns, Core §5.4)');
      }
    },
  };
}

/** A module that adds parameters to an otherwise normal flow, which must succeed (Core §3.1.2.1, §15.1). */
function parameterModule(name: string, changes: Record<string, string>, options: { freshBrowser?: boolean } = {}): Module {
  return {
    name,
    async run(run) {
      // The suite asks the tester to clear cookies first where it wants to see a login page.
      const user = options.freshBrowser ? run.op.person() : run.op.session();
      const flow = await codeFlow(run, { user, changes });
      if (options.freshBrowser) expect(flow.loginShown, 'a browser without a session is shown the login page').to.equal(true);
    },
  };
}

function userinfoModule(name: string, how: 'get' | 'post-header' | 'post-body'): Module {
  return {
    name,
    async run(run) {
      const flow = await codeFlow(run);
      const res = await run.rp.userinfo(flow.tokens.access_token, how);
      if (how === 'post-body' && res.status >= 400) {
        run.warn('UserInfo does not take the access token in a POST body (optional, RFC 6750 §2.2)');
        return;
      }
      expect(res.status, `UserInfo by ${how}`).to.equal(200);
      expect(res.headers.get('content-type'), 'UserInfo content type').to.include('application/json');
      expectUserInfo(res.json, flow.idToken.claims.sub);
    },
  };
}

/**
 * A second use of a code: 400 invalid_grant. The suite only warns when the OP accepts it;
 * RFC 6749 §4.1.2 says MUST deny, so here it fails. After `travel` seconds (Harness
 * clock) the access token from the first use should be revoked (SHOULD: a warning).
 */
function codeReuseModule(name: string, travel: number): Module {
  return {
    name,
    async run(run) {
      const flow = await codeFlow(run);
      if (travel) {
        // Every mail is sent and gone from the outbox before the clock jumps past its leases.
        await run.op.h.server.mailQueue.idle();
        run.op.h.clock.travel(travel);
      }
      const again = await run.rp.tokenRequest({
        grant_type: 'authorization_code',
        code: flow.code,
        redirect_uri: String(flow.request.params.redirect_uri),
        ...(flow.request.verifier && { code_verifier: flow.request.verifier }),
      });
      expect(again.status, 'second use of the code').to.equal(400);
      expect(again.headers.get('content-type'), 'JSON error').to.include('application/json');
      expect(again.json?.error, 'error').to.equal('invalid_grant');
      const description = again.json?.error_description;
      if (description !== undefined) expect(String(description), 'error_description characters').to.match(ERROR_TEXT);
      if (travel) {
        const userinfo = await run.rp.userinfo(flow.tokens.access_token);
        if (userinfo.status < 400 || userinfo.status >= 500) run.warn('the access token from the first use still works (RFC 6749 §4.1.2: SHOULD be revoked)');
      }
    },
  };
}

/** oidcc-ensure-request-object-with-redirect-uri and the unsigned request object module share this request. */
async function requestObjectByValue(run: ModuleRun, outerRedirectUri?: string) {
  const request = await run.rp.request(run.mode);
  const outside = { ...outsideRequestObject(request), ...(outerRedirectUri && { redirect_uri: outerRedirectUri }) };
  const url = `${run.rp.endpoint('authorization_endpoint')}?${new URLSearchParams({ ...outside, request: unsignedRequestObject(request) })}`;
  const { arrival } = await run.op.session().visit(url);
  return { request, arrival };
}

export const BASIC_MODULES: readonly Module[] = [
  {
    name: 'oidcc-server',
    async run(run) {
      const flow = await codeFlow(run);
      expectUnguessable(flow.code, 'authorization code');
      const extra = unrequestedClaims(flow.idToken.claims, String(flow.request.params.scope));
      if (extra.length) run.warn(`ID token carries claims scope openid did not ask for: ${extra.join(', ')} (by design; the suite warns)`);
    },
  },
  {
    name: 'oidcc-response-type-missing',
    async run(run) {
      // Either an error back to the client (invalid_request or unsupported_response_type) or an error page.
      const request = await run.rp.request(run.mode, { response_type: undefined });
      const arrival = await run.op.session().open(run.rp.authorizationUrl(request));
      if (arrival.at === 'op') expectErrorPage(arrival, 'response_type missing', /response_type/);
      else expectErrorResponse(run, run.rp, request, arrival, ['invalid_request', 'unsupported_response_type']);
    },
  },
  {
    name: 'oidcc-idtoken-signature',
    async run(run) {
      // Every ID token is checked for kid, the app's registered algorithm and its signature.
      await codeFlow(run);
      expectValidJwks(run.rp.jwks);
      if (run.op.variant.alg !== 'RS256') {
        run.warn(
          `the official module FAILS here: it expects RS256, the Dynamic Registration default, and this app signs with ${run.op.variant.alg} (Postern's default); certify with an RS256 app`,
        );
      }
    },
  },
  {
    name: 'oidcc-idtoken-unsigned',
    async run(run) {
      const algs = (run.rp.metadata.id_token_signing_alg_values_supported as string[] | undefined) ?? [];
      expect(algs, 'Postern never advertises unsigned ID tokens').not.to.include('none');
      const refused = await run.op.h.admin('POST', '/admin/apps', { name: 'Unsigned', redirect_uris: [CLIENT.redirectUri], id_token_signed_response_alg: 'none' });
      expect(refused.status, 'registering alg none is refused').to.equal(400);
      run.skip("alg none not supported: not in id_token_signing_alg_values_supported (not required), and the admin API refuses it");
    },
  },
  userinfoModule('oidcc-userinfo-get', 'get'),
  userinfoModule('oidcc-userinfo-post-header', 'post-header'),
  userinfoModule('oidcc-userinfo-post-body', 'post-body'),
  {
    name: 'oidcc-ensure-request-without-nonce-succeeds-for-code-flow',
    async run(run) {
      // The suite stops at the code: nonce is only required where the authorization endpoint returns an ID token.
      const request = await run.rp.request(run.mode, { nonce: undefined });
      const { arrival } = await run.op.session().authorize(run.rp, request);
      const params = run.rp.checkCallback(request, arrival);
      expect(params.get('error'), `error: ${params.get('error_description')}`).to.equal(null);
      expect(params.get('code'), 'code').to.be.a('string');
      expect(params.get('state'), 'state').to.equal(request.params.state);
    },
  },
  scopeModule('oidcc-scope-profile', ['profile']),
  scopeModule('oidcc-scope-email', ['email']),
  scopeModule('oidcc-scope-address', ['address']),
  scopeModule('oidcc-scope-phone', ['phone']),
  scopeModule('oidcc-scope-all', ['email', 'phone', 'address', 'profile']),
  {
    // Formerly oidcc-ensure-other-scope-order-succeeds: scope email openid, parameters in reverse order.
    name: 'oidcc-alternate-happy-flow',
    async run(run) {
      const flow = await codeFlow(run, { changes: { scope: 'email openid' }, order: 'reversed' });
      expect(expectUserInfo(flow.userinfo, flow.idToken.claims.sub).email, 'email in UserInfo').to.be.a('string');
    },
  },
  parameterModule('oidcc-display-page', { display: 'page' }, { freshBrowser: true }),
  parameterModule('oidcc-display-popup', { display: 'popup' }, { freshBrowser: true }),
  {
    name: 'oidcc-prompt-login',
    async run(run) {
      const user = run.op.session();
      const first = await codeFlow(run, { user });
      // A sign-in in a later second than the first, so auth_time can tell them apart.
      await realClockReaches(Number(first.idToken.claims.auth_time ?? 0) + 1);
      const second = await codeFlow(run, { user, changes: { prompt: 'login' } });
      expect(second.loginShown, 'prompt=login: the person signs in again').to.equal(true);
      const [before, after] = [first.idToken.claims.auth_time, second.idToken.claims.auth_time];
      if (typeof before === 'number' && typeof after === 'number') expect(after, 'second auth_time later').to.be.above(before);
    },
  },
  {
    name: 'oidcc-prompt-none-not-logged-in',
    async run(run) {
      const request = await run.rp.request(run.mode, { prompt: 'none', state: longState() });
      const arrival = await run.op.person().open(run.rp.authorizationUrl(request));
      expectErrorResponse(run, run.rp, request, arrival, USER_INTERFACE_ERRORS);
    },
  },
  {
    name: 'oidcc-prompt-none-logged-in',
    async run(run) {
      const user = run.op.session();
      const first = await codeFlow(run, { user });
      expectSameAuthentication(first, await codeFlow(run, { user, changes: { prompt: 'none' } }));
    },
  },
  {
    name: 'oidcc-max-age-1',
    async run(run) {
      // The suite waits two seconds; this session was signed in when the variant started.
      const user = run.op.session('aged');
      const first = await codeFlow(run, { user });
      await realClockReaches(Number(first.idToken.claims.auth_time ?? 0) + 2);
      const second = await codeFlow(run, { user, changes: { max_age: '1' }, maxAge: 1 });
      expect(second.loginShown, 'max_age=1: a sign-in older than a second means signing in again').to.equal(true);
      const authTime = second.idToken.claims.auth_time;
      expect(authTime, 'auth_time is required when max_age was asked (Core §3.1.2.1)').to.be.a('number');
      expect(authTime, 'second auth_time later than the first').to.be.above(Number(first.idToken.claims.auth_time));
      expect(authTime, 'auth_time recent').to.be.at.least(Math.floor(Date.now() / 1000) - 301);
    },
  },
  {
    name: 'oidcc-max-age-10000',
    async run(run) {
      const user = run.op.session();
      const first = await codeFlow(run, { user, changes: { max_age: '15000' }, maxAge: 15000 });
      expect(first.idToken.claims.auth_time, 'auth_time with max_age').to.be.a('number');
      const second = await codeFlow(run, { user, changes: { max_age: '10000' }, maxAge: 10000 });
      expect(second.idToken.claims.auth_time, 'auth_time with max_age').to.be.a('number');
      expectSameAuthentication(first, second);
    },
  },
  parameterModule('oidcc-ensure-request-with-unknown-parameter-succeeds', { extra: 'foobar' }),
  {
    name: 'oidcc-id-token-hint',
    async run(run) {
      const user = run.op.session();
      const first = await codeFlow(run, { user });
      expectSameAuthentication(first, await codeFlow(run, { user, changes: { prompt: 'none', id_token_hint: first.tokens.id_token! } }));
    },
  },
  {
    name: 'oidcc-login-hint',
    async run(run) {
      const user = run.op.person();
      const flow = await codeFlow(run, { user, changes: { login_hint: user.email } });
      expect(flow.loginShown, 'a browser without a session is shown the login page').to.equal(true);
      expect(flow.idToken.claims.sub, 'signed in as the hinted address').to.equal(user.email);
    },
  },
  parameterModule('oidcc-ui-locales', { ui_locales: 'se' }, { freshBrowser: true }),
  parameterModule('oidcc-claims-locales', { claims_locales: 'se' }),
  {
    name: 'oidcc-ensure-request-with-acr-values-succeeds',
    async run(run) {
      const requested = (run.rp.metadata.acr_values_supported as string[] | undefined) ?? ['1', '2'];
      const flow = await codeFlow(run, { changes: { acr_values: requested.join(' ') } });
      const acr = flow.idToken.claims.acr;
      if (typeof acr !== 'string' || !requested.includes(acr)) {
        run.warn('no requested acr in the ID token (SHOULD; Core §15.1 only requires that acr_values cause no error)');
      }
    },
  },
  codeReuseModule('oidcc-codereuse', 0),
  codeReuseModule('oidcc-codereuse-30seconds', 30),
  {
    name: 'oidcc-ensure-registered-redirect-uri',
    async run(run) {
      // An error page; the browser is sent neither to the unregistered URI nor to a registered one.
      const unregistered = `${CLIENT.redirectUri}/${randomBytes(8).toString('hex')}`;
      const request = await run.rp.request(run.mode, { redirect_uri: unregistered });
      expectErrorPage(await run.op.session().open(run.rp.authorizationUrl(request)), 'unregistered redirect_uri', /redirect_uri/);
    },
  },
  {
    name: 'oidcc-ensure-post-request-succeeds',
    async run(run) {
      // Core §3.1.2.1: the authorization endpoint MUST support POST. The suite only warns
      // when the callback never comes; here the whole flow must succeed.
      await codeFlow(run, { method: 'POST' });
    },
  },
  {
    name: 'oidcc-server-client-secret-post',
    async run(run) {
      if (!run.op.variant.confidential) run.skip('not applicable: a public client has no secret (token_endpoint_auth_method none)');
      expect(run.rp.metadata.token_endpoint_auth_methods_supported, 'discovery').to.include('client_secret_post');
      const rp = await run.op.relyingParty({ token_endpoint_auth_method: 'client_secret_post' }, 'client_secret_post');
      expectUnguessable((await codeFlow(run, { rp })).code, 'authorization code');
    },
  },
  {
    name: 'oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported',
    async run(run) {
      const algs = run.rp.metadata.request_object_signing_alg_values_supported;
      if (Array.isArray(algs) && !algs.includes('none')) run.skip("'none' is not in request_object_signing_alg_values_supported");
      const request = await run.rp.request(run.mode);
      const uri = run.op.client.publish(`/request/${randomBytes(8).toString('hex')}`, 'application/oauth-authz-req+jwt', unsignedRequestObject(request));
      const url = `${run.rp.endpoint('authorization_endpoint')}?${new URLSearchParams({ ...outsideRequestObject(request), request_uri: uri })}`;
      const { arrival } = await run.op.session().visit(url);
      if (arrival.at === 'client' && arrival.params.get('error') === 'request_uri_not_supported') {
        run.skip('request_uri not supported: the OP answers request_uri_not_supported, as the module allows');
      }
      await run.rp.exchange(request, arrival);
    },
  },
  {
    name: 'oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported',
    async run(run) {
      const { request, arrival } = await requestObjectByValue(run);
      if (arrival.at === 'client' && arrival.params.get('error') === 'request_not_supported') {
        // State was only inside the request object: it need not come back.
        run.skip('request objects not supported: the OP answers request_not_supported, as the module allows');
      }
      await run.rp.exchange(request, arrival);
    },
  },
  {
    name: 'oidcc-claims-essential',
    async run(run) {
      const flow = await codeFlow(run, { changes: { claims: JSON.stringify({ userinfo: { name: { essential: true } } }) } });
      if (!('name' in expectUserInfo(flow.userinfo, flow.idToken.claims.sub))) {
        run.warn('no name claim: Postern knows only an email address (and does not support the claims parameter)');
      }
      if ('name' in flow.idToken.claims) run.warn('name asked for UserInfo is in the ID token');
    },
  },
  {
    name: 'oidcc-ensure-request-object-with-redirect-uri',
    async run(run) {
      // The redirect_uri inside the request object wins if request objects are processed;
      // otherwise the invalid one outside must end in an error page, never a redirect.
      const { request, arrival } = await requestObjectByValue(run, `${CLIENT.redirectUri}_invalid`);
      if (arrival.at === 'op') return expectErrorPage(arrival, 'invalid redirect_uri outside the request object', /redirect_uri/);
      expect(arrival.params.get('error'), 'redirected to a registered URI although the redirect_uri sent was invalid').not.to.equal('request_not_supported');
      await run.rp.exchange(request, arrival);
    },
  },
  {
    name: 'oidcc-refresh-token',
    async run(run) {
      const offline = scopesSupported(run.rp).includes('offline_access');
      // Core §11: offline_access is asked for with prompt=consent.
      const changes = offline ? { scope: 'openid offline_access', prompt: 'consent' } : {};
      const first = await codeFlow(run, { changes });
      const refreshToken = first.tokens.refresh_token;
      const grants = (run.rp.metadata.grant_types_supported as string[] | undefined) ?? [];
      if (!refreshToken && !grants.includes('refresh_token')) run.skip('refresh tokens not supported');
      expect(refreshToken, 'a refresh token, as discovery advertises the grant and offline_access').to.be.a('string');
      expectUnguessable(refreshToken!, 'refresh token');

      const refreshed = await oidc.refreshTokenGrant(run.rp.config, refreshToken!, { scope: String(first.request.params.scope) });
      run.rp.expectNotCached(run.rp.endpoint('token_endpoint'));
      expect(refreshed.token_type.toLowerCase(), 'token_type').to.equal('bearer');
      expectUnguessable(refreshed.access_token, 'access token');
      if (refreshed.expires_in === undefined) run.warn('refresh response without expires_in');
      if (refreshed.refresh_token) expectUnguessable(refreshed.refresh_token, 'new refresh token');
      if (refreshed.id_token) {
        // Core §12.2: same iss, sub, aud and auth_time; a new iat.
        const again = await run.rp.checkIdToken(refreshed.id_token, { accessToken: refreshed.access_token });
        for (const claim of ['iss', 'sub', 'aud', 'auth_time', 'azp'] as const) {
          expect(again.claims[claim], `refreshed ID token ${claim}`).to.deep.equal(first.idToken.claims[claim]);
        }
        if (again.claims.nonce !== undefined) expect(again.claims.nonce, 'nonce, if any, as before').to.equal(first.idToken.claims.nonce);
      }
      expect((await run.rp.userinfo(refreshed.access_token)).status, 'UserInfo with the refreshed access token').to.equal(200);

      // The refresh token of a second client, used by the first: refused.
      const second = await run.op.relyingParty({}, 'second client');
      const other = await codeFlow(run, { rp: second, changes });
      const crossed = await run.rp.tokenRequest({ grant_type: 'refresh_token', refresh_token: other.tokens.refresh_token! });
      expect(crossed.status, "another client's refresh token").to.equal(400);
      expect(crossed.headers.get('content-type')).to.include('application/json');
      expect(crossed.json?.error, 'error').to.equal('invalid_grant');
    },
  },
  {
    name: 'oidcc-ensure-request-with-valid-pkce-succeeds',
    async run(run) {
      await codeFlow(run, { pkce: true });
    },
  },
];
