// The engine's self-submitting form (engine.ts, A28) drawn as one of our pages: same
// action, same fields, the engine's own script (allowed by its hash, A6) still submits it
// where scripts run; without JavaScript the person reads a sentence in their language and
// presses a real button, styled like every other page.
import type { Context, Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type * as PageViews from '../../interactions/views/pages.ts';
import { presentationFor } from '../http/page-response.ts';
import type { AppRecord } from '../storage/ports.ts';
import { raw } from '../text/html.ts';
import { engineFormPost, mayAnswerWithFormPost } from './engine.ts';

export function formPostInOurLook(app: AppRecord, formPostPage: typeof PageViews.formPostPage): Middleware {
  function drawn(ctx: Context): void {
    const form = engineFormPost(ctx.body);
    if (!form) return;
    const uiLocales = (ctx as unknown as KoaContextWithOIDC).oidc?.params?.ui_locales;
    const presentation = presentationFor(ctx, app, { uiLocales });
    ctx.body = formPostPage({ presentation, action: form.action, fields: form.fields, script: form.script === undefined ? undefined : raw(form.script) });
  }
  // Only an answer to GET or HEAD can be the engine's form (A64): anything else passes at
  // the cost of a call, and a GET is looked at after the engine without a frame of its own.
  return (ctx, next) => (mayAnswerWithFormPost(ctx) ? next().then(() => drawn(ctx)) : next());
}
