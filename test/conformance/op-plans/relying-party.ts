// The relying party of one app: openid-client configured from discovery as an RP of that
// app would be (its client authentication, its registered ID token algorithm), plus the
// raw HTTP a conformance check needs where openid-client hides the response (status,
// headers, error bodies, parameter order, POSTs it would never send).
import { expect } from 'chai';
import type { JSONWebKeySet } from 'jose';
import * as oidc from 'openid-client';
import type { AppJson } from '../../helpers/harness.ts';
import { checkIdToken, type IdToken } from './id-token.ts';
import { describePage, type Arrival } from './user-agent.ts';
import type { SigningAlg } from './variants.ts';

export type ResponseMode = 'default' | 'form_post';

/** An authorization request as sent: its parameters, and the PKCE verifier kept back. */
export interface AuthorizationRequest {
  readonly params: Readonly<Record<string, string>>;
  readonly verifier?: string;
}

export interface Exchange {
  readonly tokens: oidc.TokenEndpointResponse;
  readonly idToken: IdToken;
  readonly code: string;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, unknown> | undefined;
}

async function raw(res: Response): Promise<RawResponse> {
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json };
}

/** Request parameters with the unset ones left out (a module removes one by setting it undefined). */
export function present(params: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined));
}

export class RelyingParty {
  /** The last response of each endpoint openid-client called, by URL path. */
  readonly #seen = new Map<string, Response>();

  readonly app: AppJson;
  readonly alg: SigningAlg;
  readonly config: oidc.Configuration;
  readonly metadata: Record<string, unknown>;
  readonly jwks: JSONWebKeySet;

  private constructor(app: AppJson, alg: SigningAlg, config: oidc.Configuration, metadata: Record<string, unknown>, jwks: JSONWebKeySet) {
    this.app = app;
    this.alg = alg;
    this.config = config;
    this.metadata = metadata;
    this.jwks = jwks;
    config[oidc.customFetch] = async (url, options) => {
      const res = await fetch(url, options);
      this.#seen.set(new URL(url).pathname, res.clone());
      return res;
    };
  }

  /** Discovers the app's issuer and configures openid-client for its client. */
  static async of(app: AppJson, alg: SigningAlg): Promise<RelyingParty> {
    const secret = app.client_secret;
    const auth = !secret ? oidc.None() : app.token_endpoint_auth_method === 'client_secret_post' ? oidc.ClientSecretPost(secret) : oidc.ClientSecretBasic(secret);
    const config = await oidc.discovery(new URL(app.issuer), app.client_id, { id_token_signed_response_alg: alg }, auth, {
      execute: [oidc.allowInsecureRequests],
    });
    const metadata = config.serverMetadata() as Record<string, unknown>;
    const jwks = (await (await fetch(String(metadata.jwks_uri))).json()) as JSONWebKeySet;
    return new RelyingParty(app, alg, config, metadata, jwks);
  }

  get issuer(): string {
    return this.app.issuer;
  }

  get clientId(): string {
    return this.app.client_id;
  }

  get confidential(): boolean {
    return this.app.client_secret !== undefined;
  }

  endpoint(name: string): string {
    const url = this.metadata[name];
    if (typeof url !== 'string') throw new Error(`discovery has no ${name}`);
    return url;
  }

  /**
   * A code flow request as the suite builds it: state, nonce, scope openid, the
   * registered redirect URI, PKCE for a public client (or when `pkce`), form_post in that
   * mode. `changes` sets parameters, or removes them (undefined).
   */
  async request(mode: ResponseMode, changes: Record<string, string | undefined> = {}, options: { pkce?: boolean } = {}): Promise<AuthorizationRequest> {
    const pkce = options.pkce ?? !this.confidential;
    const verifier = pkce ? oidc.randomPKCECodeVerifier() : undefined;
    const params: Record<string, string | undefined> = {
      client_id: this.clientId,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: String(this.app.redirect_uris[0]),
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      ...(verifier && { code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' }),
      ...(mode === 'form_post' && { response_mode: 'form_post' }),
      ...changes,
    };
    return verifier ? { params: present(params), verifier } : { params: present(params) };
  }

  /** The authorization URL, parameters in alphabetical order (or reversed, to check order does not matter). */
  authorizationUrl(request: AuthorizationRequest, order: 'alphabetical' | 'reversed' = 'alphabetical'): string {
    const entries = Object.entries(request.params).sort(([a], [b]) => (a < b ? -1 : 1));
    if (order === 'reversed') entries.reverse();
    return `${this.endpoint('authorization_endpoint')}?${new URLSearchParams(entries)}`;
  }

  /**
   * Checks the authorization response as the suite does, then exchanges the code with
   * openid-client and runs the ID token checks. The token response must not be cached
   * (RFC 6749 §5.1).
   */
  async exchange(request: AuthorizationRequest, arrival: Arrival, checks: { maxAge?: number } = {}): Promise<Exchange> {
    const params = this.checkCallback(request, arrival);
    if (arrival.at !== 'client') throw new Error('unreachable: checkCallback saw the client');
    const code = params.get('code');
    expect(params.get('error'), `authorization error: ${params.get('error_description')}`).to.equal(null);
    expect(code, 'code in the authorization response').to.be.a('string');
    const current =
      arrival.method === 'GET'
        ? arrival.url
        : new Request(arrival.url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: arrival.params });
    const tokens = await oidc.authorizationCodeGrant(this.config, current, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.params.state,
      expectedNonce: request.params.nonce,
      idTokenExpected: true,
      ...(checks.maxAge !== undefined && { maxAge: checks.maxAge }),
    });
    this.expectNotCached(this.endpoint('token_endpoint'));
    expect(tokens.token_type.toLowerCase(), 'token_type').to.equal('bearer');
    const idToken = await this.checkIdToken(tokens.id_token!, { nonce: request.params.nonce, accessToken: tokens.access_token, code: code! });
    return { tokens, idToken, code: code! };
  }

