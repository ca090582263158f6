// A single-page app signing in with Postern through oidc-client-ts: authorization code
// flow with PKCE (a public client: no secret in a browser), silent renew in a hidden iframe
// (prompt=none; works when the app is on the same site as Postern, see docs/integrating.md),
// sign-out (RP-initiated logout) and sign-out everywhere (revoke_all).
//
// Tokens live in this page's memory only (InMemoryWebStorage), never in localStorage or
// sessionStorage: a script injected into the page can still use them while it runs, but
// cannot read them from storage later or from another tab. A reload forgets them; the page
// then signs in again silently while Postern's session lasts. sessionStorage holds only
// the state and PKCE verifier of a sign-in in progress (oidc-client-ts's state store).
const settings = await (await fetch('/settings.json')).json();

const manager = new oidc.UserManager({
  authority: settings.issuer,
  client_id: settings.client_id,
  redirect_uri: `${location.origin}/callback`,
  silent_redirect_uri: `${location.origin}/silent`,
  post_logout_redirect_uri: `${location.origin}/signed-out`,
  scope: 'openid email',
  userStore: new oidc.WebStorageStateStore({ store: new oidc.InMemoryWebStorage() }),
  // Renews in the iframe a minute before the access token expires.
  automaticSilentRenew: true,
  loadUserInfo: true,
});

const $ = (id) => document.getElementById(id);

function show(user) {
  $('status').textContent = user ? 'Signed in' : 'Signed out';
  $('email').textContent = user?.profile.email ?? '';
}

function showError(err) {
  // oidc-client-ts's ErrorResponse carries the OAuth error code.
  $('error').textContent = err.error ?? err.message;
}

manager.events.addUserLoaded((user) => {
  show(user);
  $('renewals').textContent = String(Number($('renewals').textContent) + 1);
});
manager.events.addSilentRenewError(showError);

async function signOutEverywhere() {
  const user = await manager.getUser();
  if (!user) return;
  const { revoke_all_endpoint: endpoint } = await manager.metadataService.getMetadata();
  // A public client names itself; the access token says whose sessions end.
  const answer = await fetch(endpoint, { method: 'POST', body: new URLSearchParams({ token: user.access_token, client_id: settings.client_id }) });
  const result = await answer.json();
  if (!answer.ok) throw Object.assign(new Error(result.error_description ?? result.error), { error: result.error });
  $('sessions-ended').textContent = String(result.sessions_ended);
  await manager.removeUser();
  show(null);
}

async function home() {
  $('sign-in').onclick = () => manager.signinRedirect().catch(showError);
  $('sign-out').onclick = () => manager.signoutRedirect().catch(showError);
  $('sign-out-everywhere').onclick = () => signOutEverywhere().catch(showError);
  $('renew').onclick = () => manager.signinSilent().catch(showError);
  let user = await manager.getUser();
  if (!user) {
    // Memory is empty after a reload: ask Postern quietly whether the session still runs.
    user = await manager.signinSilent().catch(() => null);
    $('renewals').textContent = '0';
  }
  show(user);
}

const routes = {
  '/': home,
  '/callback': async () => {
    await manager.signinRedirectCallback();
    // Without reloading: a reload would empty the memory that holds the tokens.
    history.replaceState(null, '', '/');
    $('renewals').textContent = '0';
    await home();
  },
  // Runs inside the hidden iframe and hands the response to the page above.
  '/silent': () => manager.signinSilentCallback(),
  '/signed-out': async () => {
    await manager.signoutRedirectCallback();
    history.replaceState(null, '', '/');
    await home();
  },
};

await routes[location.pathname]().catch(showError);
