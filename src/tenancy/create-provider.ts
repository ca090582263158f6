// One app's oidc-provider: its issuer under PUBLIC_URL, its configuration, POST at the
// authorization and end-session endpoints, the re-check of redirect URIs when a sign-in or
// sign-out finishes, back-channel logout after a sign-out, the rewrite for offline_access,
// the registered client authentication method, introspection of JWT access tokens, and its events in the audit trail.
import { openRegistration, OPEN_REGISTRATION_WINDOW_SECONDS, OPEN_REGISTRATIONS_PER_IP } from '../oidc/open-registration.ts';
import Provider from 'oidc-provider';
import { issuerOf } from '../apps/app-paths.ts';
import type { AuditLog } from '../audit.ts';
import { registeredClientAuthMethod } from '../oidc/client-auth-method.ts';
import { introspectJwtAccessTokens } from '../oidc/jwt-introspection.ts';
import { offlineAccessImpliesConsent } from '../oidc/offline-access.ts';
import { postedRequests } from '../oidc/posted-request.ts';
import { providerConfiguration, type ProviderDeps } from '../oidc/provider-config.ts';
import { formPostInOurLook } from '../oidc/form-post-page.ts';
import { recheckRedirects } from '../oidc/redirect-recheck.ts';
import { removePresentedTokenLast } from '../oidc/revocation-order.ts';
import { tellAppOfSignOut } from '../oidc/sign-out-notice.ts';
import type { BackchannelLogout } from '../logout/backchannel-logout.ts';
import type { AppRecord } from '../storage/ports.ts';
import { auditProvider } from './provider-audit.ts';
import { advertiseRegistrableAlgorithms } from '../oidc/registrable-algorithms.ts';
import { credentialsOf } from '../apps/clients.ts';

export function createProvider(app: AppRecord, publicUrl: string, deps: ProviderDeps, audit: AuditLog, backchannel: BackchannelLogout) {
  const issuer = issuerOf(publicUrl, app.id);
  const provider = new Provider(issuer, providerConfiguration(app, issuer, deps));
  // First: posted parameters become the query before anything reads it.
  provider.use(postedRequests({ appId: app.id, issuer, documents: deps.stores.oidc }));
  provider.use(formPostInOurLook(app, deps.pages.formPostPage));
  provider.use(advertiseRegistrableAlgorithms);
  provider.use(
    openRegistration({
      storedApp: () => deps.stores.apps.get(app.id),
      limiter: deps.stores.rateLimiter('open-registration', OPEN_REGISTRATIONS_PER_IP, OPEN_REGISTRATION_WINDOW_SECONDS),
    }),
  );
  provider.use(recheckRedirects(provider, { app, audit, pages: deps.pages }));
  provider.use(tellAppOfSignOut(provider, app, backchannel));
  provider.use(offlineAccessImpliesConsent);
  provider.use(
    registeredClientAuthMethod(async (clientId) => {
      // The default client's method and secret are the Provider's own; a further client's as stored now.
      const current = clientId === app.id ? app : await deps.stores.apps.get(app.id);
      return current && credentialsOf(current, clientId, deps.kek, deps.clock.now());
    }, issuer),
  );
  provider.use(introspectJwtAccessTokens(app, issuer, { store: deps.stores.oidc, clock: deps.clock }));
  auditProvider(provider, app.id, audit, deps.logger, deps.metrics);
  // Innermost, so a revocation is audited only once its last write is done.
  provider.use(removePresentedTokenLast);
  return { provider, issuer };
}
