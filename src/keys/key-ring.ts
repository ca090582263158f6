// The rotation state of one app's signing keys, as pure functions over the stored keys.
// An app keeps keys only for the algorithms it signs with (ES512 alone by default): each
// arrives in the write that first makes one of its clients' responses signed with it (a
// new app, a change of the app, a further client added or changed by the admin API or by
// Dynamic Client Registration), so key generation costs a write only what it needs, and
// an algorithm, once added, stays and rotates with the others (apps that held RS256 keys
// from before keep them). Per algorithm it has one `current` key, which
// signs, one `next` key, published in the JWKS ahead of its turn so relying parties
// already know it when it starts signing, and any number of `previous` keys, published
// until every token they signed has expired (`retireAt`). A rotation promotes
// next → current, demotes current → previous and adds a new next key; it is computed here
// and stored by the caller in one compare-and-replace of the app record
// (src/apps/apps-service.ts).
import { SIGNING_ALGS, signingAlgsOf } from '../apps/client-options.ts';
import type { AppRecord, StoredKey } from '../storage/ports.ts';

export type KeyStatus = 'next' | 'current' | 'previous';
export type KeyAlg = StoredKey['alg'];

/** What the key ring reads of an app (tests and records from before rotation may hold less). */
type KeyedApp = Pick<AppRecord, 'keys'> & Partial<AppRecord>;

/**
 * The algorithms the app keeps keys for, in SIGNING_ALGS order: every one its clients'
 * responses are signed with (client-options.ts), and every one it holds keys of.
 */
export function keyAlgsOf(app: KeyedApp): KeyAlg[] {
  const wanted = new Set<KeyAlg>([...signingAlgsOf(app), ...app.keys.map((k) => k.alg)]);
  return SIGNING_ALGS.filter((alg) => wanted.has(alg));
}

/**
 * Added to a previous key's lifetime. Until another instance hears of a rotation (at once
 * over Redis pub/sub, at most 30 s by revalidation) it still signs with the old key, and
 * relying parties accept tokens a little past `exp` for clock skew.
 */
export const RETIRE_GRACE_MS = 5 * 60 * 1000;

/** The largest id_token_ttl an app can have (src/apps/app-input.ts): assumed when unknown. */
export const MAX_ID_TOKEN_TTL = 86_400;

/**
 * The longest a token signed with the app's keys lives: an ID token, or a JWT access token
 * for one of its APIs (src/apps/api-resources.ts). A key that stops signing stays
 * published that long, so every token it signed still verifies until it expires.
 */
export function longestTokenTtl(app: Pick<AppRecord, 'settings' | 'resources'>): number {
  return Math.max(app.settings.id_token_ttl, ...(app.resources ?? []).map((r) => r.accessTokenTtl));
}

/** Makes a new key of `alg` (sealed, without status); see generate-keys.ts. */
export type KeyMaker = (alg: KeyAlg) => Promise<StoredKey>;

export function statusOf(key: StoredKey): KeyStatus {
  return key.status ?? 'current';
}

/** When the key became current (keys stored before rotation existed: when created). */
export function activatedAt(key: StoredKey): number {
  return key.activatedAt ?? key.createdAt;
}

const STATUS_ORDER: Record<KeyStatus, number> = { current: 0, next: 1, previous: 2 };

function isRetired(key: StoredKey, now: number): boolean {
  return statusOf(key) === 'previous' && (key.retireAt ?? 0) <= now;
}

/**
 * The keys to give the engine, in order of preference: the current keys first (the
 * newest first should a record ever hold two), then next and previous keys, which are
 * only published (and used to verify, e.g. an id_token_hint). The engine signs with the
 * first key of each algorithm (src/oidc/engine.ts, A5), so it signs with the current key
 * only. Retired keys are left out even before the sweep removes them from the record.
 */
export function publishedKeys(keys: readonly StoredKey[], now: number): StoredKey[] {
  return keys
    .filter((k) => !isRetired(k, now))
    .sort((a, b) => STATUS_ORDER[statusOf(a)] - STATUS_ORDER[statusOf(b)] || activatedAt(b) - activatedAt(a) || b.createdAt - a.createdAt);
}

