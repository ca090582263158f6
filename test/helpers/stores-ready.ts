// Waits for opened stores to answer again (after a stall or a dropped connection) without
// reopening them: the drivers reconnect in the background.
import type { Stores } from '../../src/storage/ports.ts';

/** Resolves once `stores.ping()` succeeds; rejects with its last error after about five seconds. */
export async function untilStoresAnswer(stores: Stores): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      return await stores.ping();
    } catch (err) {
      if (tries > 250) throw err;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
