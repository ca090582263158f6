import { DuplicateError, StoreUnavailableError } from './ports.ts';

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
