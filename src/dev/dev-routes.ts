// The pages outside production: the landing page at /, the development mailbox and the
// HTML of each mail it keeps. root-routes.ts mounts them only when NODE_ENV is not
// production, so in production these paths are not found, in every spelling.
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { ParsedUrlQuery } from 'node:querystring';
import { adminOpenApi } from '../admin/openapi.ts';
import { issuerOf } from '../apps/app-paths.ts';
import { badRequest } from '../errors.ts';
import { DEV_STYLESHEET, DEV_STYLESHEET_PATH } from './dev-look.ts';
import { landingPage, type AdminRoute, type RunningInstance } from './landing-page.ts';
import { DEV_APPS_SHOWN, mailboxEntries, stateOf, type MailboxFilter, type MailboxSources } from './mailbox-entries.ts';
import { MAIL_HTML_PATH, MAILBOX_PATH, MAILBOX_POLICY, MAILBOX_STATE_PATH, mailboxPage, noSuchMailPage } from './mailbox-page.ts';

export interface DevDeps extends MailboxSources {
  readonly running: Omit<RunningInstance, 'mailboxPath'>;
}

/**
 * A mail's HTML is whatever the mail says: shown as its own document, sandboxed (an opaque
 * origin: no script, no form, no popup, no cookie or storage of ours), reaching nothing but
 * its inline styles and inline images. A link in it still opens when clicked.
 */
export const MAIL_HTML_POLICY = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Longest filter values: an address (RFC 5321) and more than any app id. */
const MAX_ADDRESS = 254;
const MAX_APP_ID = 100;

/** One filter parameter: absent, or one line of text of bounded length (no address or app id holds more). */
function parameter(query: ParsedUrlQuery, name: string, max: number): string | undefined {
  const value = query[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw badRequest(`Give the filter "${name}" at most once.`);
  if (value.length > max) throw badRequest(`The filter "${name}" is longer than ${max} characters.`);
  if (/[\x00-\x1f\x7f]/.test(value)) throw badRequest(`The filter "${name}" holds control characters.`);
  return value.trim() || undefined;
}

function filterOf(ctx: Context): MailboxFilter {
  return { appId: parameter(ctx.query, 'app', MAX_APP_ID), address: parameter(ctx.query, 'to', MAX_ADDRESS) };
}

/** An OpenAPI path item also holds `parameters`; OPTIONS answers on every path, so it says nothing. */
const LISTED_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head']);

function adminRoutes(): AdminRoute[] {
  return Object.entries(adminOpenApi().paths).flatMap(([path, item]) =>
    Object.entries(item as Record<string, { summary?: string }>)
      .filter(([method]) => LISTED_METHODS.has(method))
      .map(([method, operation]) => ({ method: method.toUpperCase(), path, summary: operation.summary ?? '' })),
  );
}

export function devRoutes(router: Router, deps: DevDeps): void {
  const routes = adminRoutes();
  router.get('/', async (ctx) => {
    const { apps, next } = await deps.apps(DEV_APPS_SHOWN);
    ctx.type = 'html';
    ctx.body = landingPage({
      running: { ...deps.running, mailboxPath: MAILBOX_PATH },
      apps: apps.map((app) => ({ id: app.id, name: app.name, issuer: issuerOf(deps.running.publicUrl, app.id) })),
      moreApps: next !== undefined,
      adminRoutes: routes,
    });
  });
  router.get(DEV_STYLESHEET_PATH, (ctx) => {
    ctx.type = 'text/css';
    ctx.body = DEV_STYLESHEET;
  });
  router.get(MAILBOX_PATH, async (ctx) => {
    const filter = filterOf(ctx);
    const [{ apps }, entries, all] = await Promise.all([deps.apps(DEV_APPS_SHOWN), mailboxEntries(deps, filter), mailboxEntries(deps, {})]);
    ctx.set('Content-Security-Policy', MAILBOX_POLICY);
    ctx.type = 'html';
    ctx.body = mailboxPage({
      entries,
      filter,
      apps: apps.map((app) => ({ id: app.id, name: app.name })),
      publicUrl: deps.running.publicUrl,
      smtp: !deps.mails,
      state: stateOf(all),
    });
  });
  router.get(MAILBOX_STATE_PATH, async (ctx) => {
    ctx.body = { state: stateOf(await mailboxEntries(deps, {})) };
  });
  router.get(`${MAIL_HTML_PATH}/:id`, (ctx) => {
    const id = /^[1-9][0-9]{0,9}$/.test(ctx.params['id'] ?? '') ? Number(ctx.params['id']) : undefined;
    const mail = id === undefined ? undefined : deps.mails?.get(id);
    ctx.type = 'html';
    if (!mail) {
      ctx.status = 404;
      ctx.body = noSuchMailPage();
      return;
    }
    ctx.set('Content-Security-Policy', MAIL_HTML_POLICY);
    ctx.body = mail.html;
  });
}
