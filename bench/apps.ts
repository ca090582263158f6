// Benchmark: one Postern process holding many apps (src/main.ts as a child process,
// measured by bench/measure-child.ts). For each store and app count it reports:
//
//   - app creation through the admin API (the first BENCH_API_APPS apps), apps/s and
//     server CPU-ms per app;
//   - how the rest were made: through the admin API too (memory: the only way into that
//     process), or, on Redis, written straight to the store by this process: copies of
//     the apps the API made, each with its own id and its private keys re-sealed to it
//     (the same record shape and sizes; the key material is shared between copies, which
//     no measured path can tell);
//   - the server's RSS after a GC, idle with every app stored and after the traffic;
//   - discovery at one app, then spread at random over every app (req/s, % of one app,
//     CPU-ms per request);
//   - a request only a Provider answers (an authorization request the engine refuses:
//     no redirect_uri), spread at random over every app for BENCH_CHURN_SECONDS: the
//     Provider cache replaced continuously, and the RSS that leaves after a GC;
//   - a cold app's first request (its Provider built from the stored record): a sample
//     one at a time (its latency alone), then every other app 16 at a time (CPU-ms per
//     build under load), so every app has been asked for once before the spread;
//   - on Redis, an instance restarted on the stored apps: its first BENCH_UPKEEP_SECONDS
//     (the key upkeep pass over every app), CPU, event-loop delay, /healthz, RSS;
//   - the split of building a Provider, measured in this process on the same store with
//     the same registry code: the record read, opening the private keys, the rest of
//     building the Provider, and a first discovery request end to end.
//
//   npm run bench:apps
//   BENCH_APPS_COUNTS=10000,100000 BENCH_APPS_STORES=redis npm run bench:apps
//   BENCH_PROVIDER_CACHE_MB=128,256,512 BENCH_CHURN_SECONDS=30 npm run bench:apps
//   BENCH_SERVER_NODE_OPTIONS='--max-old-space-size=1024' npm run bench:apps
import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import { decryptSecret, encryptSecret } from '../src/keys/encryption.ts';
import { keyContext } from '../src/keys/generate-keys.ts';
import { openSigningKeys } from '../src/keys/open-keys.ts';
import { createLogger } from '../src/log.ts';
import { openStores } from '../src/storage/open-stores.ts';
import type { AppRecord, AppStore } from '../src/storage/ports.ts';
import { Harness, type AppJson } from '../test/helpers/harness.ts';
import { RedisServer } from '../test/helpers/redis-server.ts';
import { closedLoop, inBatches, percentile, send, type ServerProcess } from './load.ts';
import type { Measure } from './measure-child.ts';
import { POSTERN_ENV, startPostern } from './postern-server.ts';