  checkIdToken(raw: string, extra: { nonce?: string | undefined; accessToken?: string; code?: string } = {}): Promise<IdToken> {
    return checkIdToken(raw, { issuer: this.issuer, clientId: this.clientId, alg: this.alg, jwks: this.jwks, ...extra });
  }

  /**
   * The parameters of an authorization response, after the checks every callback gets:
   * it came to the redirect URI sent, by the response mode asked for (form_post: a POST
   * with nothing in the query), and `iss` names this issuer (RFC 9207).
   */
  checkCallback(request: AuthorizationRequest, arrival: Arrival): URLSearchParams {
    if (arrival.at === 'op') expect.fail(`the OP did not send the browser back to the client; it showed ${describePage(arrival.page)}`);
    expect(`${arrival.url.origin}${arrival.url.pathname}`, 'callback to the redirect_uri sent').to.equal(request.params.redirect_uri);
    if (request.params.response_mode === 'form_post') {
      expect(arrival.method, 'form_post: the response is POSTed').to.equal('POST');
      expect([...arrival.url.searchParams.keys()], 'form_post: nothing in the query').to.deep.equal([]);
    } else {
      expect(arrival.method, 'query response mode').to.equal('GET');
    }
    const iss = arrival.params.get('iss');
    // RFC 9207 §2: an OP that advertises the parameter sends it in every response.
    if (this.metadata.authorization_response_iss_parameter_supported === true) expect(iss, 'iss, as discovery advertises it').to.not.equal(null);
    if (iss !== null) expect(iss, 'iss in the authorization response (RFC 9207)').to.equal(this.issuer);
    return arrival.params;
  }

  /** RFC 6749 §5.1: token responses carry Cache-Control: no-store and Pragma: no-cache. */
  expectNotCached(endpoint: string): void {
    const res = this.#seen.get(new URL(endpoint).pathname);
    expect(res, `a response from ${endpoint}`).to.not.equal(undefined);
    expect(res!.headers.get('cache-control'), 'Cache-Control').to.include('no-store');
    expect(res!.headers.get('pragma'), 'Pragma').to.equal('no-cache');
  }

  /** A raw token endpoint request with this client's authentication. */
  async tokenRequest(body: Record<string, string>): Promise<RawResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    const form = new URLSearchParams(body);
    const secret = this.app.client_secret;
    if (!secret) form.set('client_id', this.clientId);
    else if (this.app.token_endpoint_auth_method === 'client_secret_post') {
      form.set('client_id', this.clientId);
      form.set('client_secret', secret);
    } else {
      // RFC 6749 §2.3.1: each part form-encoded before base64.
      const part = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
      headers.authorization = `Basic ${Buffer.from(`${part(this.clientId)}:${part(secret)}`).toString('base64')}`;
    }
    return raw(await fetch(this.endpoint('token_endpoint'), { method: 'POST', headers, body: form }));
  }

  /** The UserInfo endpoint as the three userinfo modules call it. */
  async userinfo(accessToken: string, how: 'get' | 'post-header' | 'post-body' = 'get'): Promise<RawResponse> {
    const url = this.endpoint('userinfo_endpoint');
    if (how === 'get') return raw(await fetch(url, { headers: { authorization: `Bearer ${accessToken}` } }));
    if (how === 'post-header') return raw(await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${accessToken}` } }));
    return raw(
      await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ access_token: accessToken }),
      }),
    );
  }
}
