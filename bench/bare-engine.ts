// The baseline of the comparison benchmark: a bare oidc-provider 9.13 configured for the
// same work as a Postern app (one public client, code flow with PKCE, ES512 ID tokens,
// rotating refresh tokens, the same token lifetimes), with no Postern code in front of it.
// Its sign-in is the engine's own interaction finished at once (no page, no mail), so a
// sign-in here costs the engine's part only. Storage is the engine's built-in memory
// adapter, or with BARE_REDIS_URL a minimal Redis adapter after the engine's example one.
//
// Started by bench/engine-comparison.ts as a child process:
//   BARE_PORT=… [BARE_REDIS_URL=redis://…] node --import ./bench/measure-child.ts bench/bare-engine.ts
import { createServer } from 'node:http';
import Koa from 'koa';
import mount from 'koa-mount';
import { Redis } from 'ioredis';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { errors, type Adapter, type AdapterPayload, type Configuration } from 'oidc-provider';

import { BARE_ACCOUNT, BARE_CLIENT_ID } from './bare-client.ts';

const port = Number(process.env.BARE_PORT);
const redirectUri = process.env.BARE_REDIRECT_URI ?? 'http://localhost:8080/callback';
/**
 * BARE_MOUNT=/prefix: the engine's middleware runs as Postern runs it, on the context of a
 * root Koa app, mounted (koa-mount) under a path prefix that is part of its issuer: what the
 * root context and the mount alone cost, measured apart from Postern's own middleware.
 */
const mountPath = process.env.BARE_MOUNT;
const issuer = `http://localhost:${port}${mountPath ?? ''}`;