const COUNTS = (process.env.BENCH_APPS_COUNTS ?? '10000').split(',').map(Number);
const STORES = (process.env.BENCH_APPS_STORES ?? 'memory,redis').split(',') as ('memory' | 'redis')[];
const API_APPS = Number(process.env.BENCH_API_APPS ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const COLD_APPS = Number(process.env.BENCH_COLD_APPS ?? 1000);
const SPLIT_APPS = 300;
const UPKEEP_SECONDS = Number(process.env.BENCH_UPKEEP_SECONDS ?? 10);
const CONCURRENCY = 16;
const KEK = Buffer.from(POSTERN_ENV.KEY_ENCRYPTION_KEY, 'hex');
/** The server's PROVIDER_CACHE_MB, one run each (BENCH_PROVIDER_CACHE_MB=128,512); unset: its default. */
const CACHE_MBS = (process.env.BENCH_PROVIDER_CACHE_MB ?? '').split(',').filter(Boolean);
/** Node options of the server (BENCH_SERVER_NODE_OPTIONS='--max-old-space-size=1024'): V8 flags measured against RSS. */
const SERVER_NODE_OPTIONS = process.env.BENCH_SERVER_NODE_OPTIONS;
/** Long enough for the Provider cache to be replaced a few times over (about 800 builds/s on a shared 2-core machine). */
const CHURN_SECONDS = Number(process.env.BENCH_CHURN_SECONDS ?? 20);

/** A copy of `template` under a new id: its private keys re-sealed to the new id, new kids. */
function copyOf(template: AppRecord, at: number): AppRecord {
  if (template.encryptedClientSecret) throw new Error('templates are public clients');
  const id = randomUUID();
  const keys = template.keys.map((key) => {
    const jwk = JSON.parse(decryptSecret(KEK, key.encryptedPrivateJwk, keyContext(template.id, key.kid))) as Record<string, unknown>;
    const kid = randomUUID();
    return { ...key, kid, publicJwk: { ...key.publicJwk, kid }, encryptedPrivateJwk: encryptSecret(KEK, JSON.stringify({ ...jwk, kid }), keyContext(id, kid)) };
  });
  return { ...template, id, name: `Copy of ${template.name}`, keys, createdAt: at, updatedAt: at };
}

async function seed(apps: AppStore, count: number): Promise<string[]> {
  const ids: string[] = [];
  await inBatches(Array.from({ length: count }), 64, async (_, i) => {
    const copy = copyOf(templates[i % templates.length]!, Date.now());
    await apps.insert(copy);
    ids.push(copy.id);
  });
  return ids;
}

interface Figures {
  store: string;
  cacheMb: string;
  apps: number;
  creation: { perSecond: number; cpuMs: number; made: number };
  seeded: string;
  rssIdleMb: number;
  one: { perSecond: number; cpuMs: number };
  spread: { perSecond: number; cpuMs: number; rssMb: number; heapMb: number };
  engineSpread: { perSecond: number; cpuMs: number; rssMb: number; heapMb: number };
  coldAlone: { p50: number; p99: number; cpuMs: number };
  coldLoaded: { p50: number; p99: number; cpuMs: number };
  split: { readMs: number; openKeysMs: number; providerMs: number; firstRequestMs: number };
  /** The first UPKEEP_SECONDS of an instance started on the stored apps (Redis). */
  restart: { cpuMs: number; loopP99Ms: number; healthzP99Ms: number; rssMb: number } | undefined;
}

const perOp = (m: Measure, ops: number) => m.cpuMs / Math.max(1, ops);
const mean = (values: readonly number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);

async function timeEach<T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (const item of items) {
    const t0 = performance.now();
    await work(item);
    times.push(performance.now() - t0);
  }
  return times;
}

/** The split of a cold build, in this process: a Harness on the same store (or, for memory, on copies put in its own). */
async function buildSplit(store: 'memory' | 'redis', redis: RedisServer, ids: readonly string[]) {
  const h = new Harness();
  await h.start({ KEY_ENCRYPTION_KEY: POSTERN_ENV.KEY_ENCRYPTION_KEY, LOG_LEVEL: 'warn', ...(store === 'redis' && { REDIS_URL: redis.url }) });
  try {
    const sample = store === 'redis' ? ids.slice(-2 * SPLIT_APPS) : await seed(h.stores.apps, 2 * SPLIT_APPS);
    const [built, requested] = [sample.slice(0, SPLIT_APPS), sample.slice(SPLIT_APPS)];
    const records = new Map<string, AppRecord>();
    const read = await timeEach(built, async (id) => records.set(id, (await h.stores.apps.get(id))!));
    const openKeys = await timeEach(built, async (id) => openSigningKeys(records.get(id)!, KEK, Date.now()));
    // registry.get of an app not cached: the record read and the whole build.
    const get = await timeEach(built, (id) => h.server.registry.get(id));
    const first = await timeEach(requested, async (id) => {
      const res = await fetch(`${h.url}/apps/${id}/.well-known/openid-configuration`);
      if (res.status !== 200) throw new Error(`discovery ${res.status}`);
      await res.arrayBuffer();
    });
    const readMs = mean(read);
    const openKeysMs = mean(openKeys);
    return { readMs, openKeysMs, providerMs: mean(get) - readMs - openKeysMs, firstRequestMs: mean(first) };
  } finally {
    await h.stop();
  }
}

