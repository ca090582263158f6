// A router as one middleware: its routes, then its 405/501 answers (with the Allow header
// @koa/router sets) given the API's JSON error body. One mount per router, so no separate
// middleware has to sit at the right position for the bodies to come out right.
import type Router from '@koa/router';
import type { Middleware } from 'koa';

const METHOD_ERRORS: Record<number, (allow: string) => string> = {
  405: (allow) => `Method not allowed. Allowed: ${allow}.`,
  501: () => 'Not implemented.',
};

export function mountRouter(router: Router): Middleware {
  const routes = router.routes();
  const allowed = router.allowedMethods();
  return async (ctx, next) => {
    // Set only when no route of this router answered and the request went on downstream.
    let downstream: number | undefined;
    await routes(ctx as never, () =>
      allowed(ctx as never, async () => {
        await next();
        downstream = ctx.status;
      }),
    );
    const describe = METHOD_ERRORS[ctx.status];
    if (downstream !== undefined && ctx.status !== downstream && describe) {
      // The router turned the 404 of a path it knows into 405/501.
      ctx.set('Cache-Control', 'no-store');
      ctx.body = { error: 'invalid_request', error_description: describe(ctx.response.get('allow')) };
    }
  };
}
