// Interop: a Python app on Authlib (Debian's python3-authlib), from discovery alone, signs a
// person in, refreshes and signs out, as a public app and as a confidential one, with
// Postern's default ES512 ID tokens.
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { Harness, type AppJson } from '../helpers/harness.ts';
import { appFields, CLIENT_KINDS, ProcessRelyingParty, signInRefreshSignOut, withApp } from './relying-party.ts';

// Debian's interpreter, where apt installs python3-authlib (another python3 on PATH may not see it).
const PYTHON = '/usr/bin/python3';
const RP = new URL('authlib_rp.py', import.meta.url).pathname;

function authlibVersion(): string | undefined {
  try {
    return execFileSync(PYTHON, ['-c', 'import authlib, requests; print(authlib.__version__)'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

const authlibApp = (app: AppJson) => new ProcessRelyingParty(PYTHON, [RP], app);

describe('interop: Python Authlib', function () {
  this.timeout(30_000);
  const h = new Harness();

  before(async function () {
    const version = authlibVersion();
    if (!version) {
      console.warn(`    SKIPPED: ${PYTHON} cannot import authlib and requests (apt-get install python3-authlib python3-requests); .ci/run installs them`);
      this.skip();
    }
    console.log(`    Authlib ${version}`);
    await h.start();
  });
  after(() => h.stop());

  for (const [kind, fields] of CLIENT_KINDS) {
    it(`signs in, refreshes and signs out: ${kind}, ES512`, async () => {
      const app = await h.createApp(appFields(`Authlib ${kind}`, fields));
      await withApp(authlibApp(app), (rp) => signInRefreshSignOut(h, app, rp, { email: 'python@example.com', alg: 'ES512' }));
    });
  }

  it("refuses a code from another app's sign-in, even pasted into a callback with the right state", async () => {
    const app = await h.createApp(appFields('Authlib victim'));
    const other = await h.createApp(appFields('Authlib other'));
    const { callbackUrl } = await h.signIn(other, 'attacker@example.com');
    await withApp(authlibApp(app), async (rp) => {
      const injected = new URL(callbackUrl);
      injected.searchParams.set('state', new URL(await rp.authorize()).searchParams.get('state')!);
      const error = await rp.callback(injected.href).then(
        () => 'redeemed',
        (err: Error) => err.message,
      );
      expect(error).to.match(/invalid_grant/);
    });
  });
});
