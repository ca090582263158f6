// Whatever waits in an outbox lives in the store (Redis, MongoDB), and may carry something
// only its recipient should see (a live sign-in link, an address, a session id). So each
// message is sealed (AES-256-GCM, under a key derived from KEY_ENCRYPTION_KEY for that
// outbox alone) before it leaves the process, and its id is bound in: a sealed message
// copied under another id, or into another outbox, does not open.
import { deriveKey, openJson, sealJson } from '../keys/encryption.ts';

export class OutboxSeal<T> {
  readonly #key: Buffer;
  readonly #name: string;

  /** `name` names the outbox: its key and every message's context derive from it. */
  constructor(kek: Buffer, name: string) {
    this.#key = deriveKey(kek, `${name}:seal`);
    this.#name = name;
  }

  seal(id: string, message: T): string {
    return sealJson(this.#key, message, `${this.#name}:${id}`);
  }

  /** Undefined when it does not open: another key, altered, or stored under another id. */
  open(id: string, sealed: string): T | undefined {
    return openJson<T>(this.#key, sealed, `${this.#name}:${id}`);
  }
}
