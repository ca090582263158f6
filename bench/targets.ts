// The comparison benchmarks' targets and scenarios: Postern (src/main.ts, from this tree or
// another one, for a paired A/B of two versions) and the bare engine (bench/bare-engine.ts),
// each a child process measured by bench/measure-child.ts; a scenario prepares one target and
// returns one operation of its closed loop.
import { Agent } from 'node:http';
import * as oidc from 'openid-client';
import { Browser } from '../test/helpers/browser.ts';
import { REDIRECT_URI } from '../test/helpers/harness.ts';
import { freePort, type RedisServer } from '../test/helpers/redis-server.ts';
import { send, ServerProcess } from './load.ts';
import { BARE_CLIENT_ID } from './bare-client.ts';
import { startPostern } from './postern-server.ts';

/** Refresh chains (one per loop), and the other paths' load: requests in flight. */
export const REFRESH_CONCURRENCY = 8;
export const CONCURRENCY = 16;
export const SIGN_IN_CONCURRENCY = 8;
const FORM = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };

export interface Target {
  readonly name: string;
  readonly store: 'memory' | 'redis';
  readonly server: ServerProcess;
  readonly agent: Agent;
  readonly config: oidc.Configuration;
  readonly clientId: string;
  /** A complete sign-in; the tokens the app gets. */
  signIn(email: string, scope: string): Promise<oidc.TokenEndpointResponse>;
  stop(): Promise<void>;
}

export const GENEROUS_LIMITS = { max_links_per_address: 1000, max_links_per_ip: 100_000, max_links_per_network: 10_000_000, max_links_per_app: 10_000_000 };

async function authorizationUrl(config: oidc.Configuration, scope: string, extra: Record<string, string> = {}) {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...extra,
  });
  return { url, verifier, state, nonce };
}

async function redeem(config: oidc.Configuration, callbackUrl: string, request: { verifier: string; state: string; nonce: string }) {
  return oidc.authorizationCodeGrant(config, new URL(callbackUrl), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
}

/** `root`: run Postern from that tree instead of this one (a checkout of another version). */
export async function posternTarget(store: 'memory' | 'redis', redis: RedisServer, root?: string): Promise<Target> {
  const { server, h } = await startPostern(store, redis, {}, root);
  const app = await h.createApp(GENEROUS_LIMITS);
  const config = await h.client(app);
  const agent = new Agent({ keepAlive: true });
  return {
    name: `postern-${store}`,
    store,
    server,
    agent,
    config,
    clientId: app.client_id,
    async signIn(email, scope) {
      const browser = new Browser();
      const request = await authorizationUrl(config, scope);
      const page = await browser.navigate(request.url.href, {}, REDIRECT_URI);
      const { callbackUrl } = await h.confirmSignIn(browser, page, email, REDIRECT_URI);
      return redeem(config, callbackUrl, request);
    },
    async stop() {
      agent.destroy();
      await server.stop();
      await h.stop();
    },
  };
}

/** `mountPath`: the engine mounted under that path in a root Koa app, as Postern runs it (bench/bare-engine.ts, BARE_MOUNT). */
export async function bareTarget(store: 'memory' | 'redis', redis: RedisServer, mountPath?: string): Promise<Target> {
  const port = await freePort();
  const issuer = `http://localhost:${port}${mountPath ?? ''}`;
  const server = new ServerProcess('bench/bare-engine.ts', {
    BARE_PORT: String(port),
    BARE_REDIRECT_URI: REDIRECT_URI,
    ...(store === 'redis' && { BARE_REDIS_URL: redis.url }),
    ...(mountPath && { BARE_MOUNT: mountPath }),
  });
  await server.ready(`${issuer}/.well-known/openid-configuration`);
  const config = await oidc.discovery(new URL(issuer), BARE_CLIENT_ID, undefined, oidc.None(), { execute: [oidc.allowInsecureRequests] });
  const agent = new Agent({ keepAlive: true });
  return {
    name: `bare-${store}${mountPath ? '+mount' : ''}`,
    store,
    server,
    agent,
    config,
    clientId: BARE_CLIENT_ID,
    async signIn(_email, scope) {
      // The engine asks for consent before it issues a refresh token; Postern adds this itself.
      const request = await authorizationUrl(config, scope, scope.includes('offline_access') ? { prompt: 'consent' } : {});
      const callback = await new Browser().navigate(request.url.href, {}, REDIRECT_URI);
      return redeem(config, callback.url, request);
    },
    async stop() {
      agent.destroy();
      await server.stop();
    },
  };
}

export type Scenario = (t: Target) => Promise<(worker: number, i: number) => Promise<boolean | number>>;

const OFFLINE = 'openid email offline_access';

export const SCENARIOS: Record<string, { concurrency: number; prepare: Scenario }> = {
  refresh: {
    concurrency: REFRESH_CONCURRENCY,
    async prepare(t) {
      const chains = await Promise.all(Array.from({ length: REFRESH_CONCURRENCY }, async (_, i) => (await t.signIn(`refresh-${i}-${Date.now()}@example.com`, OFFLINE)).refresh_token!));
      const url = t.config.serverMetadata().token_endpoint!;
      return async (worker) => {
        const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: chains[worker]!, client_id: t.clientId }).toString();
        const res = await send(t.agent, url, { method: 'POST', headers: FORM, body });
        if (res.status !== 200) return res.status;
        chains[worker] = (JSON.parse(res.body) as { refresh_token: string }).refresh_token;
        return true;
      };
    },
  },
  discovery: {
    concurrency: CONCURRENCY,
    async prepare(t) {
      const url = `${t.config.serverMetadata().issuer}/.well-known/openid-configuration`;
      return async () => (await send(t.agent, url)).status === 200 || 0;
    },
  },
  jwks: {
    concurrency: CONCURRENCY,
    async prepare(t) {
      const url = t.config.serverMetadata().jwks_uri!;
      return async () => (await send(t.agent, url)).status === 200 || 0;
    },
  },
  userinfo: {
    concurrency: CONCURRENCY,
    async prepare(t) {
      const token = (await t.signIn(`userinfo-${Date.now()}@example.com`, 'openid email')).access_token;
      const url = t.config.serverMetadata().userinfo_endpoint!;
      return async () => {
        const res = await send(t.agent, url, { headers: { authorization: `Bearer ${token}` } });
        return res.status === 200 || res.status;
      };
    },
  },
  authorize: {
    concurrency: CONCURRENCY,
    async prepare(t) {
      const base = (await authorizationUrl(t.config, 'openid email')).url;
      return async (_worker, i) => {
        base.searchParams.set('state', `bench-state-${i}`);
        const res = await send(t.agent, base.href);
        return (res.status === 303 || res.status === 302) || res.status;
      };
    },
  },
  'sign-in': {
    concurrency: SIGN_IN_CONCURRENCY,
    async prepare(t) {
      const run = Date.now();
      return async (_worker, i) => Boolean((await t.signIn(`signin-${run}-${i}@example.com`, 'openid email')).id_token);
    },
  },
};
