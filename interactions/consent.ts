// Postern's clients are the app's own, so there is no consent screen: the grant is
// created (or extended) with exactly what the authorization request asked for.
import type Provider from 'oidc-provider';
import type { InteractionResults } from 'oidc-provider';

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

export async function grantFor(provider: Provider, details: Details, accountId: string): Promise<string> {
  const clientId = String(details.params.client_id);
  const existing =
    details.grantId && details.session?.accountId === accountId ? await provider.Grant.find(details.grantId) : undefined;
  const grant = existing ?? new provider.Grant({ accountId, clientId });
  if (typeof details.params.scope === 'string') grant.addOIDCScope(details.params.scope);
  const missing = details.prompt.details as { missingOIDCClaims?: string[] };
  if (missing.missingOIDCClaims?.length) grant.addOIDCClaims(missing.missingOIDCClaims);
  return grant.save();
}

export async function loginResult(provider: Provider, details: Details, accountId: string): Promise<InteractionResults> {
  return { login: { accountId }, consent: { grantId: await grantFor(provider, details, accountId) } };
}
