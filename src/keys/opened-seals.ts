// What sealed engine documents open to, remembered for a while. Opening one costs a cipher
// object, a base64 decode and an AES-GCM pass, and the same ciphertext is opened again and
// again: an interaction at each page of a sign-in, a code, session or grant this process
// sealed a moment before the request that reads it. Opening is a function of the key, the
// ciphertext and its context, so a ciphertext this process sealed or opened under a context
// opens to the same text under it again. Only those are remembered, and only under their
// own context: anything else (altered, another key, app or model) still goes through the
// cipher and fails there. What is remembered is what the process held anyway (the plaintext
// of a document it handled), in its memory only; nothing changes at rest.

interface Opened {
  readonly context: string;
  readonly plaintext: string;
}

export class OpenedSeals {
  readonly #maxChars: number;
  /** In the order remembered: the oldest is forgotten first. */
  readonly #entries = new Map<string, Opened>();
  #chars = 0;

  /** `maxChars` bounds the ciphertexts and plaintexts held, in UTF-16 code units. */
  constructor(maxChars: number) {
    this.#maxChars = maxChars;
  }

  /** The plaintext `sealed` opened to under `context`, if remembered. */
  get(sealed: string, context: string): string | undefined {
    const opened = this.#entries.get(sealed);
    return opened?.context === context ? opened.plaintext : undefined;
  }

  /** `sealed` opens to `plaintext` under `context` (sealed or opened so by this process). */
  remember(sealed: string, context: string, plaintext: string): void {
    const size = sizeOf(sealed, plaintext);
    if (size > this.#maxChars || this.#entries.has(sealed)) return;
    this.#entries.set(sealed, { context, plaintext });
    this.#chars += size;
    // Oldest first: documents are read again soon after they are written or read, or not for long.
    for (const [oldest, opened] of this.#entries) {
      if (this.#chars <= this.#maxChars) break;
      this.#entries.delete(oldest);
      this.#chars -= sizeOf(oldest, opened.plaintext);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}

function sizeOf(sealed: string, plaintext: string): number {
  return sealed.length + plaintext.length;
}
