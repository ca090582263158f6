// Per-app signing-key rotation: the next key is published before it signs, the previous
// key stays published until every token it signed has expired, manual and scheduled
// rotation, concurrent rotations, and the key ring's invariants under random histories.
import { expect } from 'chai';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { createAuditLog } from '../../src/audit.ts';
import {
  KEY_PROPAGATION_MS,
  keyAlgsOf,
  MAX_ID_TOKEN_TTL,
  NEXT_KEY_MIN_PUBLISHED_MS,
  RETIRE_GRACE_MS,
  maintainKeys,
  noteTokenTtl,
  publishedKeys,
  rotateKeys,
  rotationDue,
  statusOf,
  type KeyAlg,
} from '../../src/keys/key-ring.ts';
import { DAY_MS, KeyRotationScheduler } from '../../src/keys/rotation-scheduler.ts';
import { createLogger } from '../../src/log.ts';
import type { AppRecord, StoredKey } from '../../src/storage/ports.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { ADMIN_TOKEN, Harness, type AppJson } from '../helpers/harness.ts';

/** An app created before keys followed its clients' algorithms holds ES512 and RS256 keys (and keeps them). */
const LEGACY_ALGS: readonly KeyAlg[] = ['ES512', 'RS256'];

/** An app whose introspection responses are signed with RS256 holds ES512 and RS256 keys, which rotate together. */
const RS256_TOO = { introspection_signed_response_alg: 'RS256' } as const;

interface KeyJson {
  kid: string;
  alg: string;
  status: 'next' | 'current' | 'previous';
  created_at: string;
  activated_at?: string;
  retire_at?: string;
}

const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'priv'];

const keysOf = (app: unknown) => (app as { keys: KeyJson[] }).keys;
const kidsWith = (keys: KeyJson[], status: KeyJson['status'], alg?: string) =>
  keys.filter((k) => k.status === status && (!alg || k.alg === alg)).map((k) => k.kid);
const only = (kids: string[]) => {
  expect(kids).to.have.length(1);
  return kids[0]!;
};

async function jwks(app: AppJson): Promise<Record<string, unknown>[]> {
  const res = await fetch(`${app.issuer}/jwks`);
  expect(res.status).to.equal(200);
  return ((await res.json()) as { keys: Record<string, unknown>[] }).keys;
}

/**
 * Verifies against the JWKS as served now (a fresh fetch, as a relying party would), by
 * the relying party's clock: real time unless `at` says otherwise (e.g. the server's
 * test clock, to see a token from before a jump as expired).
 */
async function verifyNow(app: AppJson, idToken: string, at = Date.now()) {
  return jwtVerify(idToken, createRemoteJWKSet(new URL(`${app.issuer}/jwks`)), {
    issuer: app.issuer,
    audience: app.client_id,
    currentDate: new Date(at),
  });
}

