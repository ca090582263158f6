// Interop: a Go app on go-oidc and golang.org/x/oauth2 with their defaults (Debian's
// golang-github-coreos-go-oidc-dev, built offline in GOPATH mode), from discovery alone.
// go-oidc's default verifier accepts RS256 only, so the app registers RS256 ID tokens.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Browser } from '../helpers/browser.ts';
import { Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';
import { appFields, ProcessRelyingParty, signInRefreshSignOut, withApp } from './relying-party.ts';

const GO_OIDC = '/usr/share/gocode/src/github.com/coreos/go-oidc';
const SOURCE = new URL('go-oidc/main.go', import.meta.url).pathname;

/** Debian's Go packages, no network: GOPATH mode against /usr/share/gocode. */
const GO_ENV = {
  GO111MODULE: 'off',
  GOPATH: '/usr/share/gocode',
  GOPROXY: 'off',
  GOFLAGS: '',
  // Kept between runs on one machine, so only the first run compiles the libraries.
  GOCACHE: join(tmpdir(), 'postern-interop-go-cache'),
};

function goVersion(): string | undefined {
  try {
    return execFileSync('go', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

describe('interop: go-oidc with its defaults', function () {
  this.timeout(60_000);
  const h = new Harness();
  let dir = '';
  let binary = '';

  const goApp = (app: AppJson) => new ProcessRelyingParty(binary, [], app);

  before(async function () {
    const version = goVersion();
    if (!version || !existsSync(GO_OIDC)) {
      console.warn('    SKIPPED: Go or go-oidc not installed (apt-get install golang-go golang-github-coreos-go-oidc-dev); .ci/run installs them');
      this.skip();
    }
    console.log(`    ${version}, go-oidc from ${GO_OIDC}`);
    // Compiled once per run.
    dir = mkdtempSync(join(tmpdir(), 'postern-go-rp-'));
    binary = join(dir, 'rp');
    execFileSync('go', ['build', '-o', binary, SOURCE], { env: { ...process.env, ...GO_ENV }, stdio: ['ignore', 'inherit', 'inherit'] });
    await h.start();
  });
  after(async () => {
    await h.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('signs in, refreshes and signs out: confidential app (client_secret_basic and PKCE), RS256', async () => {
    const app = await h.createApp(
      appFields('Go RS256', { token_endpoint_auth_method: 'client_secret_basic', id_token_signed_response_alg: 'RS256' }),
    );
    await withApp(goApp(app), (rp) => signInRefreshSignOut(h, app, rp, { email: 'gopher@example.com', alg: 'RS256' }));
  });

  it("go-oidc's default verifier refuses an ES512 app's ID tokens (why a Go app registers RS256)", async () => {
    const app = await h.createApp(appFields('Go ES512', { token_endpoint_auth_method: 'client_secret_basic' }));
    await withApp(goApp(app), async (rp) => {
      const browser = new Browser();
      const login = await browser.navigate(await rp.authorize(), {}, REDIRECT_URI);
      const { callbackUrl } = await h.confirmSignIn(browser, login, 'es512@example.com', REDIRECT_URI);
      const error = await rp.callback(callbackUrl).then(
        () => 'accepted',
        (err: Error) => err.message,
      );
      expect(error).to.include('id token signed with unsupported algorithm, expected ["RS256"] got "ES512"');
    });
  });
});
