// One app's oidc-provider documents in memory, with the indexes every look-up needs, so
// no call scans the app's documents: by uid and user code (one entry each), by grant and
// by account (a set of document keys each). A document is kept as a JSON copy of what was
// written, which no caller ever holds: each read gets a copy of its own (src/json-copy.ts), so
// the engine can change what it read without changing what is stored.
//
// Expiry is checked on every read against the injected clock; an expired document found
// through an index is removed with its index entries at that moment, and `sweep` removes
// the rest periodically, so neither the documents nor the indexes grow without bound.
import type { Clock } from '../../clock.ts';
import { copyJson } from '../../json-copy.ts';
import type { OidcPayload } from '../ports.ts';

interface Stored {
  /** The document as JSON would carry it, without `consumed`; handed out only as copies. */
  readonly data: OidcPayload;
  readonly expiresAt: number | undefined;
  consumed: number | undefined;
}

/** "Model:id", the key of a document within its app. */
export function docKey(model: string, id: string): string {
  return `${model}:${id}`;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** The fields a document is indexed by, read from the document the store keeps. */
function indexed({ data }: Stored) {
  return { uid: text(data.uid), userCode: text(data.userCode), grantId: text(data.grantId), accountId: text(data.accountId) };
}

function addTo(index: Map<string, Set<string>>, value: string | undefined, key: string): void {
  if (value === undefined) return;
  let set = index.get(value);
  if (!set) index.set(value, (set = new Set()));
  set.add(key);
}

function removeFrom(index: Map<string, Set<string>>, value: string | undefined, key: string): void {
  if (value === undefined) return;
  const set = index.get(value);
  if (set?.delete(key) && set.size === 0) index.delete(value);
}

export class AppDocuments {
  readonly #docs = new Map<string, Stored>();
  readonly #byUid = new Map<string, string>();
  readonly #byUserCode = new Map<string, string>();
  readonly #byGrant = new Map<string, Set<string>>();
  readonly #byAccount = new Map<string, Set<string>>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** `ttlSeconds` may be fractional; undefined keeps the document until destroyed. */
  set(model: string, id: string, payload: OidcPayload, ttlSeconds: number | undefined): void {
    const key = docKey(model, id);
    this.delete(key);
    const { consumed, ...rest } = payload;
    const stored: Stored = {
      data: copyJson(rest),
      expiresAt: ttlSeconds === undefined ? undefined : this.#clock.now() + ttlSeconds * 1000,
      consumed: typeof consumed === 'number' ? consumed : undefined,
    };
    this.#docs.set(key, stored);
    const { uid, userCode, grantId, accountId } = indexed(stored);
    if (uid !== undefined) this.#byUid.set(docKey(model, uid), key);
    if (userCode !== undefined) this.#byUserCode.set(docKey(model, userCode), key);
    addTo(this.#byGrant, grantId, key);
    addTo(this.#byAccount, accountId, key);
  }

  /** A fresh copy of the live document under `key`. */
  get(key: string): OidcPayload | undefined {
    const stored = this.#live(key);
    if (!stored) return undefined;
    const payload = copyJson(stored.data);
    if (stored.consumed !== undefined) payload.consumed = stored.consumed;
    return payload;
  }

  byUid(model: string, uid: string): OidcPayload | undefined {
    const key = this.#byUid.get(docKey(model, uid));
    return key === undefined ? undefined : this.get(key);
  }

  byUserCode(model: string, userCode: string): OidcPayload | undefined {
    const key = this.#byUserCode.get(docKey(model, userCode));
    return key === undefined ? undefined : this.get(key);
  }

  /** The keys of the live documents that carry this grant id. */
  keysOfGrant(grantId: string): string[] {
    return this.#liveKeys(this.#byGrant.get(grantId));
  }

  /** The keys of the live documents that carry this account id. */
  keysOfAccount(accountId: string): string[] {
    return this.#liveKeys(this.#byAccount.get(accountId));
  }

  /** Sets `consumed` on a live, unconsumed document; false when there is none. */
  consume(key: string, at: number): boolean {
    const stored = this.#live(key);
    if (!stored || stored.consumed !== undefined) return false;
    stored.consumed = at;
    return true;
  }

  delete(key: string): boolean {
    const stored = this.#docs.get(key);
    if (!stored) return false;
    this.#docs.delete(key);
    const model = key.slice(0, key.indexOf(':'));
    // An index entry is removed only while it still points here: a later document may
    // have taken the same uid.
    const { uid, userCode, grantId, accountId } = indexed(stored);
    if (uid !== undefined && this.#byUid.get(docKey(model, uid)) === key) this.#byUid.delete(docKey(model, uid));
    if (userCode !== undefined && this.#byUserCode.get(docKey(model, userCode)) === key) this.#byUserCode.delete(docKey(model, userCode));
    removeFrom(this.#byGrant, grantId, key);
    removeFrom(this.#byAccount, accountId, key);
    return true;
  }

  /** Every live document, as [key, copy]: for tests that read what the store holds. */
  *entries(): IterableIterator<[string, OidcPayload]> {
    for (const key of [...this.#docs.keys()]) {
      const value = this.get(key);
      if (value !== undefined) yield [key, value];
    }
  }

  /** Removes every expired document with its index entries. */
  sweep(): void {
    for (const key of [...this.#docs.keys()]) this.#live(key);
  }

  /** Entries held per index (documents, uid, user code, grant, account): tests check they shrink. */
  sizes(): { docs: number; uid: number; userCode: number; grant: number; account: number } {
    return { docs: this.#docs.size, uid: this.#byUid.size, userCode: this.#byUserCode.size, grant: this.#byGrant.size, account: this.#byAccount.size };
  }

  #live(key: string): Stored | undefined {
    const stored = this.#docs.get(key);
    if (!stored) return undefined;
    if (stored.expiresAt !== undefined && stored.expiresAt <= this.#clock.now()) {
      this.delete(key);
      return undefined;
    }
    return stored;
  }

  #liveKeys(keys: Set<string> | undefined): string[] {
    return keys ? [...keys].filter((key) => this.#live(key)) : [];
  }
}