async function rejectsVerification(app: AppJson, idToken: string, at = Date.now()): Promise<string> {
  try {
    await verifyNow(app, idToken, at);
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  throw new Error('expected the ID token not to verify');
}

describe('signing-key rotation', function () {
  this.timeout(60_000);
  const h = new Harness();

  const view = async (app: AppJson) => {
    const res = await h.admin('GET', `/admin/apps/${app.app_id}`);
    expect(res.status).to.equal(200);
    return keysOf(res.body);
  };
  /** Time for the published next keys to reach relying parties, after which a rotation may promote them. */
  const propagate = () => h.clock.travel(KEY_PROPAGATION_MS / 1000);
  const rotate = async (app: AppJson) => {
    propagate();
    const res = await h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate`);
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    return keysOf(res.body);
  };

  before(async () => {
    await h.start();
  });
  after(() => h.stop());
  afterEach(() => h.clock.reset());

  describe('manual rotation (POST /admin/apps/{id}/keys/rotate)', () => {
    it('creates an app with a current and an already published next key per algorithm it signs with: ES512 alone by default', async () => {
      for (const [options, algs] of [[{}, ['ES512']], [RS256_TOO, ['ES512', 'RS256']]] as const) {
        const app = await h.createApp(options);
        const keys = keysOf(app);
        expect(keys).to.have.length(2 * algs.length);
        for (const alg of algs) {
          only(kidsWith(keys, 'current', alg));
          only(kidsWith(keys, 'next', alg));
        }
        const published = (await jwks(app)).map((k) => k.kid);
        expect(published).to.have.members(keys.map((k) => k.kid));
        const { tokens } = await h.signIn(app, 'first@example.com');
        expect(decodeProtectedHeader(tokens.id_token!).kid).to.equal(only(kidsWith(keys, 'current', 'ES512')));
      }
    });

    it('publishes the next key before rotation, signs with it after, and keeps verifying older ID tokens', async () => {
      const app = await h.createApp({ ...RS256_TOO, id_token_ttl: 600 });
      const before = await view(app);
      const oldSigner = only(kidsWith(before, 'current', 'ES512'));
      const upcoming = only(kidsWith(before, 'next', 'ES512'));
      expect((await jwks(app)).map((k) => k.kid)).to.include(upcoming);

      const { tokens: old } = await h.signIn(app, 'before@example.com');
      expect(decodeProtectedHeader(old.id_token!).kid).to.equal(oldSigner);

      const rotatedAt = h.clock.now() + KEY_PROPAGATION_MS;
      const after = await rotate(app);
      expect(only(kidsWith(after, 'current', 'ES512'))).to.equal(upcoming);
      expect(kidsWith(after, 'previous', 'ES512')).to.deep.equal([oldSigner]);
      const fresh = only(kidsWith(after, 'next', 'ES512'));
      expect(fresh).not.to.be.oneOf([oldSigner, upcoming]);
      // The RS256 pair rotates along.
      expect(only(kidsWith(after, 'current', 'RS256'))).to.equal(only(kidsWith(before, 'next', 'RS256')));
      expect(kidsWith(after, 'previous', 'RS256')).to.deep.equal(kidsWith(before, 'current', 'RS256'));

      // The previous key retires when its last token (id_token_ttl) has expired, plus a grace.
      const previous = after.find((k) => k.kid === oldSigner)!;
      expect(Date.parse(previous.retire_at!)).to.be.within(rotatedAt + 600_000 + RETIRE_GRACE_MS - 2000, h.clock.now() + 600_000 + RETIRE_GRACE_MS + 2000);

      const published = (await jwks(app)).map((k) => k.kid);
      expect(published).to.have.members(after.map((k) => k.kid));
      expect(published).to.include.members([oldSigner, upcoming, fresh]);

      const { tokens: now } = await h.signIn(app, 'after@example.com');
      expect(decodeProtectedHeader(now.id_token!).kid).to.equal(upcoming);
      await verifyNow(app, now.id_token!);
      // Signed before the rotation, still verifies after it.
      const { payload } = await verifyNow(app, old.id_token!);
      expect(payload.sub).to.equal('before@example.com');
      // Audited.
      await h.server.audit.flushed();
      const events = await h.stores.audit.query(app.app_id, { type: 'admin.keys_rotated', limit: 10 });
      expect(events).to.have.length(1);
      expect(events[0]).to.include({ outcome: 'success', appId: app.app_id });
    });

    it('rotates every algorithm the app keeps keys for, ES256 and EdDSA too, and each signs with its promoted key', async () => {
      const app = await h.createApp({ id_token_signed_response_alg: 'EdDSA', userinfo_signed_response_alg: 'ES256', introspection_signed_response_alg: 'RS256' });
      const before = keysOf(app);
      // ID tokens EdDSA: no response of this app is signed with ES512, so it holds no ES512 key.
      const algs = ['RS256', 'ES256', 'EdDSA'];
      expect(before.filter((k) => k.alg === 'ES512')).to.deep.equal([]);
      for (const alg of algs) {
        only(kidsWith(before, 'current', alg));
        only(kidsWith(before, 'next', alg));
      }
      const { tokens: old } = await h.signIn(app, 'every-alg@example.com');
      expect(decodeProtectedHeader(old.id_token!)).to.include({ alg: 'EdDSA', kid: only(kidsWith(before, 'current', 'EdDSA')) });

      const after = await rotate(app);
      for (const alg of algs) {
        expect(only(kidsWith(after, 'current', alg)), alg).to.equal(only(kidsWith(before, 'next', alg)));
        expect(kidsWith(after, 'previous', alg), alg).to.deep.equal(kidsWith(before, 'current', alg));
        only(kidsWith(after, 'next', alg));
      }
      expect((await jwks(app)).map((k) => k.kid)).to.have.members(after.map((k) => k.kid));
      const { tokens } = await h.signIn(app, 'every-alg@example.com');
      expect(decodeProtectedHeader(tokens.id_token!).kid).to.equal(only(kidsWith(after, 'current', 'EdDSA')));
      await verifyNow(app, tokens.id_token!);
      await verifyNow(app, old.id_token!);
      const userinfo = await fetch(`${app.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(decodeProtectedHeader(await userinfo.text()).kid).to.equal(only(kidsWith(after, 'current', 'ES256')));

      // Replacing every key at once keeps every algorithm.
      const replaced = await h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate?immediate=true`);
      const keys = keysOf(replaced.body);
      expect(keys).to.have.length(6);
      for (const alg of algs) only(kidsWith(keys, 'current', alg));
      const { tokens: fresh } = await h.signIn(app, 'every-alg@example.com');
      expect(decodeProtectedHeader(fresh.id_token!).kid).to.equal(only(kidsWith(keys, 'current', 'EdDSA')));
    });

    it('never signs with a next key, however often the app signs', async () => {
      const app = await h.createApp();
      const keys = await rotate(app);
      const signer = only(kidsWith(keys, 'current', 'ES512'));
      for (let i = 0; i < 3; i++) {
        const { tokens } = await h.signIn(app, `n${i}@example.com`);
        expect(decodeProtectedHeader(tokens.id_token!).kid).to.equal(signer);
      }
    });

    it('gives a refresh after rotation an ID token from the new key, and the old ID token still verifies', async () => {
      const app = await h.createApp();
      const { config, tokens } = await h.signIn(app, 'refresh@example.com', { scope: 'openid email offline_access' });
      const oldKid = decodeProtectedHeader(tokens.id_token!).kid;
      const keys = await rotate(app);
      const newKid = only(kidsWith(keys, 'current', 'ES512'));
      expect(newKid).not.to.equal(oldKid);
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      expect(decodeProtectedHeader(refreshed.id_token!).kid).to.equal(newKid);
      await verifyNow(app, refreshed.id_token!);
      await verifyNow(app, tokens.id_token!);
    });

    it('drops the previous key once id_token_ttl (and the grace) has passed, at the next rotation', async () => {
      const app = await h.createApp({ id_token_ttl: 3600 });
      const { tokens } = await h.signIn(app, 'expiring@example.com');
      const oldSigner = decodeProtectedHeader(tokens.id_token!).kid!;
      await rotate(app);
      // The next rotation happens 30 s before the old key's last token (and the grace) runs out.
      h.clock.travel(3600 + RETIRE_GRACE_MS / 1000 - 30 - KEY_PROPAGATION_MS / 1000);
      // Not yet: a relying party may still accept the token within its clock tolerance.
      expect(kidsWith(await rotate(app), 'previous', 'ES512')).to.include(oldSigner);
      const keys = await rotate(app);
      expect(keys.map((k) => k.kid)).not.to.include(oldSigner);
      expect(kidsWith(keys, 'previous', 'ES512')).to.have.length(2); // the two signers since
      expect((await jwks(app)).map((k) => k.kid)).not.to.include(oldSigner);
      expect(await rejectsVerification(app, tokens.id_token!)).to.equal('ERR_JWKS_NO_MATCHING_KEY');
    });

    it('never returns or publishes a private member', async () => {
      const app = await h.createApp();
      const keys = await rotate(app);
      for (const key of keys) {
        const allowed = ['kid', 'alg', 'status', 'created_at', 'activated_at', 'retire_at'];
        expect(Object.keys(key).every((k) => allowed.includes(k)), JSON.stringify(key)).to.equal(true);
      }
      for (const jwk of await jwks(app)) {
        for (const member of PRIVATE_MEMBERS) expect(jwk, `${jwk.kid} ${member}`).not.to.have.property(member);
      }
      const stored = (await h.stores.apps.get(app.app_id))!;
      const responses = [
        JSON.stringify(await h.admin('GET', `/admin/apps/${app.app_id}`)),
        JSON.stringify(await h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate`)),
        await (await fetch(`${app.issuer}/jwks`)).text(),
      ].join('\n');
      for (const key of stored.keys) expect(responses).not.to.include(key.encryptedPrivateJwk);
      expect(responses.toLowerCase()).not.to.include('encrypted');
    });

    it('refuses without the admin token (401) and for an unknown app (404)', async () => {
      const app = await h.createApp();
      const before = await view(app);
      const none = await h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate`, undefined, '');
      expect(none.status).to.equal(401);
      expect(none.headers.get('www-authenticate')).to.include('Bearer');
      expect(none.body.error).to.equal('invalid_token');
      const wrong = await h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate`, undefined, `${ADMIN_TOKEN}x`);
      expect(wrong.status).to.equal(401);
      expect(await view(app)).to.deep.equal(before);

      const unknown = await h.admin('POST', `/admin/apps/${randomUUID()}/keys/rotate`);
      expect(unknown.status).to.equal(404);
      expect(unknown.body.error).to.equal('not_found');
      expect((await h.admin('POST', '/admin/apps/not-a-uuid/keys/rotate')).status).to.equal(404);
      expect((await h.admin('DELETE', `/admin/apps/${app.app_id}`)).status).to.equal(204);
      expect((await h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate`)).status).to.equal(404);
      const get = await h.admin('GET', `/admin/apps/${randomUUID()}/keys/rotate`);
      expect(get.status).to.equal(405);
    });

    it('of concurrent rotations, applies one and refuses the others: a next key is never promoted before it propagated', async () => {
      const app = await h.createApp(RS256_TOO);
      const initial = only(kidsWith(keysOf(app), 'current', 'ES512'));
      const upcoming = only(kidsWith(keysOf(app), 'next', 'ES512'));
      const { tokens } = await h.signIn(app, 'race@example.com');
      propagate();
      const results = await Promise.all(Array.from({ length: 5 }, () => h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate`)));
      const applied = results.filter((r) => r.status === 200);
      expect(applied, 'rotations applied').to.have.length(1);
      for (const refused of results.filter((r) => r.status !== 200)) {
        // Computed again on the record that won: its next key was published moments ago.
        expect(refused.status).to.equal(409);
        expect(refused.body.error).to.equal('conflict');
        expect(refused.body.error_description).to.include('immediate=true');
        expect(Number(refused.headers.get('retry-after'))).to.be.within(KEY_PROPAGATION_MS / 1000 - 5, KEY_PROPAGATION_MS / 1000);
      }
      const keys = await view(app);
      for (const alg of ['ES512', 'RS256']) {
        only(kidsWith(keys, 'current', alg));
        only(kidsWith(keys, 'next', alg));
        expect(kidsWith(keys, 'previous', alg)).to.have.length(1);
      }
      expect(only(kidsWith(keys, 'current', 'ES512'))).to.equal(upcoming);
      expect(kidsWith(keys, 'previous', 'ES512')).to.deep.equal([initial]);
      expect((await jwks(app)).map((k) => k.kid)).to.have.members(keys.map((k) => k.kid));
      await verifyNow(app, tokens.id_token!);
    });

    it('refuses to promote a next key published less than the propagation time ago (back-to-back rotations)', async () => {
      const app = await h.createApp();
      const young = await h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate`);
      expect(young.status).to.equal(409);
      const rotated = await rotate(app);
      const next = only(kidsWith(rotated, 'next', 'ES512'));
      h.clock.travel(KEY_PROPAGATION_MS / 1000 - 60);
      const again = await h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate`);
      expect(again.status).to.equal(409);
      expect(Number(again.headers.get('retry-after'))).to.be.within(55, 60);
      expect(only(kidsWith(await view(app), 'next', 'ES512'))).to.equal(next);
      h.clock.travel(60);
      const promoted = await h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate`);
      expect(promoted.status).to.equal(200);
      expect(only(kidsWith(keysOf(promoted.body), 'current', 'ES512'))).to.equal(next);
    });

    it('replaces every key at once with ?immediate=true (a compromised key): old ID tokens stop verifying', async () => {
      const app = await h.createApp(RS256_TOO);
      const before = keysOf(app).map((k) => k.kid);
      const { tokens } = await h.signIn(app, 'compromised@example.com');
      const res = await h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate?immediate=true`);
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const keys = keysOf(res.body);
      expect(keys).to.have.length(4);
      expect(keys.map((k) => k.kid)).to.not.include.members(before);
      expect(kidsWith(keys, 'previous')).to.deep.equal([]);
      expect((await jwks(app)).map((k) => k.kid)).to.have.members(keys.map((k) => k.kid));
      expect(await rejectsVerification(app, tokens.id_token!)).to.equal('ERR_JWKS_NO_MATCHING_KEY');
      const { tokens: fresh } = await h.signIn(app, 'compromised@example.com');
      expect(decodeProtectedHeader(fresh.id_token!).kid).to.equal(only(kidsWith(keys, 'current', 'ES512')));
      await verifyNow(app, fresh.id_token!);
      await h.server.audit.flushed();
      const events = await h.stores.audit.query(app.app_id, { type: 'admin.keys_rotated', limit: 10 });
      expect(events[0]).to.include({ reason: 'immediate' });
      for (const value of ['yes', 'TRUE', '1', '']) {
        const bad = await h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate?immediate=${value}`);
        expect(bad.status, value).to.equal(400);
      }
      const twice = await h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate?immediate=true&immediate=true`);
      expect(twice.status).to.equal(400);
    });

    it('refuses a misspelt flag or a body rather than read it as a normal rotation (which keeps the compromised key published)', async () => {
      const app = await h.createApp();
      propagate(); // a normal rotation would now be allowed
      const path = `/admin/apps/${app.app_id}/keys/rotate`;
      for (const query of ['Immediate=true', 'immediately=true', 'immediate%3D=true', 'immediate=true&force=1']) {
        const res = await h.admin('POST', `${path}?${query}`);
        expect(res.status, query).to.equal(400);
        expect(res.body.error_description, query).to.match(/Unknown parameter/);
      }
      const withBody = await h.admin('POST', path, { immediate: true });
      expect(withBody.status).to.equal(400);
      expect(withBody.body.error_description).to.include('?immediate=true');
      // Nothing was rotated by any of them.
      expect(keysOf((await h.admin('GET', `/admin/apps/${app.app_id}`)).body)).to.deep.equal(keysOf(app));
    });

    it('does not lose a PATCH that races a rotation, nor the rotation', async () => {
      const app = await h.createApp();
      const upcoming = only(kidsWith(keysOf(app), 'next', 'ES512'));
      propagate();
      const [patched, rotated] = await Promise.all([
        h.admin('PATCH', `/admin/apps/${app.app_id}`, { name: 'Renamed during rotation' }),
        h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate`),
      ]);
      expect(patched.status).to.equal(200);
      expect(rotated.status).to.equal(200);
      const res = await h.admin('GET', `/admin/apps/${app.app_id}`);
      expect(res.body.name).to.equal('Renamed during rotation');
      expect(only(kidsWith(keysOf(res.body), 'current', 'ES512'))).to.equal(upcoming);
    });

    it('keeps a previous key for the longest id_token_ttl it signed with, even after the TTL was lowered', async () => {
      const app = await h.createApp({ id_token_ttl: 3600 });
      expect((await h.admin('PATCH', `/admin/apps/${app.app_id}`, { id_token_ttl: 60 })).status).to.equal(200);
      const rotatedAt = h.clock.now() + KEY_PROPAGATION_MS;
      const keys = await rotate(app);
      for (const key of keys.filter((k) => k.status === 'previous')) {
        expect(Date.parse(key.retire_at!) - rotatedAt).to.be.at.least(3600_000 + RETIRE_GRACE_MS - 2000);
      }
    });

    it('upgrades a record stored before rotation existed (keys without status) without interrupting it', async () => {
      const app = await h.createApp(RS256_TOO);
      const stored = (await h.stores.apps.get(app.app_id))!;
      const legacyKeys: StoredKey[] = stored.keys
        .filter((k) => k.status === 'current')
        .map(({ status: _s, activatedAt: _a, maxTokenTtl: _m, ...rest }) => rest);
      expect(await h.stores.apps.replace({ ...stored, keys: legacyKeys, updatedAt: stored.updatedAt + 1 })).to.equal(true);
      h.server.registry.invalidate(app.app_id);
      const legacySigner = legacyKeys.find((k) => k.alg === 'ES512')!.kid;

      const viewed = await view(app);
      expect(viewed.map((k) => k.status)).to.deep.equal(['current', 'current']);
      const { tokens } = await h.signIn(app, 'legacy@example.com');
      expect(decodeProtectedHeader(tokens.id_token!).kid).to.equal(legacySigner);

      // The sweep publishes next keys for it...
      await h.server.keyRotation.runOnce();
      const swept = await view(app);
      expect(kidsWith(swept, 'next')).to.have.length(2);
      expect(kidsWith(swept, 'current', 'ES512')).to.deep.equal([legacySigner]);
      // ...which the rotation promotes; the legacy key is kept for the longest possible TTL.
      const rotatedAt = h.clock.now() + KEY_PROPAGATION_MS;
      const rotated = await rotate(app);
      expect(only(kidsWith(rotated, 'current', 'ES512'))).to.equal(only(kidsWith(swept, 'next', 'ES512')));
      const retired = rotated.find((k) => k.kid === legacySigner)!;
      expect(retired.status).to.equal('previous');
      expect(Date.parse(retired.retire_at!) - rotatedAt).to.be.at.least(MAX_ID_TOKEN_TTL * 1000);
      await verifyNow(app, tokens.id_token!);
    });
  });

  describe('sweep and scheduled rotation (KEY_ROTATION_DAYS)', () => {
    const s = new Harness();
    const DAYS = 30;

    before(async () => {
      await s.start({ KEY_ROTATION_DAYS: String(DAYS) });
    });
    after(() => s.stop());
    afterEach(() => s.clock.reset());

    const viewIn = async (app: AppJson) => keysOf((await s.admin('GET', `/admin/apps/${app.app_id}`)).body);
    /** A second process's scheduler on the same stores (what another instance runs). */
    const otherInstance = () => {
      const logger = createLogger('silent');
      return new KeyRotationScheduler({
        apps: s.server.apps,
        rotationDays: DAYS,
        logger,
        audit: createAuditLog(logger, s.stores.audit, 60, s.clock),
        clock: s.clock,
      });
    };

    it('rotates an app once its current key is KEY_ROTATION_DAYS old, not before, and only once', async () => {
      const app = await s.createApp();
      const { tokens } = await s.signIn(app, 'scheduled@example.com');
      const first = keysOf(app);

      expect((await s.server.keyRotation.runOnce()).rotated).not.to.include(app.app_id);
      s.clock.travel(DAYS * 86_400 - 60);
      expect((await s.server.keyRotation.runOnce()).rotated).not.to.include(app.app_id);
      expect(await viewIn(app)).to.deep.equal(first);

      s.clock.travel(120);
      const run = await s.server.keyRotation.runOnce();
      expect(run.rotated).to.include(app.app_id);
      const keys = await viewIn(app);
      expect(only(kidsWith(keys, 'current', 'ES512'))).to.equal(only(kidsWith(first, 'next', 'ES512')));
      expect(kidsWith(keys, 'previous', 'ES512')).to.deep.equal(kidsWith(first, 'current', 'ES512'));
      // The ID token from before is past its exp now, but its key is still published and
      // the signature still verifies (only the expiry check fails).
      expect(await rejectsVerification(app, tokens.id_token!, s.clock.now())).to.equal('ERR_JWT_EXPIRED');

      // Just rotated: the next pass leaves it alone.
      expect((await s.server.keyRotation.runOnce()).rotated).not.to.include(app.app_id);
      await s.server.audit.flushed();
      const events = await s.stores.audit.query(app.app_id, { type: 'keys.rotated', limit: 10 });
      expect(events).to.have.length(1);
      expect(events[0]).to.include({ reason: 'scheduled', outcome: 'success' });

      // A new sign-in is signed by the new key, and verifies.
      const { tokens: later } = await s.signIn(app, 'scheduled@example.com');
      expect(decodeProtectedHeader(later.id_token!).kid).to.equal(only(kidsWith(keys, 'current', 'ES512')));
      await verifyNow(app, later.id_token!);
    });

    it('rotates a due app exactly once when two instances run their schedulers at the same moment', async () => {
      const app = await s.createApp(RS256_TOO);
      const first = keysOf(app);
      s.clock.travel(DAYS * 86_400 + 60);
      const [a, b] = await Promise.all([s.server.keyRotation.runOnce(), otherInstance().runOnce()]);
      const rotations = [...a.rotated, ...b.rotated].filter((id) => id === app.app_id);
      expect(rotations).to.have.length(1);
      const keys = await viewIn(app);
      for (const alg of ['ES512', 'RS256']) {
        expect(only(kidsWith(keys, 'current', alg))).to.equal(only(kidsWith(first, 'next', alg)));
        expect(kidsWith(keys, 'previous', alg)).to.deep.equal(kidsWith(first, 'current', alg));
        only(kidsWith(keys, 'next', alg));
      }
    });

    it('drops a retired previous key on the sweep, and tells when the next retirement is due', async () => {
      const app = await s.createApp({ ...RS256_TOO, id_token_ttl: 120 });
      const { tokens } = await s.signIn(app, 'sweep@example.com');
      const oldSigner = decodeProtectedHeader(tokens.id_token!).kid!;
      s.clock.travel(KEY_PROPAGATION_MS / 1000);
      const rotated = keysOf((await s.admin('POST', `/admin/apps/${app.app_id}/keys/rotate`)).body);
      const retireAt = Date.parse(rotated.find((k) => k.kid === oldSigner)!.retire_at!);

      const early = await s.server.keyRotation.runOnce();
      expect(early.nextRetireAt).to.be.at.most(retireAt);
      expect((await viewIn(app)).map((k) => k.kid)).to.include(oldSigner);

      s.clock.travel((retireAt - s.clock.now()) / 1000 + 1);
      const run = await s.server.keyRotation.runOnce();
      expect(run.maintained).to.include(app.app_id);
      const keys = await viewIn(app);
      expect(keys.map((k) => k.kid)).not.to.include(oldSigner);
      expect(keys).to.have.length(4);
      expect((await jwks(app)).map((k) => k.kid)).to.have.members(keys.map((k) => k.kid));
    });

    it('goes through 1,200 apps a page at a time, giving the event loop turns, and maintains an app on the last page', async () => {
      // One app's record, copied under new ids (as many apps as the test can afford: each
      // created app costs an RSA key); the copies need nothing but reading.
      const template = await s.stores.apps.get((await s.createApp()).app_id);
      const copies = Array.from({ length: 1_200 }, (_, i) => ({ ...template!, id: randomUUID(), name: `Copy ${i}`, createdAt: template!.createdAt + i }));
      for (const copy of copies) await s.stores.apps.insert(copy);
      // The newest app has a previous key whose tokens have expired: it is on the last page.
      const rotatedApp = await s.createApp({ id_token_ttl: 60 });
      s.clock.travel(KEY_PROPAGATION_MS / 1000);
      expect((await s.admin('POST', `/admin/apps/${rotatedApp.app_id}/keys/rotate`)).status).to.equal(200);
      s.clock.travel(3_600);

      let turns = 0;
      let passing = true;
      const turn = () => {
        if (!passing) return;
        turns++;
        setImmediate(turn);
      };
      setImmediate(turn);
      const run = await s.server.keyRotation.runOnce();
      passing = false;
      expect(run.failed).to.deep.equal([]);
      expect(run.maintained).to.include(rotatedApp.app_id);
      expect(run.rotated).to.deep.equal([]);
      // Six pages at least: the loop got a turn between each (a store in memory answers at once).
      expect(turns).to.be.at.least(5);
    });

    it('decides on the record a page read, and on the stored one when it changed since: nothing written over', async () => {
      const app = await s.createApp();
      const stale = (await s.stores.apps.get(app.app_id))!;
      expect((await s.admin('PATCH', `/admin/apps/${app.app_id}`, { name: 'Renamed meanwhile' })).status).to.equal(200);
      s.clock.travel(DAYS * 86_400 + 60);
      expect(await s.server.apps.maintainKeys(app.app_id, DAYS * DAY_MS, stale)).to.equal('rotated');
      const stored = (await s.stores.apps.get(app.app_id))!;
      expect(stored.name).to.equal('Renamed meanwhile');
      expect(stored.keys.filter((k) => k.status === 'previous').map((k) => k.kid)).to.have.members(
        stale.keys.filter((k) => k.status === 'current').map((k) => k.kid),
      );
      // Deleted after the page was read: gone, nothing written back.
      const doomed = await s.createApp();
      const seen = (await s.stores.apps.get(doomed.app_id))!;
      await s.server.apps.markDeleted(doomed.app_id);
      s.clock.travel(DAYS * 86_400 + 60);
      expect(await s.server.apps.maintainKeys(doomed.app_id, DAYS * DAY_MS, seen)).to.equal('gone');
      expect(await s.stores.apps.get(doomed.app_id)).to.equal(undefined);
    });

    it('runs a pass at start, and stop() waits for the app in progress and skips the rest', async () => {
      const maintained: string[] = [];
      let lists = 0;
      let release!: () => void;
      const blocked = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const inFirst = new Promise<void>((r) => (entered = r));
      const records = ['a', 'b'].map((id) => ({ id, keys: [] }) as unknown as AppRecord);
      const logger = createLogger('silent');
      const scheduler = new KeyRotationScheduler({
        apps: {
          page: async () => {
            lists++;
            return { apps: records, next: undefined };
          },
          get: async (id) => records.find((r) => r.id === id)!,
          maintainKeys: async (id) => {
            if (id === 'a') {
              entered();
              await blocked;
            }
            maintained.push(id);
            return 'unchanged';
          },
        },
        rotationDays: DAYS,
        logger,
        audit: createAuditLog(logger, s.stores.audit, 60, s.clock),
        clock: s.clock,
      });
      scheduler.start();
      await inFirst; // the first pass started without waiting an interval
      const stopped = scheduler.stop();
      release();
      await stopped;
      expect(maintained).to.deep.equal(['a']);
      const listsAfterStop = lists;
      await new Promise((r) => setTimeout(r, 50));
      expect(lists).to.equal(listsAfterStop);
      expect(maintained).to.deep.equal(['a']);
    });
  });
});

/**
 * Resolves when instance `h` hears of a change of `appId` over its change bus (Redis
 * pub/sub). Its server subscribed first, so by then it has dropped the app's cached
 * Provider; without the bus it would keep serving it until revalidation (30 s).
 */
function changeHeard(h: Harness, appId: string): Promise<void> {
  return new Promise((resolve) => h.stores.changes.subscribe({ changed: (id) => id === appId && resolve(), missed: () => {} }));
}

describe('signing-key rotation across two instances on one Redis', function () {
  this.timeout(60_000);
  const redis = new RedisServer();
  const one = new Harness();
  const two = new Harness();

  before(async () => {
    await redis.start();
    await one.start({ REDIS_URL: redis.url, KEY_ROTATION_DAYS: '30' });
    await two.start({ REDIS_URL: redis.url, KEY_ROTATION_DAYS: '30' });
  });
  after(async () => {
    await one.stop();
    await two.stop();
    await redis.destroy();
  });
  afterEach(() => [one, two].forEach((x) => x.clock.reset()));

  const onTwo = (app: AppJson): AppJson => ({ ...app, issuer: app.issuer.replace(one.url, two.url) });

  it('serves the rotated JWKS on the other instance at once, and it signs with the new key', async () => {
    const app = await one.createApp();
    const { tokens } = await one.signIn(app, 'fleet@example.com');
    expect((await jwks(onTwo(app))).map((k) => k.kid)).to.have.members(keysOf(app).map((k) => k.kid)); // cached on two now
    const heard = changeHeard(two, app.app_id);
    for (const x of [one, two]) x.clock.travel(KEY_PROPAGATION_MS / 1000);
    const rotated = await one.admin('POST', `/admin/apps/${app.app_id}/keys/rotate`);
    expect(rotated.status).to.equal(200);
    const keys = keysOf(rotated.body);
    await heard;
    expect((await jwks(onTwo(app))).map((k) => k.kid)).to.have.members(keys.map((k) => k.kid));
    // (Each test instance has its own PUBLIC_URL, so the issuer is instance one's.)
    await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${onTwo(app).issuer}/jwks`)), { issuer: app.issuer, audience: app.client_id });
  });

  it('rotates once when both instances rotate concurrently through the admin API and their schedulers', async () => {
    const app = await one.createApp(RS256_TOO);
    const first = keysOf(app);
    for (const x of [one, two]) x.clock.travel(KEY_PROPAGATION_MS / 1000);
    const [a, b] = await Promise.all([
      one.admin('POST', `/admin/apps/${app.app_id}/keys/rotate`),
      two.admin('POST', `/admin/apps/${app.app_id}/keys/rotate`),
    ]);
    // One applies; the other, computed again on the record that won, finds a next key
    // published moments ago and refuses to promote it.
    expect([a.status, b.status].sort()).to.deep.equal([200, 409]);
    const applied = a.status === 200 ? a : b;
    expect(only(kidsWith(keysOf(applied.body), 'current', 'ES512'))).to.equal(only(kidsWith(first, 'next', 'ES512')));
    let keys = keysOf((await two.admin('GET', `/admin/apps/${app.app_id}`)).body);
    expect(kidsWith(keys, 'previous', 'ES512')).to.deep.equal(kidsWith(first, 'current', 'ES512'));

    for (const x of [one, two]) x.clock.travel(31 * 86_400);
    const before = keys;
    const runs = await Promise.all([one.server.keyRotation.runOnce(), two.server.keyRotation.runOnce()]);
    expect(runs.flatMap((r) => r.rotated).filter((id) => id === app.app_id)).to.have.length(1);
    keys = keysOf((await one.admin('GET', `/admin/apps/${app.app_id}`)).body);
    expect(only(kidsWith(keys, 'current', 'ES512'))).to.equal(only(kidsWith(before, 'next', 'ES512')));
    for (const alg of ['ES512', 'RS256']) {
      only(kidsWith(keys, 'current', alg));
      only(kidsWith(keys, 'next', alg));
    }
  });
});

