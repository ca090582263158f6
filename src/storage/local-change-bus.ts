import type { AppChangeBus } from './ports.ts';

/**
 * In-process notifications: enough for the memory store (one instance) and for MongoDB
 * alone, where other instances notice changes by revalidating (tenancy/provider-registry).
 */
export class LocalChangeBus implements AppChangeBus {
  readonly #listeners: ((appId: string) => void)[] = [];
  async publish(appId: string) {
    for (const listener of this.#listeners) listener(appId);
  }
  subscribe(listener: (appId: string) => void) {
    this.#listeners.push(listener);
  }
}
