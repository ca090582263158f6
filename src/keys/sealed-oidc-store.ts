// oidc-provider documents at rest hold nothing that can be presented to Postern. The ids
// the engine hands out (refresh and access tokens, authorization codes, session and
// interaction ids) are store keys and index entries in every driver, so each is replaced
// by a keyed hash (HMAC-SHA-256) before it reaches a store; the document itself, which
// repeats its id and holds more of them (an interaction names its session), is sealed
// with AES-256-GCM. Someone who reads a Redis dump, a MongoDB backup or a replica learns
// neither a token nor a way to forge one: the keys derive from KEY_ENCRYPTION_KEY.
//
// Look-ups still work because the hash is deterministic: the engine's id is hashed the
// same way on the way in and on the way back. Drivers index the hashed fields exactly as
// they indexed the clear ones, so nothing below this layer changed.
import { IncompleteRemovalError, type OidcPayload, type OidcStore, type RemovedDocuments } from '../storage/ports.ts';
import { deriveKey, keyedHash, openJson, sealJson } from './encryption.ts';

/** Payload fields the drivers index (look-ups, revocation by grant, sign-out by account). */
const INDEXED = ['uid', 'userCode', 'grantId', 'accountId'] as const;

/** What a driver stores for one engine document. */
interface StoredDocument extends OidcPayload {
  readonly sealed: string;
}

/** What the seal holds: the id, so a document moved to another key fails to open as that id. */
interface Sealed {
  readonly id: string;
  readonly payload: OidcPayload;
}

function subkey(kek: Buffer, purpose: string): Buffer {
  return deriveKey(kek, `postern:oidc-documents:${purpose}`);
}

export class SealedOidcStore implements OidcStore {
  readonly #inner: OidcStore;
  readonly #idKey: Buffer;
  readonly #sealKey: Buffer;

  constructor(inner: OidcStore, kek: Buffer) {
    this.#inner = inner;
    this.#idKey = subkey(kek, 'ids');
    this.#sealKey = subkey(kek, 'seal');
  }

  /** The stored form of an id or an indexed value. */
  hash(value: string): string {
    return keyedHash(this.#idKey, value);
  }

  async upsert(appId: string, model: string, id: string, payload: OidcPayload, expiresIn: number | undefined) {
    // `consumed` stays outside the seal: drivers set it atomically on their own (consume).
    const { consumed, ...rest } = payload;
    const sealed: Sealed = { id, payload: rest };
    const stored: Record<string, unknown> = { sealed: sealJson(this.#sealKey, sealed, context(appId, model)) };
    for (const field of INDEXED) {
      const value = payload[field];
      if (typeof value === 'string') stored[field] = this.hash(value);
    }
    if (consumed) stored['consumed'] = consumed;
    await this.#inner.upsert(appId, model, this.hash(id), stored, expiresIn);
  }

  async find(appId: string, model: string, id: string) {
    return this.#open(appId, model, await this.#inner.find(appId, model, this.hash(id)), (s) => s.id === id);
  }

  async findByUid(appId: string, model: string, uid: string) {
    return this.#open(appId, model, await this.#inner.findByUid(appId, model, this.hash(uid)), (s) => s.payload.uid === uid);
  }

  async findByUserCode(appId: string, model: string, userCode: string) {
    const stored = await this.#inner.findByUserCode(appId, model, this.hash(userCode));
    return this.#open(appId, model, stored, (s) => s.payload.userCode === userCode);
  }

  consume(appId: string, model: string, id: string) {
    return this.#inner.consume(appId, model, this.hash(id));
  }

  destroy(appId: string, model: string, id: string) {
    return this.#inner.destroy(appId, model, this.hash(id));
  }

  revokeByGrantId(appId: string, model: string, grantId: string) {
    return this.#inner.revokeByGrantId(appId, model, this.hash(grantId));
  }

  /** The removed sessions come back opened, under the engine's own ids; one that does not open is left out. */
  async destroyByAccount(appId: string, accountId: string): Promise<RemovedDocuments> {
    try {
      return this.#opened(appId, await this.#inner.destroyByAccount(appId, this.hash(accountId)));
    } catch (err) {
      throw err instanceof IncompleteRemovalError ? new IncompleteRemovalError(this.#opened(appId, err.removed), err) : err;
    }
  }

  #opened(appId: string, removed: RemovedDocuments): RemovedDocuments {
    const sessions = removed.sessions.flatMap((stored) => {
      const opened = this.#unseal(appId, 'Session', stored.payload);
      return opened && this.hash(opened.id) === stored.id ? [{ id: opened.id, payload: opened.payload }] : [];
    });
    return { ...removed, sessions };
  }

  /**
   * A document that does not open (written before sealing existed, under another key, or
   * tampered with) or that is not the one asked for counts as missing: the engine then
   * answers as for an unknown token, never with an error.
   */
  #open(appId: string, model: string, stored: OidcPayload | undefined, isAskedFor: (s: Sealed) => boolean) {
    const opened = this.#unseal(appId, model, stored);
    if (!stored || !opened || !isAskedFor(opened)) return undefined;
    return stored.consumed ? { ...opened.payload, consumed: stored.consumed } : opened.payload;
  }

  #unseal(appId: string, model: string, stored: OidcPayload | undefined): Sealed | undefined {
    if (!stored || typeof (stored as Partial<StoredDocument>).sealed !== 'string') return undefined;
    return openJson<Sealed>(this.#sealKey, (stored as StoredDocument).sealed, context(appId, model));
  }
}

/** Binds a sealed document to its app and model: one copied elsewhere does not open. */
function context(appId: string, model: string): string {
  return `postern:oidc:${appId}:${model}`;
}