/** A key as it becomes current now, with the app's ID token lifetime. */
function activate(key: StoredKey, now: number, ttl: number): StoredKey {
  const { retireAt: _r, ...rest } = key;
  return { ...rest, status: 'current', activatedAt: now, maxTokenTtl: ttl };
}

function asNext(key: StoredKey): StoredKey {
  const { activatedAt: _a, maxTokenTtl: _m, retireAt: _r, ...rest } = key;
  return { ...rest, status: 'next' };
}

/**
 * A current key as it stops signing now: it stays published until the longest-lived token
 * it can have signed has expired. Keys stored before rotation existed did not record the
 * TTLs they signed with, so for them the largest possible TTL is assumed.
 */
function retire(key: StoredKey, now: number, ttl: number): StoredKey {
  const signedTtl = Math.max(key.maxTokenTtl ?? MAX_ID_TOKEN_TTL, ttl);
  return { ...key, status: 'previous', activatedAt: activatedAt(key), retireAt: now + signedTtl * 1000 + RETIRE_GRACE_MS };
}

/**
 * `keys` with a current and a next key for each of `algs` that lacks one, made now: a
 * current key made here signs at once (for an algorithm nothing was signed with before,
 * there is nothing a relying party could have cached), the next one is published ahead of
 * its turn as after a rotation. Undefined when nothing is missing.
 */
async function completed(keys: readonly StoredKey[], algs: readonly KeyAlg[], now: number, ttl: number, make: KeyMaker): Promise<StoredKey[] | undefined> {
  const has = (alg: KeyAlg, status: KeyStatus) => keys.some((k) => k.alg === alg && statusOf(k) === status);
  const missing = algs.flatMap((alg) => (['current', 'next'] as const).filter((status) => !has(alg, status)).map((status) => ({ alg, status })));
  if (missing.length === 0) return undefined;
  const made = await Promise.all(missing.map(({ alg }) => make(alg)));
  return [...keys, ...made.map((key, i) => (missing[i]!.status === 'current' ? activate(key, now, ttl) : asNext(key)))];
}

/** The keys of a new app: a current key per algorithm, and the next one already published. */
export async function initialKeys(make: KeyMaker, now: number, idTokenTtl: number, algs: readonly KeyAlg[]): Promise<StoredKey[]> {
  return (await completed([], algs, now, idTokenTtl, make))!;
}

/**
 * The app's keys once every algorithm it keeps keys for, and every one of `also`, has a
 * current and a next key: for the write that makes a response signed with an algorithm
 * the app has no key of (the app's, or a further client's), or that must come before a
 * client naming one can register (oidc/registrable-algorithms.ts). Undefined when none is
 * missing.
 */
export async function keysForSigning(app: AppRecord, now: number, make: KeyMaker, also: readonly KeyAlg[] = []): Promise<StoredKey[] | undefined> {
  const algs = SIGNING_ALGS.filter((alg) => also.includes(alg) || keyAlgsOf(app).includes(alg));
  return completed(app.keys, algs, now, longestTokenTtl(app), make);
}

/**
 * One rotation, per algorithm: next → current, current → previous (with `retireAt`), a new
 * next key, retired previous keys dropped. An algorithm without a next key (a record
 * stored before rotation existed) gets a fresh current key instead. Nothing that may
 * have signed an unexpired token is dropped: only previous keys past `retireAt`, and
 * surplus next keys, which never signed.
 */
export async function rotateKeys(app: AppRecord, now: number, make: KeyMaker): Promise<StoredKey[]> {
  const ttl = longestTokenTtl(app);
  const result: StoredKey[] = [];
  for (const alg of keyAlgsOf(app)) {
    const mine = app.keys.filter((k) => k.alg === alg);
    const [promoted] = mine.filter((k) => statusOf(k) === 'next').sort((a, b) => b.createdAt - a.createdAt);
    result.push(activate(promoted ?? (await make(alg)), now, ttl));
    result.push(asNext(await make(alg)));
    for (const key of mine) {
      if (key === promoted) continue;
      const status = statusOf(key);
      if (status === 'current') result.push(retire(key, now, ttl));
      else if (status === 'previous' && !isRetired(key, now)) result.push(key);
    }
  }
  return result;
}

/**
 * Upkeep without rotating: drops retired keys and adds a next key to an algorithm that
 * has none (records stored before rotation existed), and a current one to an algorithm
 * that has none. Returns undefined when nothing changes, so the caller writes nothing.
 */
