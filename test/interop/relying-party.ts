// What the interop tests ask of a relying party built on someone else's OIDC library, and
// the one journey every such app must complete against Postern: sign-in, refresh and
// RP-initiated logout. The app knows only what any provider's app knows (issuer URL,
// client_id, client_secret, redirect URIs) and learns the rest from discovery; the test
// plays the person in a Browser (the hosted login page, the mailed link, "Sign out").
import { expect } from 'chai';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { decodeProtectedHeader } from 'jose';
import { Browser } from '../helpers/browser.ts';
import { REDIRECT_URI, type AppJson, type Harness } from '../helpers/harness.ts';

export type Claims = Record<string, unknown>;

export interface SignedIn {
  /** The ID token as received; its claims as the library validated them. */
  readonly idToken: string;
  readonly claims: Claims;
  readonly userinfo: Claims;
}

export interface RelyingParty {
  /** Starts a sign-in: the URL the app sends the browser to. */
  authorize(): Promise<string>;
  /** The browser came back to the redirect URI: the library checks it, redeems the code and validates the ID token. */
  callback(url: string): Promise<SignedIn>;
  /** Uses the refresh token; the library validates the new ID token. */
  refresh(): Promise<{ idToken: string; claims: Claims }>;
  /** The end-session URL (with id_token_hint, post_logout_redirect_uri and state). */
  logout(): Promise<string>;
  /** The browser came back to the post_logout_redirect_uri: the app checks its state. */
  loggedOut(url: string): Promise<void>;
  close(): Promise<void>;
}

/** What an app registers at Postern to be driven by the journey below (and REDIRECT_URI). */
export const POST_LOGOUT_REDIRECT_URI = 'http://localhost:8080/signed-out';

export const appFields = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  redirect_uris: [REDIRECT_URI],
  post_logout_redirect_uris: [POST_LOGOUT_REDIRECT_URI],
  ...extra,
});

/** The RP's view of an app: nothing Postern-specific, exactly what an operator hands a developer. */
export function rpSettings(app: AppJson) {
  return {
    issuer: app.issuer,
    clientId: app.client_id,
    clientSecret: app.client_secret,
    redirectUri: REDIRECT_URI,
    postLogoutRedirectUri: POST_LOGOUT_REDIRECT_URI,
  };
}

/** The two kinds of app every library is tried with. */
export const CLIENT_KINDS = [
  ['public app (PKCE, no secret)', { token_endpoint_auth_method: 'none' }],
  ['confidential app (client_secret_basic and PKCE)', { token_endpoint_auth_method: 'client_secret_basic' }],
] as const;

/** Runs `steps` with the app, and closes it whatever happens. */
export async function withApp<T>(rp: RelyingParty, steps: (rp: RelyingParty) => Promise<T>): Promise<T> {
  try {
    return await steps(rp);
  } finally {
    await rp.close();
  }
}

/**
 * Sign-in, refresh and RP-initiated logout, with the checks that the library did its part
 * (PKCE, the ID token's algorithm and claims, userinfo) and that the logout ended the
 * session (the next sign-in shows the login page again).
 */
export async function signInRefreshSignOut(h: Harness, app: AppJson, rp: RelyingParty, opts: { email: string; alg: string }) {
  const browser = new Browser();
  const start = new URL(await rp.authorize());
  expect(start.searchParams.get('code_challenge_method'), 'PKCE').to.equal('S256');
  const loginPage = await browser.navigate(start.href, {}, REDIRECT_URI);
  expect(loginPage.status, loginPage.body.slice(0, 400)).to.equal(200);
  const { callbackUrl } = await h.confirmSignIn(browser, loginPage, opts.email, REDIRECT_URI);

  const signedIn = await rp.callback(callbackUrl);
  expect(decodeProtectedHeader(signedIn.idToken).alg).to.equal(opts.alg);
  expect(signedIn.claims).to.include({ iss: app.issuer, sub: opts.email, email: opts.email, email_verified: true });
  expect(signedIn.userinfo).to.include({ sub: opts.email, email: opts.email });

  const refreshed = await rp.refresh();
  expect(refreshed.idToken).not.to.equal(signedIn.idToken);
  expect(decodeProtectedHeader(refreshed.idToken).alg).to.equal(opts.alg);
  expect(refreshed.claims).to.include({ iss: app.issuer, sub: opts.email, auth_time: signedIn.claims.auth_time });

  const end = new URL(await rp.logout());
  expect(end.searchParams.get('id_token_hint')).to.be.a('string');
  const landing = await h.confirmSignOut(browser, end.href, POST_LOGOUT_REDIRECT_URI);
  expect(landing.startsWith(POST_LOGOUT_REDIRECT_URI), landing).to.equal(true);
  await rp.loggedOut(landing);

  const again = await browser.navigate(await rp.authorize(), {}, REDIRECT_URI);
  expect(again.status).to.equal(200);
  expect(again.body, 'the session ended: the login page again').to.include('name="email"');
}

/**
 * A relying party in another language, run as a child process and driven one step at a
 * time: the test writes a command line (`authorize`, `callback URL`, `refresh`, `logout`,
 * `logged_out URL`), the app answers with one JSON line, or exits with its error on
 * stderr. Every step waits on the app's answer, never on a timer.
 */
export class ProcessRelyingParty implements RelyingParty {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: AsyncIterator<string>;
  /** Settles when the program has exited and its output is read (also when it never started). */
  readonly #closed: Promise<unknown>;
  #stderr = '';

  /** The app's settings reach the program as ISSUER, CLIENT_ID, CLIENT_SECRET (empty for a public app), REDIRECT_URI and POST_LOGOUT_REDIRECT_URI. */
  constructor(command: string, args: readonly string[], app: AppJson) {
    const rp = rpSettings(app);
    const env = {
      ISSUER: rp.issuer,
      CLIENT_ID: rp.clientId,
      CLIENT_SECRET: rp.clientSecret ?? '',
      REDIRECT_URI: rp.redirectUri,
      POST_LOGOUT_REDIRECT_URI: rp.postLogoutRedirectUri,
    };
    this.#child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.#child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (this.#stderr += chunk));
    this.#child.on('error', (err) => void (this.#stderr += `${err.message}\n`));
    this.#closed = new Promise((resolve) => this.#child.once('close', resolve));
    this.#lines = createInterface({ input: this.#child.stdout })[Symbol.asyncIterator]();
  }

  async #ask(command: string): Promise<Record<string, unknown>> {
    this.#child.stdin.write(`${command}\n`);
    const { value, done } = await this.#lines.next();
    if (done) {
      const code = await this.#closed;
      throw new Error(`the relying party exited (${String(code)}) at "${command.split(' ')[0]}":\n${this.#stderr}`);
    }
    return JSON.parse(value) as Record<string, unknown>;
  }

  async authorize() {
    return (await this.#ask('authorize')).url as string;
  }

  async callback(url: string) {
    const answer = await this.#ask(`callback ${url}`);
    return { idToken: answer.id_token as string, claims: answer.claims as Claims, userinfo: answer.userinfo as Claims };
  }

  async refresh() {
    const answer = await this.#ask('refresh');
    return { idToken: answer.id_token as string, claims: answer.claims as Claims };
  }

  async logout() {
    return (await this.#ask('logout')).url as string;
  }

  async loggedOut(url: string) {
    await this.#ask(`logged_out ${url}`);
  }

  /** End of input: the program's loop ends and it exits. */
  async close() {
    this.#child.stdin.end();
    await this.#closed;
  }
}
