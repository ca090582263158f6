// Magic-link codes: 256 random bits, bound to one address, one app and one login attempt
// (the oidc-provider interaction), plus a short code derived from it for typing on the
// device that started the login. Only hashes are stored: the link's SHA-256 (256 bits,
// beyond any search) and the short code's HMAC under a key derived from
// KEY_ENCRYPTION_KEY (40 bits: a plain hash of it would be searched through in minutes by
// whoever reads the store, who could then type it into an attempt of their own). Looking
// at a code never changes it; consuming is atomic in every store. A new link for the same
// login attempt supersedes the older one.
import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { keyedHash } from '../keys/encryption.ts';
import { equalText } from '../keys/equal-text.ts';
import type { LinkUse, MagicLinkRecord, MagicLinkStore } from '../storage/ports.ts';

/** How long a used or expired record is kept so its page can say "used"/"expired". */
const RETAIN_AFTER_EXPIRY = 24 * 60 * 60;
/** Short codes compared per link, right or wrong; after that the link is locked. */
export const MAX_SHORT_CODE_ATTEMPTS = 5;
// 32 symbols without 0/O/1/I: 8 of them carry 40 bits and read back unambiguously.
const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export type LinkStatus = 'valid' | 'expired' | 'used' | 'unknown' | 'superseded';
export type LinkLookup = { status: LinkStatus; record: MagicLinkRecord | undefined };
export type ShortCodeCheck =
  | { status: 'valid'; record: MagicLinkRecord }
  /** `attemptsLeft` 0: that was the last attempt, the link is locked now. */
  | { status: 'wrong'; attemptsLeft: number }
  | { status: 'locked' | 'expired' | 'used' };

const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** The short code of a link code: derived, so it never has to be stored in clear. */
export function shortCodeOf(code: string): string {
  const digest = createHash('sha256').update(`postern-short-code:${code}`).digest();
  let out = '';
  for (let i = 0; i < 8; i++) out += ALPHABET[digest[i]! & 31];
  return out;
}

export function formatShortCode(shortCode: string): string {
  return `${shortCode.slice(0, 4)}-${shortCode.slice(4)}`;
}

/** What a person may type: any case, spaces or dashes. */
export function normalizeShortCode(typed: unknown): string | undefined {
  if (typeof typed !== 'string' || typed.length > 40) return undefined;
  const cleaned = typed.toUpperCase().replace(/[\s-]/g, '');
  return /^[A-Z0-9]{8}$/.test(cleaned) ? cleaned : undefined;
}

function statusOf(record: MagicLinkRecord | undefined, at: number): LinkStatus {
  if (!record) return 'unknown';
  if (record.usedAt !== undefined) return 'used';
  if (record.expiresAt <= at) return 'expired';
  return 'valid';
}

const UNKNOWN: LinkLookup = { status: 'unknown', record: undefined };

/**
 * What a look-up of a link for login attempt `uid` found at `at`, or what an attempt to
 * use it (`tried`) did: only a use the store made is ever `valid`.
 */
function lookupOf(found: LinkUse | undefined, uid: string, at: number, tried: boolean): LinkLookup {
  if (!found || found.record.interactionUid !== uid) return UNKNOWN;
  const { record } = found;
  if (tried && found.used) return { status: 'valid', record };
  const status = statusOf(record, at);
  if (status !== 'valid') return { status, record };
  if (found.superseded) return { status: 'superseded', record };
  return { status: tried ? 'used' : 'valid', record };
}

function isWellFormed(code: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(code);
}

export class MagicLinks {
  readonly #store: MagicLinkStore;
  readonly #clock: Clock;
  readonly #shortCodeKey: Buffer;
  /** `shortCodeKey`: the key of the short codes' HMACs, derived from KEY_ENCRYPTION_KEY for that alone. */
  constructor(store: MagicLinkStore, clock: Clock, shortCodeKey: Buffer) {
    this.#store = store;
    this.#clock = clock;
    this.#shortCodeKey = shortCodeKey;
  }

