// The single-page app: oidc-client-ts's UserManager as its documentation shows it, given
// what any provider's browser app is given (the issuer URL and client_id, from
// /settings.json) and its own addresses. No client secret: a public client with PKCE.
const settings = await (await fetch('/settings.json')).json();

const manager = new oidc.UserManager({
  authority: settings.issuer,
  client_id: settings.client_id,
  redirect_uri: `${location.origin}/callback`,
  silent_redirect_uri: `${location.origin}/silent`,
  post_logout_redirect_uri: `${location.origin}/signed-out`,
  scope: 'openid email',
  loadUserInfo: true,
  automaticSilentRenew: false,
});

const $ = (id) => document.getElementById(id);

function show(user) {
  $('status').textContent = user ? 'Signed in' : 'Signed out';
  $('email').textContent = user?.profile.email ?? '';
  $('id-token').textContent = user?.id_token ?? '';
}

function showError(err) {
  // oidc-client-ts's ErrorResponse carries the OAuth error code.
  $('error').textContent = err.error ?? err.message;
}

async function home() {
  show(await manager.getUser());
  $('sign-in').onclick = () => manager.signinRedirect().catch(showError);
  $('sign-out').onclick = () => manager.signoutRedirect().catch(showError);
  $('renew').onclick = async () => {
    $('error').textContent = '';
    try {
      // No refresh token (no offline_access), so this is the hidden iframe with prompt=none.
      show(await manager.signinSilent());
      $('renewals').textContent = String(Number($('renewals').textContent) + 1);
    } catch (err) {
      showError(err);
    }
  };
}

const routes = {
  '/': home,
  '/callback': async () => {
    await manager.signinRedirectCallback();
    location.replace('/');
  },
  // Runs inside the hidden iframe and hands the response to the page above.
  '/silent': () => manager.signinSilentCallback(),
  '/signed-out': async () => {
    await manager.signoutRedirectCallback();
    await home();
  },
};

await routes[location.pathname]().catch(showError);
