import { DuplicateError, StoreUnavailableError, type Stores } from './ports.ts';

/**
 * Wraps every method of a store so a driver failure (connection refused, timeout, server
 * gone) surfaces as StoreUnavailableError naming the service, which the HTTP layer answers
 * with 503 temporarily_unavailable. Domain errors pass through unchanged.
 */
export function guard<T extends object>(store: string, target: T): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        try {
          return await value.apply(obj, args);
        } catch (err) {
          if (err instanceof DuplicateError || err instanceof StoreUnavailableError) throw err;
          throw new StoreUnavailableError(store, err);
        }
      };
    },
  });
}

/**
 * A driver's stores as the rest of Postern may use them: every store, `purgeApp` and `ping`
 * guarded. Each network driver calls this once, on what it opened. Left as they are: the
 * rate limiters (their factory guards each one), the change bus (subscribing is local and
 * synchronous; publishers handle a failed publish) and `close` (never fails).
 */
export function guardStores(service: string, stores: Stores): Stores {
  const ops = guard(service, { purgeApp: (appId: string) => stores.purgeApp(appId), ping: () => stores.ping() });
  return {
    ...stores,
    apps: guard(service, stores.apps),
    accounts: guard(service, stores.accounts),
    oidc: guard(service, stores.oidc),
    magicLinks: guard(service, stores.magicLinks),
    audit: guard(service, stores.audit),
    outbox: guard(service, stores.outbox),
    logoutOutbox: guard(service, stores.logoutOutbox),
    purgeApp: ops.purgeApp,
    ping: ops.ping,
  };
}
