// The admin API's branding fields of an app: what its hosted pages and sign-in mail show.
// Each is checked here, named in its refusal, and stored as given or normalised
// (a colour in lower case, an address as normalizeEmail spells it). Every URI is shown to
// people as a link or an image, so each follows the rule for endpoints (redirect-uris.ts);
// the logo is https only, and fit to stand in the pages' CSP as it is.
import { normalizeEmail } from '../accounts/email-address.ts';
import { BRANDING_FIELDS, type AppBranding } from '../apps/branding.ts';
import { PosternError } from '../errors.ts';
import { accentProblem } from '../text/colour.ts';
import { isLanguage, LANGUAGES } from '../text/language.ts';
import { endpointUriProblem } from './redirect-uris.ts';

const invalid = (description: string) => new PosternError('invalid_client_metadata', description);

/** Characters that would end a CSP source list or directive, or a quoted value. */
const CSP_UNSAFE = /[;,'"]/;

type Rules = { readonly httpLoopbackEndpoints: boolean };

function linkUri(value: unknown, field: string, rules: Rules): string {
  const problem = endpointUriProblem(value, rules.httpLoopbackEndpoints);
  if (problem) throw invalid(`${field} ${problem}.`);
  return value as string;
}

const PARSERS: { readonly [K in keyof AppBranding]-?: (value: unknown, field: string, rules: Rules) => NonNullable<AppBranding[K]> } = {
  logoUri(value, field) {
    const problem = endpointUriProblem(value, false);
    if (problem) throw invalid(`${field} ${problem}.`);
    if (CSP_UNSAFE.test(value as string)) throw invalid(`${field} must not contain ; , ' or ".`);
    return value as string;
  },
  primaryColor(value, field) {
    if (typeof value !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(value)) throw invalid(`${field} must be a colour written #rrggbb, e.g. #1f4fd1.`);
    const colour = value.toLowerCase();
    const problem = accentProblem(colour);
    if (problem) throw invalid(`${field} ${problem}.`);
    return colour;
  },
  clientUri: linkUri,
  policyUri: linkUri,
  tosUri: linkUri,
  supportUri: linkUri,
  supportEmail(value, field) {
    const checked = normalizeEmail(value);
    if (!checked.ok) throw invalid(`${field}: ${checked.reason}`);
    return checked.email;
  },
  defaultLanguage(value, field) {
    if (!isLanguage(value)) throw invalid(`${field} must be one of ${LANGUAGES.join(', ')}.`);
    return value;
  },
};

export const BRANDING_INPUT_FIELDS: readonly string[] = Object.values(BRANDING_FIELDS);

/** The branding fields of a body, as given; where `removable` (PATCH), null removes one. */
export function brandingFrom(input: Record<string, unknown>, rules: Rules, removable: boolean) {
  const out: { -readonly [K in keyof AppBranding]?: AppBranding[K] | null } = {};
  for (const [key, field] of Object.entries(BRANDING_FIELDS) as [keyof AppBranding, string][]) {
    const value = input[field];
    if (value === undefined) continue;
    if (value === null && removable) {
      out[key] = null;
      continue;
    }
    (out as Record<string, unknown>)[key] = PARSERS[key](value, field, rules);
  }
  return out;
}

/** The branding as the admin API shows it: null where not set (default_language: en). */
export function brandingView(app: AppBranding) {
  return {
    logo_uri: app.logoUri ?? null,
    primary_color: app.primaryColor ?? null,
    client_uri: app.clientUri ?? null,
    policy_uri: app.policyUri ?? null,
    tos_uri: app.tosUri ?? null,
    support_email: app.supportEmail ?? null,
    support_uri: app.supportUri ?? null,
    default_language: app.defaultLanguage ?? 'en',
  };
}

const uri = (description: string) => ({ type: 'string', format: 'uri', maxLength: 2000, description });

/** The fields in the OpenAPI document (openapi.ts): as inputs, and as the app shows them. */
export const BRANDING_SCHEMAS = {
  inputs: {
    logo_uri: uri('The app\'s logo on its sign-in pages and in the sign-in mail, shown 40×40 (48×48 in mail) with the alt text "{name} logo". https only; no ; , \' or ".'),
    primary_color: {
      type: 'string',
      pattern: '^#[0-9a-fA-F]{6}$',
      description:
        'The accent of buttons, links and the focus ring, #rrggbb. Refused unless white button text on it has a contrast of at least 4.5:1 (WCAG AA); dark mode uses a lighter shade derived from it that passes too.',
    },
    client_uri: uri('The app\'s home page: "Back to {name}" on every page and in the mail. https (http on a loopback host outside production).'),
    policy_uri: uri('The app\'s privacy policy, linked from every page. https (http on a loopback host outside production).'),
    tos_uri: uri('The app\'s terms of service, linked from every page. https (http on a loopback host outside production).'),
    support_email: { type: 'string', maxLength: 254, description: 'Where people get help (a mailto: link on every page), unless support_uri is set.' },
    support_uri: uri('Where people get help, linked from every page. https (http on a loopback host outside production).'),
    default_language: {
      type: 'string',
      enum: [...LANGUAGES],
      default: 'en',
      description: 'The language of pages and mail when neither ui_locales nor the browser\'s Accept-Language names one of these.',
    },
  },
  view: {
    logo_uri: { type: ['string', 'null'] },
    primary_color: { type: ['string', 'null'] },
    client_uri: { type: ['string', 'null'] },
    policy_uri: { type: ['string', 'null'] },
    tos_uri: { type: ['string', 'null'] },
    support_email: { type: ['string', 'null'] },
    support_uri: { type: ['string', 'null'] },
    default_language: { type: 'string', enum: [...LANGUAGES] },
  },
} as const;