async function run(store: 'memory' | 'redis', count: number, cacheMb: string | undefined): Promise<Figures> {
  const serverEnv: Record<string, string> = { ...(cacheMb && { PROVIDER_CACHE_MB: cacheMb }), ...(SERVER_NODE_OPTIONS && { NODE_OPTIONS: SERVER_NODE_OPTIONS }) };
  const redis = await new RedisServer().start();
  let { server, h } = await startPostern(store, redis, serverEnv);
  const agent = new Agent({ keepAlive: true });
  try {
    // Through the admin API: the creation figure, and the templates of the copies.
    const viaApi = store === 'memory' ? count : Math.min(API_APPS, count);
    const created: AppJson[] = [];
    const started = performance.now();
    const { measure: creation } = await server.measure(() =>
      inBatches(Array.from({ length: viaApi }), CONCURRENCY, async () => {
        created.push(await h.createApp({ name: 'Bench App' }));
        if (created.length % 1000 === 0) process.stderr.write(`  ${store}: ${created.length} apps created\n`);
      }),
    );
    const creationSeconds = (performance.now() - started) / 1000;
    let ids = created.map((a) => a.app_id);
    let seeded = 'all through the admin API';
    if (count > viaApi) {
      const stores = await openStores({ redisUrl: redis.url, mongodbUri: undefined, storeTimeoutMs: 10_000 }, createLogger('silent'));
      const t0 = performance.now();
      ids = ids.concat(await seed(stores.apps, count - viaApi));
      seeded = `${count - viaApi} copies written to Redis by the benchmark, ${((count - viaApi) / ((performance.now() - t0) / 1000)).toFixed(0)}/s`;
      await stores.close();
    }
    process.stderr.write(`  ${store}: ${ids.length} apps stored (${seeded})\n`);
    let restart: Figures['restart'];
    if (store === 'redis') {
      // An instance started on a store that holds every app: its first key upkeep pass
      // goes through all of them while it serves.
      await server.stop();
      await h.stop();
      ({ server, h } = await startPostern(store, redis, serverEnv));
      const probe = async () => {
        const t0 = performance.now();
        await fetch(`${h.url}/healthz`);
        return performance.now() - t0;
      };
      const { result: healthz, measure } = await server.measure(async () => {
        const latencies: number[] = [];
        const until = performance.now() + UPKEEP_SECONDS * 1000;
        while (performance.now() < until) {
          latencies.push(await probe());
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return latencies;
      });
      restart = { cpuMs: measure.cpuMs, loopP99Ms: measure.loopDelayP99Ms, healthzP99Ms: percentile(healthz, 0.99), rssMb: measure.rssMb };
    }
    const idle = await server.measure(async () => undefined);

    const discovery = (id: string) => `${h.url}/apps/${id}/.well-known/openid-configuration`;
    const get = async (id: string) => (await send(agent, discovery(id))).status === 200 || 0;
    // Cold first requests, on apps never asked for: a sample one at a time, then every
    // other app 16 at a time (which also leaves each app's documents served once, as
    // steady traffic would, before the spread below).
    const shuffled = [...ids].sort(() => Math.random() - 0.5);
    const alone = shuffled.slice(0, COLD_APPS);
    const loaded = shuffled.slice(COLD_APPS);
    const coldAlone = await server.measure(() => timeEach(alone, get));
    const coldLoaded: number[] = [];
    const coldLoadedMeasure = await server.measure(() =>
      inBatches(loaded, CONCURRENCY, async (id) => {
        const t0 = performance.now();
        await get(id);
        coldLoaded.push(performance.now() - t0);
      }),
    );
    await closedLoop(CONCURRENCY, 1, () => get(ids[0]!));
    const one = await server.measure(() => closedLoop(CONCURRENCY, SECONDS, () => get(ids[0]!)));
    const spread = await server.measure(() => closedLoop(CONCURRENCY, SECONDS, () => get(ids[Math.floor(Math.random() * ids.length)]!)));
    const refused = async (id: string) => (await send(agent, `${h.url}/apps/${id}/auth?client_id=${id}`)).status === 400 || 0;
    const engineSpread = await server.measure(() => closedLoop(CONCURRENCY, CHURN_SECONDS, () => refused(ids[Math.floor(Math.random() * ids.length)]!)));
    const split = await buildSplit(store, redis, ids);
    return {
      store,
      cacheMb: cacheMb ?? 'default',
      apps: ids.length,
      creation: { perSecond: viaApi / creationSeconds, cpuMs: perOp(creation, viaApi), made: viaApi },
      seeded,
      rssIdleMb: idle.measure.rssMb,
      one: { perSecond: one.result.ok / one.result.seconds, cpuMs: perOp(one.measure, one.result.ok) },
      spread: { perSecond: spread.result.ok / spread.result.seconds, cpuMs: perOp(spread.measure, spread.result.ok), rssMb: spread.measure.rssMb, heapMb: spread.measure.heapMb },
      engineSpread: {
        perSecond: engineSpread.result.ok / engineSpread.result.seconds,
        cpuMs: perOp(engineSpread.measure, engineSpread.result.ok),
        rssMb: engineSpread.measure.rssMb,
        heapMb: engineSpread.measure.heapMb,
      },
      coldAlone: { p50: percentile(coldAlone.result, 0.5), p99: percentile(coldAlone.result, 0.99), cpuMs: perOp(coldAlone.measure, alone.length) },
      coldLoaded: { p50: percentile(coldLoaded, 0.5), p99: percentile(coldLoaded, 0.99), cpuMs: perOp(coldLoadedMeasure.measure, loaded.length) },
      split,
      restart,
    };
  } finally {
    agent.destroy();
    await server.stop();
    await h.stop();
    await redis.destroy();
  }
}

/**
 * Records to copy: a few apps made by AppsService in a Harness of this process with the
 * server's KEK (the admin API never returns sealed keys).
 */
async function makeTemplates(): Promise<AppRecord[]> {
  const maker = new Harness();
  await maker.start({ KEY_ENCRYPTION_KEY: POSTERN_ENV.KEY_ENCRYPTION_KEY, LOG_LEVEL: 'warn' });
  try {
    const made = await Promise.all(Array.from({ length: 8 }, () => maker.createApp({ name: 'Bench App' })));
    return await Promise.all(made.map(async (a) => (await maker.stores.apps.get(a.app_id))!));
  } finally {
    await maker.stop();
  }
}

const templates = await makeTemplates();
const rows: Figures[] = [];
for (const count of COUNTS) {
  for (const store of STORES) {
    for (const cacheMb of CACHE_MBS.length ? CACHE_MBS : [undefined]) {
      process.stderr.write(`${store}, ${count} apps, PROVIDER_CACHE_MB ${cacheMb ?? 'default'}\n`);
      rows.push(await run(store, count, cacheMb));
    }
  }
}
const f = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
console.log('| store | PROVIDER_CACHE_MB | apps | creation (admin API) | RSS after GC: idle / after traffic (heap) | discovery, 1 app | discovery spread over all | cold first request, alone: p50 / p99, CPU | 16 at once: p50 / p99, CPU | build: read + keys + Provider; first request | engine request spread over all; RSS after GC (heap) |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(
    `| ${r.store} | ${r.cacheMb} | ${f(r.apps)} | ${f(r.creation.perSecond, 1)}/s, ${f(r.creation.cpuMs, 1)} CPU-ms each (${f(r.creation.made)} apps) | ${f(r.rssIdleMb)} / ${f(r.spread.rssMb)} MiB (${f(r.spread.heapMb)}) ` +
      `| ${f(r.one.perSecond)}/s, ${f(r.one.cpuMs, 3)} CPU-ms | ${f(r.spread.perSecond)}/s (${f((100 * r.spread.perSecond) / r.one.perSecond)}%), ${f(r.spread.cpuMs, 3)} CPU-ms ` +
      `| ${f(r.coldAlone.p50, 1)} / ${f(r.coldAlone.p99, 1)} ms, ${f(r.coldAlone.cpuMs, 2)} CPU-ms | ${f(r.coldLoaded.p50, 1)} / ${f(r.coldLoaded.p99, 1)} ms, ${f(r.coldLoaded.cpuMs, 2)} CPU-ms ` +
      `| ${f(r.split.readMs, 2)} + ${f(r.split.openKeysMs, 2)} + ${f(r.split.providerMs, 2)} ms; ${f(r.split.firstRequestMs, 2)} ms ` +
      `| ${f(r.engineSpread.perSecond)}/s, ${f(r.engineSpread.cpuMs, 3)} CPU-ms; ${f(r.engineSpread.rssMb)} MiB (${f(r.engineSpread.heapMb)}) |`,
  );
}
for (const r of rows) {
  console.log(`${r.store}, ${f(r.apps)} apps: ${r.seeded}`);
  if (r.restart) {
    const { cpuMs, loopP99Ms, healthzP99Ms, rssMb } = r.restart;
    console.log(`  restarted on them: first ${UPKEEP_SECONDS} s ${f(cpuMs)} CPU-ms, event-loop p99 ${f(loopP99Ms, 1)} ms, /healthz p99 ${f(healthzP99Ms, 1)} ms, RSS after GC ${f(rssMb)} MiB`);
  }
}
