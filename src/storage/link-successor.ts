// Whether a sign-in link was replaced by a later one of its login attempt ("send me a new
// link"), for the stores that answer it in two look-ups; Redis does both in one script.
import type { MagicLinkRecord, MagicLinkStore } from './ports.ts';

export async function supersededIn(store: Pick<MagicLinkStore, 'latestForAttempt'>, record: MagicLinkRecord): Promise<boolean> {
  const latest = await store.latestForAttempt(record.appId, record.interactionUid);
  return latest !== undefined && latest.hash !== record.hash;
}