/** The engine's example Redis adapter, reduced to what this benchmark exercises. */
function redisAdapter(client: Redis) {
  const grantable = new Set(['AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
  const consumable = new Set(['AuthorizationCode', 'RefreshToken', 'DeviceCode', 'BackchannelAuthenticationRequest']);
  return class RedisAdapter implements Adapter {
    readonly name: string;
    constructor(name: string) {
      this.name = name;
    }
    key(id: string) {
      return `bare:${this.name}:${id}`;
    }
    async upsert(id: string, payload: AdapterPayload, expiresIn: number) {
      const key = this.key(id);
      const multi = client.multi();
      if (consumable.has(this.name)) multi.hset(key, { payload: JSON.stringify(payload) });
      else multi.set(key, JSON.stringify(payload));
      if (expiresIn) multi.expire(key, expiresIn);
      if (grantable.has(this.name) && payload.grantId) {
        const grantKey = `bare:grant:${payload.grantId}`;
        multi.rpush(grantKey, key);
        const ttl = await client.ttl(grantKey);
        if (expiresIn > ttl) multi.expire(grantKey, expiresIn);
      }
      if (payload.uid) {
        multi.set(`bare:uid:${payload.uid}`, id);
        if (expiresIn) multi.expire(`bare:uid:${payload.uid}`, expiresIn);
      }
      await multi.exec();
    }
    async find(id: string) {
      const data = consumable.has(this.name) ? await client.hgetall(this.key(id)) : await client.get(this.key(id));
      if (!data || (typeof data === 'object' && !data.payload)) return undefined;
      if (typeof data === 'string') return JSON.parse(data) as AdapterPayload;
      const { payload, ...rest } = data;
      return { ...rest, ...(JSON.parse(payload!) as AdapterPayload), ...(rest.consumed && { consumed: Number(rest.consumed) }) };
    }
    async findByUid(uid: string) {
      const id = await client.get(`bare:uid:${uid}`);
      return id ? this.find(id) : undefined;
    }
    async findByUserCode() {
      return undefined;
    }
    async destroy(id: string) {
      await client.del(this.key(id));
    }
    async revokeByGrantId(grantId: string) {
      const grantKey = `bare:grant:${grantId}`;
      const tokens = await client.lrange(grantKey, 0, -1);
      const multi = client.multi();
      for (const token of tokens) multi.del(token);
      await multi.del(grantKey).exec();
    }
    async consume(id: string) {
      await client.hset(this.key(id), 'consumed', Math.floor(Date.now() / 1000));
    }
  };
}

const signing = await generateKeyPair('ES512', { extractable: true });
const jwk = { ...(await exportJWK(signing.privateKey)), alg: 'ES512', use: 'sig', kid: 'bare-es512' };
const redis = process.env.BARE_REDIS_URL ? new Redis(process.env.BARE_REDIS_URL) : undefined;
const accounts = new Map([[BARE_ACCOUNT, BARE_ACCOUNT]]);
await redis?.set(`bare:account:${BARE_ACCOUNT}`, BARE_ACCOUNT);

const configuration: Configuration = {
  ...(redis && { adapter: redisAdapter(redis) }),
  clients: [
    {
      client_id: BARE_CLIENT_ID,
      token_endpoint_auth_method: 'none',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      id_token_signed_response_alg: 'ES512',
      // As Postern's clients: a signed response with no alg named signs as ID tokens do (the
      // engine's RS256 default would need an RSA key, and the client would be refused).
      introspection_signed_response_alg: 'ES512',
    },
  ],
  jwks: { keys: [jwk as never] },
  enabledJWA: { idTokenSigningAlgValues: ['ES512'], userinfoSigningAlgValues: ['ES512'], introspectionSigningAlgValues: ['ES512'] },
  cookies: { keys: ['bare-engine-benchmark-cookie-key-0123456789'] },
  claims: { openid: ['sub', 'email', 'email_verified'], email: ['email', 'email_verified'] },
  scopes: ['openid', 'email', 'offline_access'],
  responseTypes: ['code'],
  pkce: { required: () => true },
  rotateRefreshToken: true,
  // The engine features every Postern app has on, so the engine's own work per request is
  // the same on both sides (resource indicators, for one, add checks to userinfo and the
  // token endpoint); no API is registered, as for the benchmark's Postern app.
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    introspection: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    jwtIntrospection: { enabled: true },
    jwtUserinfo: { enabled: true },
    resourceIndicators: {
      enabled: true,
      async getResourceServerInfo() {
        throw new errors.InvalidTarget('no API is registered');
      },
    },
  },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 1800, RefreshToken: 604800, Interaction: 3600, Session: 1209600, Grant: 7776000 },
  interactions: { url: (_ctx, interaction) => `${mountPath ?? ''}/interaction/${interaction.uid}` },
  // An account is looked up in the store, as any provider with real accounts must (Postern
  // reads its account record on every userinfo and token request).
  async findAccount(_ctx, sub) {
    const email = redis ? await redis.get(`bare:account:${sub}`) : accounts.get(sub);
    return email ? { accountId: sub, claims: () => ({ sub, email, email_verified: true }) } : undefined;
  },
};

const provider = new Provider(issuer, configuration);
// The interaction: signed in as the benchmark account and consent given, at once.
provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith('/interaction/')) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const grant = new provider.Grant({ accountId: BARE_ACCOUNT, clientId: String(details.params.client_id) });
  grant.addOIDCScope(String(details.params.scope));
  const grantId = await grant.save();
  await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: BARE_ACCOUNT }, consent: { grantId } }, { mergeWithLastSubmission: false });
});

function mounted(prefix: string) {
  const root = new Koa({ proxy: true });
  root.keys = provider.app.keys;
  root.use(mount(prefix, provider.app));
  return root.callback();
}

const server = createServer(mountPath ? mounted(mountPath) : provider.callback());
server.keepAliveTimeout = 65_000;
server.listen(port, () => process.send?.({ listening: port }));
// Exits (rather than dies) on the benchmark's SIGTERM, so a --cpu-prof profile is written.
process.on('SIGTERM', () => process.exit(0));
