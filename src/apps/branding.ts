// What a hosted page or the sign-in mail shows of the app: one function decides, so every
// page and the mail agree. A client of the app may carry its own name, logo and links
// (registration metadata, RFC 7591 §2); each one it has overrides the app's.
import type { Brand } from '../text/brand.ts';
import type { AppRecord } from '../storage/ports.ts';

/** The display metadata a client may register. */
export interface ClientDisplay {
  readonly client_name?: string | undefined;
  readonly logo_uri?: string | undefined;
  readonly client_uri?: string | undefined;
  readonly policy_uri?: string | undefined;
  readonly tos_uri?: string | undefined;
}

export function brandingFor(app: AppRecord, client: ClientDisplay = {}): Brand {
  const homeUri = client.client_uri ?? app.clientUri;
  return {
    name: client.client_name ?? app.name,
    logoUri: client.logo_uri ?? app.logoUri,
    accent: app.primaryColor,
    homeUri,
    restartUri: app.initiateLoginUri,
    policyUri: client.policy_uri ?? app.policyUri,
    tosUri: client.tos_uri ?? app.tosUri,
    supportEmail: app.supportEmail,
    supportUri: app.supportUri,
  };
}

/** The app's branding as stored (AppRecord); each absent: not shown (language: en). */
export type AppBranding = Pick<
  AppRecord,
  'logoUri' | 'primaryColor' | 'clientUri' | 'policyUri' | 'tosUri' | 'supportEmail' | 'supportUri' | 'defaultLanguage'
>;

/** AppBranding's fields, and the admin API's name of each. */
export const BRANDING_FIELDS = {
  logoUri: 'logo_uri',
  primaryColor: 'primary_color',
  clientUri: 'client_uri',
  policyUri: 'policy_uri',
  tosUri: 'tos_uri',
  supportEmail: 'support_email',
  supportUri: 'support_uri',
  defaultLanguage: 'default_language',
} as const satisfies Record<keyof AppBranding, string>;
