// The RP-Initiated Logout OP and Back-Channel Logout OP plans' modules. Each signs someone
// in, sends them to end_session_endpoint with the module's parameters, answers a sign-out
// confirmation if the OP asks (the suite's tester clicks it), and checks where they end up.
// Where the module expects the session gone, a prompt=none request must then come back
// with an error that needs the person (the suite's own final check).
import { expect } from 'chai';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { randomBytes } from 'node:crypto';
import { codeFlow, expectErrorResponse, expectOpPage, longState, USER_INTERFACE_ERRORS, type Flow, type Module, type ModuleRun } from './module.ts';
import { present, type RelyingParty } from './relying-party.ts';
import { describePage, UserAgent, type Arrival } from './user-agent.ts';
import { SKEW_SECONDS } from './id-token.ts';
import { CLIENT, type SigningAlg } from './variants.ts';


interface SignedIn {
  readonly user: UserAgent;
  readonly flow: Flow;
}

async function signedIn(run: ModuleRun, rp: RelyingParty = run.rp): Promise<SignedIn> {
  const user = run.op.person();
  return { user, flow: await codeFlow(run, { user, rp }) };
}

/** Goes to end_session_endpoint (GET, or POST of the parameters) and says yes if asked to confirm. */
async function signOut(user: UserAgent, rp: RelyingParty, params: Record<string, string>, method: 'GET' | 'POST' = 'GET'): Promise<Arrival> {
  const endpoint = rp.endpoint('end_session_endpoint');
  const arrival = method === 'POST' ? await user.open(endpoint, params) : await user.open(`${endpoint}?${new URLSearchParams(params)}`);
  return UserAgent.signOutForm(arrival) ? user.confirmSignOut(arrival) : arrival;
}

/** The session is gone: prompt=none ends in an error that needs the person (the suite's last step). */
async function expectSignedOut(run: ModuleRun, user: UserAgent, rp: RelyingParty = run.rp): Promise<void> {
  const request = await rp.request(run.mode, { prompt: 'none', state: longState() });
  expectErrorResponse(run, rp, request, await user.open(rp.authorizationUrl(request)), USER_INTERFACE_ERRORS);
}

/** Sent back to the registered post-logout URI, with the state sent (or none), and nothing unexpected. */
function expectPostLogoutRedirect(run: ModuleRun, arrival: Arrival, state: string | undefined): void {
  if (arrival.at === 'op') expect.fail(`no redirect to post_logout_redirect_uri; the OP showed ${describePage(arrival.page)}`);
  expect(`${arrival.url.origin}${arrival.url.pathname}`, 'post_logout_redirect_uri').to.equal(CLIENT.postLogoutRedirectUri);
  expect(arrival.method, 'a redirect').to.equal('GET');
  expect(arrival.params.get('state'), 'state').to.equal(state ?? null);
  const unexpected = [...arrival.params.keys()].filter((k) => k !== 'state');
  if (unexpected.length) run.warn(`post-logout redirect with unexpected parameters: ${unexpected.join(', ')}`);
}

/** The ID token re-signed by a key the OP has never seen (OIDCCRpInitiatedLogoutBadIdTokenHint). */
async function foreignIdToken(idToken: string, alg: SigningAlg): Promise<string> {
  const { privateKey } = await generateKeyPair(alg);
  return new SignJWT(decodeJwt(idToken)).setProtectedHeader({ alg, kid: randomBytes(8).toString('hex') }).sign(privateKey);
}

/** The ID token with its header changed to alg none and no signature (OIDCCRpInitiatedLogoutModifiedIdTokenHint). */
function unsignedIdToken(idToken: string): string {
  const [, payload] = idToken.split('.');
  return `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payload}.`;
}

type Expectation = 'redirect' | 'signed out here' | 'no redirect';

/**
 * One RP-initiated logout module: which parameters go to end_session_endpoint, and what
 * must follow. 'redirect': back to the post-logout URI with the state sent, then signed
 * out. 'signed out here': the OP's own "signed out" page, no redirect, signed out. 'no
 * redirect': an error page or a confirmation, and never the client.
 */
function logoutModule(
  name: string,
  expectation: Expectation,
  params: (flow: Flow, alg: SigningAlg) => Promise<Record<string, string | undefined>> | Record<string, string | undefined>,
): Module {
  return {
    name,
    async run(run) {
      const { user, flow } = await signedIn(run);
      const sent = present(await params(flow, run.op.variant.alg));
      const arrival = await signOut(user, run.rp, sent);
      if (expectation === 'no redirect') {
        expectOpPage(arrival, 'the OP must not redirect back');
        return;
      }
      if (expectation === 'redirect') expectPostLogoutRedirect(run, arrival, sent.state);
      else {
        const { page } = expectOpPage(arrival, 'no post_logout_redirect_uri: the OP shows its own page');
        expect(page.status, 'signed-out page').to.equal(200);
      }
      await expectSignedOut(run, user);
    },
  };
}

