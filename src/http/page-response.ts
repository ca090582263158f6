// A hosted page for a person: in their language, showing the app, sent with a CSP that
// lets it load the app's logo and no other image from elsewhere.
import type { Context } from 'koa';
import type { Presentation } from '../../interactions/views/layout.ts';
import { brandingFor } from '../apps/branding.ts';
import { clientDisplayOf } from '../apps/clients.ts';
import type { AppRecord } from '../storage/ports.ts';
import { logoSource, type Brand } from '../text/brand.ts';
import { chooseLanguage, isLanguage } from '../text/language.ts';

/**
 * The presentation of a page of `app`: the language `pinned` (one the person already got,
 * carried in the link from the mail) if it is one we have, else from the app's
 * `ui_locales`, the browser's Accept-Language, the app's default.
 */
/** `clientId`: the client the page is for, whose own name, logo and links win over the app's. */
export function presentationFor(ctx: Context, app: AppRecord, options: { uiLocales?: unknown; pinned?: unknown; clientId?: unknown } = {}): Presentation {
  const language = isLanguage(options.pinned)
    ? options.pinned
    : chooseLanguage({ uiLocales: options.uiLocales, acceptLanguage: ctx.get('Accept-Language'), fallback: app.defaultLanguage });
  return { brand: brandingFor(app, clientDisplayOf(app, options.clientId)), language };
}

/** Adds the logo (its exact URL, not its host) to the response's img-src. */
export function allowLogo(ctx: Context, brand: Brand): void {
  const policy = ctx.response.get('Content-Security-Policy');
  if (!brand.logoUri || !policy) return;
  // A function, not a replacement string: `$1` or `$&` in the logo's path is text, never a pattern.
  const source = logoSource(brand.logoUri);
  ctx.set('Content-Security-Policy', policy.replace(/(^|;\s*)img-src ([^;]*)/, (_all, lead: string, sources: string) => `${lead}img-src ${sources} ${source}`));
}

export function sendPage(ctx: Context, status: number, presentation: Presentation, body: string): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.body = body;
  allowLogo(ctx, presentation.brand);
}
