// What a module is (the official suite's name for it and a run), what a run gets to work
// with, and the flows the modules share, built as the suite's abstract modules build theirs.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { OpUnderTest } from './op-under-test.ts';
import type { AuthorizationRequest, Exchange, RelyingParty, ResponseMode } from './relying-party.ts';
import { describePage, type Arrival, type UserAgent } from './user-agent.ts';

export interface Module {
  /** The official module's test name (openid-certification/conformance-suite, @PublishTestModule testName). */
  readonly name: string;
  run(run: ModuleRun): Promise<void>;
}

export interface Plan {
  /** Certification profile, as the official plan names it. */
  readonly name: string;
  /** Each module runs once per mode: the Form Post OP plan is the Basic OP plan with response_mode=form_post. */
  readonly modes: readonly ResponseMode[];
  readonly modules: readonly Module[];
}

/** Thrown by `skip`: the module does not apply, for the reason given (the official suite's "skipped"). */
export class Skipped extends Error {}

/** One module, one variant, one response mode. */
export class ModuleRun {
  readonly warnings: string[] = [];
  readonly op: OpUnderTest;
  readonly mode: ResponseMode;

  constructor(op: OpUnderTest, mode: ResponseMode) {
    this.op = op;
    this.mode = mode;
  }

  get rp(): RelyingParty {
    return this.op.rp;
  }

  /** What the official suite reports as a warning: the module still passes. */
  warn(text: string): void {
    if (!this.warnings.includes(text)) this.warnings.push(text);
  }

  skip(reason: string): never {
    throw new Skipped(reason);
  }
}

export interface Flow extends Exchange {
  readonly request: AuthorizationRequest;
  readonly loginShown: boolean;
  readonly userinfo: Record<string, unknown>;
}

export interface FlowOptions {
  readonly rp?: RelyingParty;
  /** Who is at the browser: the shared session unless given. */
  readonly user?: UserAgent;
  readonly changes?: Record<string, string | undefined>;
  readonly pkce?: boolean;
  readonly method?: 'GET' | 'POST';
  readonly order?: 'alphabetical' | 'reversed';
  readonly maxAge?: number;
}

/**
 * The suite's happy flow (AbstractOIDCCServerTest): authorization request, sign-in if
 * asked, callback checks, code exchange, ID token checks, and a UserInfo call that must
 * answer 200.
 */
export async function codeFlow(run: ModuleRun, options: FlowOptions = {}): Promise<Flow> {
  const rp = options.rp ?? run.rp;
  const user = options.user ?? run.op.session();
  const request = await rp.request(run.mode, options.changes, options.pkce === undefined ? {} : { pkce: options.pkce });
  const { arrival, loginShown } = await user.authorize(rp, request, options);
  const exchange = await rp.exchange(request, arrival, options.maxAge === undefined ? {} : { maxAge: options.maxAge });
  const expiresIn = exchange.tokens.expires_in;
  if (typeof expiresIn !== 'number' || expiresIn <= 0) run.warn('token response without expires_in (RFC 6749 §5.1 recommends it)');
  const userinfo = await rp.userinfo(exchange.tokens.access_token);
  expect(userinfo.status, 'UserInfo with the access token').to.equal(200);
  return { ...exchange, request, loginShown, userinfo: userinfo.json ?? {} };
}

/** RFC 6749 §4.1.2.1, §5.2: error_description and error_uri use a restricted character set. */
export const ERROR_TEXT = /^[\x20-\x21\x23-\x5B\x5D-\x7E]*$/;

/**
 * An error sent back to the client (the suite's performGenericAuthorizationEndpointError-
 * ResponseValidation): one of `errors`, the state sent, no code, only the parameters an
 * error response has.
 */
export function expectErrorResponse(run: ModuleRun, rp: RelyingParty, request: AuthorizationRequest, arrival: Arrival, errors: readonly string[]): URLSearchParams {
  const params = rp.checkCallback(request, arrival);
  expect(errors, `error ${params.get('error')}: ${params.get('error_description')}`).to.include(params.get('error'));
  expect(params.get('state'), 'state returned unchanged').to.equal(request.params.state ?? null);
  expect(params.get('code'), 'no code beside an error').to.equal(null);
  const unexpected = [...params.keys()].filter((k) => !['error', 'error_description', 'error_uri', 'state', 'iss'].includes(k));
  if (unexpected.length) run.warn(`error response with unexpected parameters: ${unexpected.join(', ')}`);
  const description = params.get('error_description');
  if (description !== null) expect(ERROR_TEXT.test(description), `error_description characters: ${description}`).to.equal(true);
  const uri = params.get('error_uri');
  if (uri !== null) expect(URL.canParse(uri) && ERROR_TEXT.test(uri), `error_uri: ${uri}`).to.equal(true);
  return params;
}

/** The OP showed a page of its own and sent the browser nowhere (an error page, the suite's screenshot). */
export function expectOpPage(arrival: Arrival, what: string): Extract<Arrival, { at: 'op' }> {
  if (arrival.at === 'client') expect.fail(`${what}: the OP sent the browser to ${arrival.url.href} instead of showing a page`);
  return arrival;
}

/** An error page: a 4xx HTML page that names the problem. */
export function expectErrorPage(arrival: Arrival, what: string, mentions: RegExp): void {
  const { page } = expectOpPage(arrival, what);
  expect(page.status, `${what}: status of the error page (${describePage(page)})`).to.be.within(400, 499);
  expect(page.headers.get('content-type'), `${what}: an HTML page`).to.include('text/html');
  expect(page.body, `${what}: the page says what is wrong`).to.match(mentions);
}

/**
 * Waits until the real clock reads `epochSeconds`. The engine takes auth_time, and the
 * time it compares max_age with, from the real clock, which the Harness clock does not
 * move: only time makes a sign-in older. The sessions the modules reuse were signed in
 * when the variant's server started, so by then this seldom waits at all.
 */
export async function realClockReaches(epochSeconds: number): Promise<void> {
  const wait = epochSeconds * 1000 - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}

/** The errors a prompt=none request may end in when the OP would need the person (Core §3.1.2.6). */
export const USER_INTERFACE_ERRORS = ['interaction_required', 'login_required', 'account_selection_required', 'consent_required'] as const;

/** A state of 128 characters, as the prompt=none and logout modules send to see it come back whole. */
export const longState = (): string => randomBytes(96).toString('base64url');