describe('key ring invariants (random histories)', () => {
  const TTL_MAX = MAX_ID_TOKEN_TTL;
  let serial = 0;
  const make = async (alg: KeyAlg): Promise<StoredKey> => {
    serial += 1;
    return { kid: `k${serial}`, alg, createdAt: serial, publicJwk: { alg }, encryptedPrivateJwk: `sealed-${serial}` };
  };

  type Op = { kind: 'rotate' | 'sweep' | 'ttl'; advance: number; ttl: number };
  const op: fc.Arbitrary<Op> = fc.record({
    kind: fc.constantFrom('rotate', 'sweep', 'ttl'),
    advance: fc.integer({ min: 0, max: 2 * TTL_MAX * 1000 }),
    ttl: fc.integer({ min: 60, max: TTL_MAX }),
  });

  it('never drops a key that signed a token which has not expired, and signs with exactly one current key per algorithm', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 60, max: TTL_MAX }), fc.subarray(['ES256', 'EdDSA'] as KeyAlg[]), fc.array(op, { maxLength: 25 }), async (ttl0, extra, ops) => {
        let now = 1_700_000_000_000;
        // An app that also signs with ES256 and/or EdDSA keeps keys of those too.
        const signing = { idTokenSignedResponseAlg: extra[0], userinfoSignedResponseAlg: extra[1] };
        const algs = [...LEGACY_ALGS, ...extra];
        const keys = [] as StoredKey[];
        for (const alg of algs) keys.push({ ...(await make(alg)), status: 'current', activatedAt: now, maxTokenTtl: ttl0 });
        let app: AppRecord = {
          id: 'app',
          name: 'x',
          redirectUris: [],
          postLogoutRedirectUris: [],
          tokenEndpointAuthMethod: 'none',
          encryptedClientSecret: undefined,
          settings: { id_token_ttl: ttl0, magic_link_ttl: 900, refresh_token_idle_ttl: 60, refresh_token_max_ttl: 60 },
          ...signing,
          keys: await maintainKeys({ keys, ...signing } as unknown as AppRecord, now, make).then((k) => k ?? keys),
          createdAt: now,
          updatedAt: now,
        };
        expect(keyAlgsOf(app)).to.have.members(algs);
        // Latest expiry of a token each key may have signed (signing happens at any moment).
        const lastExpiry = new Map<string, number>();
        const signNow = () => {
          const signers = publishedKeys(app.keys, now).filter((k) => statusOf(k) === 'current');
          for (const alg of algs) {
            const first = publishedKeys(app.keys, now).find((k) => k.alg === alg)!;
            expect(statusOf(first), 'the engine signs with the first key of the algorithm').to.equal('current');
            expect(signers.filter((k) => k.alg === alg)).to.have.length(1);
            lastExpiry.set(first.kid, Math.max(lastExpiry.get(first.kid) ?? 0, now + app.settings.id_token_ttl * 1000));
          }
        };
        signNow();
        for (const o of ops) {
          now += o.advance;
          signNow(); // a token signed just before the operation
          if (o.kind === 'rotate') app = { ...app, keys: await rotateKeys(app, now, make) };
          else if (o.kind === 'sweep') app = { ...app, keys: (await maintainKeys(app, now, make)) ?? app.keys };
          else app = { ...app, settings: { ...app.settings, id_token_ttl: o.ttl }, keys: noteTokenTtl(app.keys, o.ttl) };
          signNow();
          const published = new Set(publishedKeys(app.keys, now).map((k) => k.kid));
          for (const [kid, expiry] of lastExpiry) {
            if (expiry > now) expect(published.has(kid), `key ${kid} signed a token valid until ${expiry}, now ${now}`).to.equal(true);
          }
          for (const alg of algs) {
            expect(app.keys.filter((k) => k.alg === alg && statusOf(k) === 'next').length).to.be.at.most(1);
          }
          // Retired keys do not pile up: a previous key goes at most a grace after its last token.
          for (const key of app.keys.filter((k) => statusOf(k) === 'previous')) {
            expect(key.retireAt!).to.be.at.most(now + TTL_MAX * 1000 + RETIRE_GRACE_MS);
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('rotates when the current keys are KEY_ROTATION_DAYS old (by activation, not creation)', async () => {
    const created = 1_700_000_000_000;
    const keys: StoredKey[] = [];
    for (const alg of LEGACY_ALGS) {
      // Created (as next) long ago, current only since `created + 10 days`.
      keys.push({ ...(await make(alg)), createdAt: created, status: 'current', activatedAt: created + 10 * DAY_MS, maxTokenTtl: 60 });
      keys.push({ ...(await make(alg)), createdAt: created + 10 * DAY_MS, status: 'next' });
    }
    const app = { keys } as unknown as AppRecord;
    expect(rotationDue(app, created + 39 * DAY_MS, 30 * DAY_MS)).to.equal(false);
    expect(rotationDue(app, created + 40 * DAY_MS, 30 * DAY_MS)).to.equal(true);
  });

  it('does not promote a next key on schedule before it has been published for a day (records from before rotation)', async () => {
    const created = 1_700_000_000_000;
    const legacy: StoredKey[] = [];
    for (const alg of LEGACY_ALGS) legacy.push({ ...(await make(alg)), createdAt: created });
    const now = created + 400 * DAY_MS;
    const app = { keys: legacy, settings: { id_token_ttl: 60 } } as unknown as AppRecord;
    expect(rotationDue(app, now, 30 * DAY_MS), 'no next key published yet').to.equal(false);
    const makeNow = async (alg: KeyAlg) => ({ ...(await make(alg)), createdAt: now });
    const withNext = { ...app, keys: (await maintainKeys(app, now, makeNow))! };
    expect(withNext.keys.filter((k) => statusOf(k) === 'next')).to.have.length(2);
    expect(rotationDue(withNext, now + NEXT_KEY_MIN_PUBLISHED_MS - 1, 30 * DAY_MS)).to.equal(false);
    expect(rotationDue(withNext, now + NEXT_KEY_MIN_PUBLISHED_MS, 30 * DAY_MS)).to.equal(true);
  });
});