  /** Bound to its link: two links with the same short code store different values. */
  #shortCodeHash(linkHash: string, shortCode: string): string {
    return keyedHash(this.#shortCodeKey, `${linkHash}:${shortCode}`);
  }

  /** Epoch seconds, the unit of the records. */
  #now(): number {
    return Math.floor(this.#clock.now() / 1000);
  }

  async issue(input: { appId: string; interactionUid: string; email: string; clientId: string; ttl: number }) {
    const code = randomBytes(32).toString('base64url');
    const shortCode = shortCodeOf(code);
    const createdAt = this.#now();
    const hash = sha256(code);
    const record: MagicLinkRecord = {
      hash,
      shortCodeHash: this.#shortCodeHash(hash, shortCode),
      appId: input.appId,
      interactionUid: input.interactionUid,
      email: input.email,
      clientId: input.clientId,
      createdAt,
      expiresAt: createdAt + input.ttl,
    };
    await this.#store.save(record, input.ttl + RETAIN_AFTER_EXPIRY);
    return { code, shortCode, expiresAt: record.expiresAt };
  }

  /**
   * Read-only: safe for GET and HEAD, so mail scanners cannot burn a link. A link of
   * another login attempt than `uid` counts as unknown.
   */
  async inspect(appId: string, uid: string, code: string): Promise<LinkLookup> {
    if (!isWellFormed(code)) return UNKNOWN;
    const found = await this.#store.findWithSuccessor(appId, sha256(code));
    return lookupOf(found && { ...found, used: false }, uid, this.#now(), false);
  }

  /**
   * Uses up the link `code` of login attempt `uid` when `inspect` would find it `valid`: the
   * look-up and the use in one store operation. Among concurrent callers exactly one sees
   * `valid`; the others see `used`.
   */
  async confirm(appId: string, uid: string, code: string): Promise<LinkLookup> {
    if (!isWellFormed(code)) return UNKNOWN;
    return this.#use(appId, sha256(code), uid);
  }

  /** Uses up the link `hash` of attempt `uid` if it is current; `used` when another request was first. */
  async #use(appId: string, hash: string, uid: string): Promise<LinkLookup> {
    const at = this.#now();
    return lookupOf(await this.#store.useCurrent(appId, hash, uid, at), uid, at, true);
  }

  /** The latest link of a login attempt: for "send me a new link", a repeated request, a typed short code. */
  latest(appId: string, interactionUid: string): Promise<MagicLinkRecord | undefined> {
    return this.#store.latestForAttempt(appId, interactionUid);
  }

  /**
   * Checks a typed short code against `record`, the latest link of its attempt. The store
   * counts the attempt before anything is compared, and refuses it once the link's attempts
   * are used up: however many codes arrive at once, at most MAX_SHORT_CODE_ATTEMPTS of them
   * are compared, and later ones (the right code too) find the link locked. Whatever it is
   * handed counts, malformed input too; the hosted sign-in hands it nothing that cannot be a
   * code (sign-in.ts, typeCode).
   */
  async checkShortCode(record: MagicLinkRecord, typed: unknown): Promise<ShortCodeCheck> {
    const status = statusOf(record, this.#now());
    if (status === 'used' || status === 'expired') return { status };
    const attempt = await this.#store.takeAttempt(record.appId, record.hash, MAX_SHORT_CODE_ATTEMPTS);
    if (attempt === 0) return { status: 'locked' };
    const normalized = normalizeShortCode(typed);
    const matches =
      normalized !== undefined && equalText(this.#shortCodeHash(record.hash, normalized), record.shortCodeHash);
    if (!matches) return { status: 'wrong', attemptsLeft: MAX_SHORT_CODE_ATTEMPTS - attempt };
    const used = await this.#use(record.appId, record.hash, record.interactionUid);
    return used.status === 'valid' && used.record ? { status: 'valid', record: used.record } : { status: 'used' };
  }
}