export async function maintainKeys(app: KeyedApp, now: number, make: KeyMaker): Promise<StoredKey[] | undefined> {
  const kept = app.keys.filter((k) => !isRetired(k, now));
  const ttl = app.settings ? longestTokenTtl({ settings: app.settings, resources: app.resources }) : MAX_ID_TOKEN_TTL;
  const added = await completed(kept, keyAlgsOf(app), now, ttl, make);
  return added ?? (kept.length === app.keys.length ? undefined : kept);
}

/**
 * How long a next key must have been published before a manual rotation may promote it:
 * the JWKS is served with `max-age` of JWKS_MAX_AGE_SECONDS, and client libraries keep a
 * fetched JWKS up to 10 minutes (jose's default) before they fetch it again, so after
 * this time every relying party that fetches keys has seen the next key.
 */
export const KEY_PROPAGATION_MS = 10 * 60 * 1000;
export const JWKS_MAX_AGE_SECONDS = 300;

/** Milliseconds until every algorithm's next key has been published KEY_PROPAGATION_MS; 0 when it has. */
export function untilPropagated(app: AppRecord, now: number): number {
  const waits = keyAlgsOf(app).map((alg) => {
    const next = app.keys.filter((k) => k.alg === alg && statusOf(k) === 'next');
    // No next key (a record stored before rotation existed): the rotation makes a fresh
    // current key, which no relying party knows either way.
    return next.length === 0 ? 0 : Math.min(...next.map((k) => Math.max(0, k.createdAt + KEY_PROPAGATION_MS - now)));
  });
  return Math.max(...waits);
}

/**
 * A rotation for a compromised key: per algorithm a fresh current key and a fresh next
 * key, and nothing else: the compromised key, the published next key (kept beside it, so
 * likely exposed with it) and previous keys leave the JWKS at once. Every ID token signed
 * before stops verifying once a relying party fetches the JWKS again.
 */
export async function replaceKeys(app: AppRecord, now: number, make: KeyMaker): Promise<StoredKey[]> {
  return initialKeys(make, now, longestTokenTtl(app), keyAlgsOf(app));
}

/**
 * How long a next key must have been published before a scheduled rotation promotes it,
 * so relying parties that cache the JWKS have fetched it. Normally it has been published
 * since the previous rotation; this matters for records stored before rotation existed,
 * whose next keys the sweep adds first.
 */
export const NEXT_KEY_MIN_PUBLISHED_MS = 24 * 60 * 60 * 1000;

/**
 * Whether a scheduled rotation is due: some algorithm's current key has been current for
 * `periodMs` or longer (or there is none), and every algorithm's next key has been
 * published for at least NEXT_KEY_MIN_PUBLISHED_MS.
 */
export function rotationDue(app: KeyedApp, now: number, periodMs: number): boolean {
  const algs = keyAlgsOf(app);
  const old = algs.some((alg) => {
    const current = app.keys.filter((k) => k.alg === alg && statusOf(k) === 'current');
    return current.length === 0 || current.every((k) => now - activatedAt(k) >= periodMs);
  });
  const announced = algs.every((alg) =>
    app.keys.some((k) => k.alg === alg && statusOf(k) === 'next' && now - k.createdAt >= NEXT_KEY_MIN_PUBLISHED_MS),
  );
  return old && announced;
}

/**
 * After a change of the app's id_token_ttl: the current keys remember the longest TTL they
 * signed with, so lowering the TTL never retires a key before its older, longer-lived
 * tokens expire.
 */
export function noteTokenTtl(keys: readonly StoredKey[], ttl: number): StoredKey[] {
  return keys.map((k) =>
    statusOf(k) === 'current' && k.maxTokenTtl !== undefined && ttl > k.maxTokenTtl ? { ...k, maxTokenTtl: ttl } : k,
  );
}

/** The earliest future `retireAt` among the keys, for the sweep's next wake-up. */
export function nextRetirement(keys: readonly StoredKey[], now: number): number | undefined {
  const times = keys.filter((k) => statusOf(k) === 'previous' && (k.retireAt ?? 0) > now).map((k) => k.retireAt!);
  return times.length ? Math.min(...times) : undefined;
}
