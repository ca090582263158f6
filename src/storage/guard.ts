import { performance } from 'node:perf_hooks';
import { DuplicateError, StoreUnavailableError, type Stores, type StoreObserver } from './ports.ts';

/**
 * Where a driver's guarded stores report their commands; one per opened driver, so each
 * server's metrics (Stores.observe) see only the stores it was given.
 */
export class StoreProbe {
  observer: StoreObserver | undefined;
  /** How each answer is handed over (Stores.pace); undefined: at once. */
  resume: (() => Promise<void> | undefined) | undefined;
}

/**
 * Wraps every method of a store so a driver failure (connection refused, timeout, server
 * gone) surfaces as StoreUnavailableError naming the service, which the HTTP layer answers
 * with 503 temporarily_unavailable. Domain errors pass through unchanged. Every call's
 * duration and outcome goes to the probe's observer, inside the one closure a call
 * already costs (this runs for every store command). When the stores are paced (Stores.pace),
 * an answer is handed over when `probe.resume` lets it, after its duration was taken;
 * `paced` false leaves a port's answers unpaced (the readiness ping must not wait for turns).
 */
export function guard<T extends object>(store: string, target: T, probe: StoreProbe, port: string, paced = true): T {
  // One wrapper per method, made on first use: not a new closure for every command.
  const wrappers = new WeakMap<object, (...args: unknown[]) => Promise<unknown>>();
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (typeof value !== 'function') return value;
      let wrapper = wrappers.get(value);
      if (wrapper) return wrapper;
      wrapper = async (...args: unknown[]) => {
        const started = performance.now();
        let failed = false;
        let answer: unknown;
        try {
          answer = await value.apply(obj, args);
        } catch (err) {
          // A StoreUnavailableError comes from a guard further in, which reported it.
          if (err instanceof DuplicateError || err instanceof StoreUnavailableError) throw err;
          failed = true;
          throw new StoreUnavailableError(store, err);
        } finally {
          probe.observer?.command(store, port, (performance.now() - started) / 1000, failed);
        }
        const later = paced ? probe.resume?.() : undefined;
        if (later) await later;
        return answer;
      };
      wrappers.set(value, wrapper);
      return wrapper;
    },
  });
}

/**
 * A driver's stores as the rest of Postern may use them: every store, `purgeApp` and `ping`
 * guarded. Each network driver calls this once, on what it opened, with the probe its
 * rate limiters report to. Left as they are: the rate limiters (their factory guards each
 * one), the change bus (subscribing is local and synchronous; publishers handle a failed
 * publish) and `close` (never fails).
 */
export function guardStores(service: string, stores: Omit<Stores, 'observe' | 'pace'>, probe: StoreProbe): Stores {
  const ops = guard(service, { purgeApp: (appId: string) => stores.purgeApp(appId), ping: () => stores.ping() }, probe, 'stores', false);
  return {
    ...stores,
    apps: guard(service, stores.apps, probe, 'apps'),
    accounts: guard(service, stores.accounts, probe, 'accounts'),
    oidc: guard(service, stores.oidc, probe, 'oidc'),
    magicLinks: guard(service, stores.magicLinks, probe, 'magic_links'),
    audit: guard(service, stores.audit, probe, 'audit'),
    outbox: guard(service, stores.outbox, probe, 'outbox'),
    logoutOutbox: guard(service, stores.logoutOutbox, probe, 'logout_outbox'),
    purgeApp: ops.purgeApp,
    ping: ops.ping,
    observe(observer) {
      probe.observer = observer;
    },
    pace(resume) {
      probe.resume = resume;
    },
  };
}
