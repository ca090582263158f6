// Pacing the work that follows store commands (turns.ts, `resume`). One socket read from
// Redis can answer the commands of a hundred requests at once, and every caller's
// continuation (the engine's token work, sealing, rendering, writing the response) would
// then run in that one callback: tens of milliseconds in which /healthz and every other
// request wait. Here each store command's answer is handed over when the current turn of
// the event loop still has room, otherwise in a later turn, after the loop has polled.
// Failures are handed over at once (nothing to pace: the request ends). Without load
// shedding there are no turns and the stores are used as they are.
import type { Stores } from '../storage/ports.ts';
import type { Turns } from './turns.ts';

type Method = (...args: unknown[]) => unknown;

/** `stores` whose commands' answers take turns; `stores` itself when there are none. */
export function pacedStores(stores: Stores, turns: Turns | undefined): Stores {
  if (!turns) return stores;
  const handOver = <V>(value: V): V | Promise<V> => {
    const later = turns.resume();
    return later ? later.then(() => value) : value;
  };
  const paced = <T extends object>(target: T): T => {
    // One wrapper per method, made on first use: not a new closure for every command.
    const wrappers = new WeakMap<Method, Method>();
    return new Proxy(target, {
      get(obj, prop, receiver) {
        const value: unknown = Reflect.get(obj, prop, receiver);
        if (typeof value !== 'function') return value;
        let wrapper = wrappers.get(value as Method);
        if (!wrapper) {
          wrapper = (...args: unknown[]) => {
            const result: unknown = (value as Method).apply(obj, args);
            return result instanceof Promise ? result.then(handOver) : result;
          };
          wrappers.set(value as Method, wrapper);
        }
        return wrapper;
      },
    });
  };
  return {
    ...stores,
    apps: paced(stores.apps),
    accounts: paced(stores.accounts),
    oidc: paced(stores.oidc),
    magicLinks: paced(stores.magicLinks),
    audit: paced(stores.audit),
    outbox: paced(stores.outbox),
    logoutOutbox: paced(stores.logoutOutbox),
  };
}
