// One delivery of a logout token (Back-Channel Logout 1.0 §2.5): a form POST of
// `logout_token` to the app's backchannel_logout_uri. Any 2xx is delivered. Redirects are
// never followed (a 3xx counts as a failure), and the app's response body is never read,
// so nothing the app sends back reaches a log. The caller's signal bounds the whole
// attempt, connecting included.
export async function postLogoutToken(uri: string, token: string, signal: AbortSignal): Promise<void> {
  let response: Response;
  try {
    response = await fetch(uri, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ logout_token: token }).toString(),
      signal,
    });
  } catch (err) {
    if (signal.aborted) throw new Error('no answer in time', { cause: err });
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    throw new Error(`request failed (${String(cause?.code ?? cause?.message ?? err)})`, { cause: err });
  }
  await response.body?.cancel().catch(() => {});
  if (response.status >= 200 && response.status < 300) return;
  throw new Error(response.status >= 300 && response.status < 400 ? `HTTP ${response.status} (redirects are not followed)` : `HTTP ${response.status}`);
}
