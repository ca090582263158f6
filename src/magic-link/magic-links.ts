// Magic-link codes: 256 random bits, bound to one address, one app and one login attempt
// (the oidc-provider interaction). Only a SHA-256 of the code is stored. Looking at a code
// never changes it; `consume` is the single state change and is atomic in every store.
import { createHash, randomBytes } from 'node:crypto';
import type { MagicLinkRecord, MagicLinkStore } from '../storage/ports.ts';

/** How long a used or expired record is kept so its page can say "used"/"expired". */
const RETAIN_AFTER_EXPIRY = 24 * 60 * 60;

export type LinkStatus = 'valid' | 'expired' | 'used' | 'unknown';
export type LinkLookup = { status: LinkStatus; record: MagicLinkRecord | undefined };

export function hashCode(code: string): string {
  return createHash('sha256').update(code).digest('hex');
}

const now = () => Math.floor(Date.now() / 1000);

function statusOf(record: MagicLinkRecord | undefined, at: number): LinkStatus {
  if (!record) return 'unknown';
  if (record.usedAt !== undefined) return 'used';
  if (record.expiresAt <= at) return 'expired';
  return 'valid';
}

export class MagicLinks {
  readonly #store: MagicLinkStore;
  constructor(store: MagicLinkStore) {
    this.#store = store;
  }

  async issue(input: { appId: string; interactionUid: string; email: string; clientId: string; ttl: number }) {
    const code = randomBytes(32).toString('base64url');
    const createdAt = now();
    const record: MagicLinkRecord = {
      hash: hashCode(code),
      appId: input.appId,
      interactionUid: input.interactionUid,
      email: input.email,
      clientId: input.clientId,
      createdAt,
      expiresAt: createdAt + input.ttl,
    };
    await this.#store.save(record, input.ttl + RETAIN_AFTER_EXPIRY);
    return { code, expiresAt: record.expiresAt };
  }

  /** Read-only: safe for GET and HEAD, so mail scanners cannot burn a link. */
  async inspect(appId: string, code: string): Promise<LinkLookup> {
    if (!isWellFormed(code)) return { status: 'unknown', record: undefined };
    const record = await this.#store.find(appId, hashCode(code));
    return { status: statusOf(record, now()), record };
  }

  /** Uses the code up. Among concurrent callers exactly one sees `valid`. */
  async consume(appId: string, code: string): Promise<LinkLookup> {
    if (!isWellFormed(code)) return { status: 'unknown', record: undefined };
    const at = now();
    const hash = hashCode(code);
    const current = await this.#store.find(appId, hash);
    const status = statusOf(current, at);
    if (status !== 'valid') return { status, record: current };
    const before = await this.#store.markUsed(appId, hash, at);
    // Another request may have used it between find and markUsed; `before` tells.
    return { status: statusOf(before, at), record: before };
  }
}

function isWellFormed(code: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(code);
}
