// Routes outside the admin API and the apps: liveness, readiness, metrics, the stylesheet
// of the hosted pages and, outside production, the development pages (src/dev/).
import type Router from '@koa/router';
import type { MailStatus } from '../mail/mail-health.ts';
import { devRoutes, type DevDeps } from '../dev/dev-routes.ts';
import { badRequest } from '../errors.ts';
import { accentProblem, accentRules } from '../text/colour.ts';
import { METRICS_PATH } from './metrics-endpoint.ts';
import type { Readiness } from './readiness-probe.ts';
import { exactRouter } from './request-path.ts';


/** Where the process is in its life: it serves ('ready') between listening and its shutdown. */
export type ServerPhase = 'starting' | 'ready' | 'stopping';

export interface RootDeps {
  readonly phase: () => ServerPhase;
  /** Whether every store answers: the background probe's last result (readiness-probe.ts). */
  readonly readiness: () => Readiness | Promise<Readiness>;
  readonly storage: string;
  /** Detail only: the mail server's last known state, never waited for (mail-health.ts). */
  readonly mail?: () => MailStatus | undefined;
  readonly stylesheet: string;
  /** The landing page and the development mailbox: outside production only. */
  readonly dev?: DevDeps | undefined;
  /** The pages' icon (SVG). */
  readonly favicon: string;
  /** The Prometheus exposition; metricsGate (metrics-endpoint.ts) decides who reads it. */
  readonly metrics: () => Promise<{ readonly contentType: string; readonly body: string }>;
}

export function rootRouter(deps: RootDeps): Router {
  const root = exactRouter();
  root.get('/healthz', (ctx) => {
    const phase = deps.phase();
    ctx.status = phase === 'ready' ? 200 : 503;
    ctx.body = { status: phase === 'ready' ? 'ok' : phase };
  });
  // Readiness: every backing store answers. Load balancers route only to ready instances.
  // Read from the background probe, not asked of the stores: as cheap as /healthz.
  root.get('/readyz', async (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    const phase = deps.phase();
    if (phase !== 'ready') {
      ctx.status = 503;
      ctx.body = { status: phase };
      return;
    }
    const mail = deps.mail?.();
    const detail = mail ? { mail } : {};
    const readiness = await deps.readiness();
    if (readiness.ready) {
      ctx.body = { status: 'ready', storage: deps.storage, ...detail };
    } else {
      const store = readiness.unavailable;
      ctx.status = 503;
      ctx.body = { status: 'unavailable', unavailable: store, error_description: `${store} is not answering`, ...detail };
    }
  });
  root.get(METRICS_PATH, async (ctx) => {
    const { contentType, body } = await deps.metrics();
    ctx.type = contentType;
    ctx.body = body;
  });
  root.get('/assets/postern.css', (ctx) => {
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=3600');
    ctx.body = deps.stylesheet;
  });
  root.get('/assets/favicon.svg', (ctx) => {
    ctx.type = 'image/svg+xml';
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.body = deps.favicon;
  });
  // An app's accent, in light and dark mode, from its colour alone: any colour that passes
  // the contrast rules (colour.ts) has its sheet, so the pages need no per-app state here.
  root.get('/assets/accent/:hex.css', (ctx) => {
    const hex = `#${ctx.params.hex}`;
    if (accentProblem(hex)) throw badRequest('Not an accent colour: six lower-case hex digits of a colour that passes the contrast rules.');
    ctx.type = 'text/css';
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.body = accentRules(hex);
  });
  if (deps.dev) devRoutes(root, deps.dev);
  return root;
}
