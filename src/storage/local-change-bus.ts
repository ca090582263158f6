import type { AppChangeBus, AppChangeListener } from './ports.ts';

/**
 * In-process notifications: enough for the memory store (one instance) and for MongoDB
 * alone, where other instances notice changes by revalidating (tenancy/provider-registry).
 */
export class LocalChangeBus implements AppChangeBus {
  readonly #listeners: AppChangeListener[] = [];
  async publish(appId: string) {
    for (const listener of this.#listeners) listener.changed(appId);
  }
  /** Nothing is ever lost in process: `missed` is never called. */
  subscribe(listener: AppChangeListener) {
    this.#listeners.push(listener);
  }
}