const full = (flow: Flow) => ({ id_token_hint: flow.tokens.id_token!, post_logout_redirect_uri: CLIENT.postLogoutRedirectUri, state: longState() });

export const RP_LOGOUT_MODULES: readonly Module[] = [
  logoutModule('oidcc-rp-initiated-logout', 'redirect', full),
  logoutModule('oidcc-rp-initiated-logout-bad-post-logout-redirect-uri', 'no redirect', (flow) => ({
    ...full(flow),
    post_logout_redirect_uri: `${CLIENT.postLogoutRedirectUri}/bad`,
  })),
  logoutModule('oidcc-rp-initiated-logout-modified-id-token-hint', 'no redirect', (flow) => ({ ...full(flow), id_token_hint: unsignedIdToken(flow.tokens.id_token!) })),
  logoutModule('oidcc-rp-initiated-logout-no-id-token-hint', 'no redirect', (flow) => ({ ...full(flow), id_token_hint: undefined })),
  logoutModule('oidcc-rp-initiated-logout-no-params', 'signed out here', () => ({})),
  logoutModule('oidcc-rp-initiated-logout-no-post-logout-redirect-uri', 'signed out here', (flow) => ({ ...full(flow), post_logout_redirect_uri: undefined })),
  logoutModule('oidcc-rp-initiated-logout-no-state', 'redirect', (flow) => ({ ...full(flow), state: undefined })),
  logoutModule('oidcc-rp-initiated-logout-only-state', 'signed out here', () => ({ state: longState() })),
  logoutModule('oidcc-rp-initiated-logout-query-added-to-post-logout-redirect-uri', 'no redirect', (flow) => ({
    ...full(flow),
    post_logout_redirect_uri: `${CLIENT.postLogoutRedirectUri}?foo=bar`,
  })),
  logoutModule('oidcc-rp-initiated-logout-bad-id-token-hint', 'no redirect', async (flow, alg) => ({
    ...full(flow),
    id_token_hint: await foreignIdToken(flow.tokens.id_token!, alg),
  })),
];

const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

export const BACKCHANNEL_MODULES: readonly Module[] = [
  {
    name: 'oidcc-backchannel-rp-initiated-logout',
    async run(run) {
      const path = `/backchannel_logout/${randomBytes(8).toString('hex')}`;
      const rp = await run.op.relyingParty(
        { backchannel_logout_uri: run.op.client.url(path), backchannel_logout_session_required: true },
        'back-channel logout',
      );
      const { user, flow } = await signedIn(run, rp);
      const sid = flow.idToken.claims.sid;
      expect(sid, 'sid in the ID token (Back-Channel Logout §2.1, required for certification)').to.be.a('string');
      const params = full(flow);
      expectPostLogoutRedirect(run, await signOut(user, rp, params), params.state);

      const request = await run.op.client.arrival(path, 1, 10_000);
      expect(request.method, 'logout request method (§2.5)').to.equal('POST');
      expect(request.contentType, 'logout request content type').to.include('application/x-www-form-urlencoded');
      const body = new URLSearchParams(request.body);
      const unexpected = [...body.keys()].filter((k) => k !== 'logout_token');
      if (unexpected.length) run.warn(`logout request with unexpected parameters: ${unexpected.join(', ')}`);
      const logoutToken = body.get('logout_token');
      expect(logoutToken, 'logout_token').to.be.a('string');

      // §2.4: signed as the app's ID tokens, iss/aud/iat/jti, the event, sub or sid, no nonce.
      const { payload } = await jwtVerify(logoutToken!, createLocalJWKSet(rp.jwks), {
        issuer: rp.issuer,
        audience: rp.clientId,
        algorithms: [run.op.variant.alg],
        clockTolerance: SKEW_SECONDS,
      });
      if (decodeProtectedHeader(logoutToken!).typ !== 'logout+jwt') run.warn('logout token typ is not logout+jwt (§2.4 recommends it)');
      const now = Math.floor(Date.now() / 1000);
      expect(payload.iat, 'iat').to.be.a('number').within(now - 86400, now + SKEW_SECONDS);
      expect(payload.jti, 'jti').to.be.a('string').that.is.not.empty;
      expect(payload.events, 'events').to.deep.equal({ [LOGOUT_EVENT]: {} });
      expect(payload, 'no nonce in a logout token').not.to.have.property('nonce');
      expect(payload.sid, 'sid, as the app requires it (backchannel_logout_session_required)').to.equal(sid);
      if (payload.sub !== undefined) expect(payload.sub, 'sub').to.equal(flow.idToken.claims.sub);
      await expectSignedOut(run, user, rp);
    },
  },
];

/** RP-Initiated Logout §2: the end_session_endpoint MUST support POST. No official module sends one. */
export const END_SESSION_BY_POST: Module = {
  name: 'rp-initiated-logout-by-post',
  async run(run) {
    const { user, flow } = await signedIn(run);
    const params = full(flow);
    expectPostLogoutRedirect(run, await signOut(user, run.rp, params, 'POST'), params.state);
    await expectSignedOut(run, user);
  },
};
