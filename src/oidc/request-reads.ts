// Documents one request reads more than once, read from the store once: the interaction
// a resume finishes (the redirect check reads it, then the engine) and the session a code
// exchange or refresh is bound to (the engine's session binding, then the sid claim, A4).
// Each is a store round trip and an unsealing. The copy lives as long as the request (a
// WeakMap keyed by its context, engine.ts A67), and only while no write could have changed
// the document: every write through an adapter of the same store, by any request or none,
// counts against the document it names once it has landed (below), and a copy read before
// that count moved is read again. The counts are the store's (`readsOf`): a write to
// another store (another server in the same process, as in the tests) cannot change its
// documents and forces no read. Counting on landing, not on sending, is what covers a read
// that overlapped the write: it may have got the old document, and the count then moves
// after it.
import type { AdapterPayload } from 'oidc-provider';
import { copyJson } from '../json-copy.ts';

/**
 * Models read twice by one request; others are read once and need no copy. Of a session,
 * only the reads the adapter names a request for (engine.ts, `requestKeepingReadsOf`: at
 * the token endpoint and in the hosted login) are kept.
 */
const READ_AGAIN = new Set(['Interaction', 'Session']);

// Writes per document, counted in a fixed number of slots (a document's slot is a hash of
// its model and id, or of its uid): two documents sharing a slot only cost a read again,
// and the count takes no memory per document. A write naming no document (revokeByGrantId)
// counts against every document of its model; one naming no uid (destroy, consume) against
// every document of its model read by uid.
const SLOTS = 4096;

const bump = (counts: Map<string, number>, model: string) => counts.set(model, (counts.get(model) ?? 0) + 1);

function slotOf(model: string, name: string): number {
  let hash = 0x811c9dc5;
  for (const text of [model, name]) {
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
    hash = Math.imul(hash ^ 0, 0x01000193);
  }
  return (hash >>> 0) % SLOTS;
}

/** The slot of a document by id, or by uid. */
const slotById = (model: string, id: string) => slotOf(model, `id:${id}`);
const slotByUid = (model: string, uid: string) => slotOf(model, `uid:${uid}`);

/** A copy, and the counts it was read under. */
interface Read {
  readonly payload: Promise<AdapterPayload | undefined>;
  readonly slot: number;
  readonly slotWrites: number;
  readonly modelWrites: number;
}

/** The write counts and kept reads of one store's documents. */
export class RequestReads {
  readonly #writesInSlot = new Uint32Array(SLOTS);
  readonly #writesOfWholeModel = new Map<string, number>();
  readonly #writesWithoutUid = new Map<string, number>();
  readonly #byRequest = new WeakMap<object, Map<string, Read>>();

  /**
   * The adapter writes `model`'s document `id` (`payload` when it stores one, naming its uid),
   * or, without an id, any of them.
   */
  wrote(model: string, id?: string, payload?: AdapterPayload): void {
    if (id === undefined) bump(this.#writesOfWholeModel, model);
    else this.#writesInSlot[slotById(model, id)]!++;
    if (id !== undefined && !payload) bump(this.#writesWithoutUid, model);
    if (typeof payload?.uid === 'string') this.#writesInSlot[slotByUid(model, payload.uid)]!++;
  }

  /**
   * `read()` the first time `request` asks for `model`'s document named `key` (an id or a
   * uid, `kind` telling which), and again after a write could have changed it; the request's
   * copy otherwise. Every reader gets a copy of its own: the engine's models share nested
   * objects with the payload they were built from (A67).
   */
  readOnce(request: object | undefined, model: string, kind: 'id' | 'uid', key: string, read: () => Promise<AdapterPayload | undefined>): Promise<AdapterPayload | undefined> {
    if (!request || !READ_AGAIN.has(model)) return read();
    let reads = this.#byRequest.get(request);
    if (!reads) this.#byRequest.set(request, (reads = new Map()));
    const name = `${model}\0${kind}\0${key}`;
    const modelWrites = this.#modelWritesFor(model, kind);
    let found = reads.get(name);
    if (!found || this.#writesInSlot[found.slot] !== found.slotWrites || found.modelWrites !== modelWrites) {
      const slot = kind === 'id' ? slotById(model, key) : slotByUid(model, key);
      // Counted before the read leaves: a write landing while it is under way moves them.
      found = { payload: read(), slot, slotWrites: this.#writesInSlot[slot]!, modelWrites };
      const kept = reads;
      const entry = found;
      kept.set(name, entry);
      entry.payload.catch(() => {
        if (kept.get(name) === entry) kept.delete(name);
      });
    }
    return found.payload.then((payload) => payload && copyJson(payload));
  }

  /** The writes of `model` that could change any document read by `kind`. */
  #modelWritesFor(model: string, kind: 'id' | 'uid'): number {
    return (this.#writesOfWholeModel.get(model) ?? 0) + (kind === 'uid' ? (this.#writesWithoutUid.get(model) ?? 0) : 0);
  }
}

const perStore = new WeakMap<object, RequestReads>();

/** The one RequestReads of `store`, which every adapter of every app on it shares. */
export function readsOf(store: object): RequestReads {
  let reads = perStore.get(store);
  if (!reads) perStore.set(store, (reads = new RequestReads()));
  return reads;
}
