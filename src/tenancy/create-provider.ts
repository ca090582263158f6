import Provider from 'oidc-provider';
import type { AppRecord } from '../storage/ports.ts';
import { offlineAccessImpliesConsent } from '../oidc/offline-access.ts';
import { appPath, providerConfiguration, type ProviderDeps } from '../oidc/provider-config.ts';
import type { AuditLog } from '../audit.ts';

export function createProvider(app: AppRecord, publicUrl: string, deps: ProviderDeps, audit: AuditLog) {
  const issuer = `${publicUrl}${appPath(app.id)}`;
  const provider = new Provider(issuer, providerConfiguration(app, issuer, deps));
  provider.use(offlineAccessImpliesConsent);
  audit.watchProvider(provider, app.id);
  return { provider, issuer };
}
