// Benchmark: Postern against a bare oidc-provider configured for the same work
// (bench/bare-engine.ts), side by side in one run, each server a child process that
// reports its own CPU time over each measuring window (bench/measure-child.ts). Prints one
// table: operations per second, client-side p50/p99, server CPU-ms per operation, its ratio
// to the bare engine on the same store, and the server's event-loop delay (p99).
// bench/README.md explains how to read it.
//
//   npm run bench
//   BENCH_SECONDS=5 BENCH_REPS=3 BENCH_APPS=10000 npm run bench
//   BENCH_ONLY=refresh,discovery BENCH_TARGETS=postern-memory,bare-memory npm run bench
import { Agent } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { AppJson } from '../test/helpers/harness.ts';
import { Redis } from 'ioredis';
import { RedisServer } from '../test/helpers/redis-server.ts';
import { gaugeLine, nodeEs512PerSecond } from './machine-gauge.ts';
import { closedLoop, inBatches, median, percentile, send, type LoadResult } from './load.ts';
import { startPostern } from './postern-server.ts';
import type { Measure } from './measure-child.ts';
import { bareTarget, CONCURRENCY, posternTarget, SCENARIOS, type Target } from './targets.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const REPS = Number(process.env.BENCH_REPS ?? 1);
const APPS = Number(process.env.BENCH_APPS ?? 10_000);
const ONLY = process.env.BENCH_ONLY?.split(',');
const TARGETS = process.env.BENCH_TARGETS?.split(',') ?? ['postern-memory', 'postern-redis', 'bare-memory', 'bare-redis'];
const MANY_APPS_STORES = process.env.BENCH_MANY_APPS_STORES?.split(',') ?? ['memory'];
const APP_CREATION_CONCURRENCY = 4;

interface Row {
  readonly scenario: string;
  readonly target: string;
  readonly store: string;
  readonly load: LoadResult;
  readonly measure: Measure;
  /** Redis targets: what Redis handled over the window (INFO stats deltas). */
  readonly redis?: RedisCounts | undefined;
}

/**
 * Commands Redis ran and socket reads it handled: with pipelining several commands arrive
 * in one read, so reads are the round trips the server pays for.
 */
interface RedisCounts {
  readonly commands: number;
  readonly reads: number;
}

async function redisCounts(redis: RedisServer): Promise<RedisCounts> {
  const client = new Redis(redis.url);
  try {
    const info = await client.info('stats');
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);
    return { commands: field('total_commands_processed'), reads: field('total_reads_processed') };
  } finally {
    client.disconnect();
  }
}

async function window(t: Target, scenario: string): Promise<Row> {
  const { concurrency, prepare } = SCENARIOS[scenario]!;
  const once = await prepare(t);
  await closedLoop(concurrency, Math.min(1, SECONDS / 3), once); // warm-up, not measured
  const before = t.store === 'redis' ? await redisCounts(redis) : undefined;
  const { result, measure } = await t.server.measure(() => closedLoop(concurrency, SECONDS, once));
  const after = before && (await redisCounts(redis));
  const counts = before && after && { commands: after.commands - before.commands, reads: after.reads - before.reads };
  return { scenario, target: t.name, store: t.store, load: result, measure, redis: counts };
}

/** App creation, then discovery at one app and spread over all of them, and memory. */
async function manyApps(store: 'memory' | 'redis', redis: RedisServer): Promise<Row[]> {
  const { server, h } = await startPostern(store, redis);
  const agent = new Agent({ keepAlive: true });
  const rows: Row[] = [];
  const target = `postern-${store}`;
  try {
    const latencies: number[] = [];
    const created: AppJson[] = [];
    const started = performance.now();
    const { measure: creation } = await server.measure(() =>
      inBatches(Array.from({ length: APPS }), APP_CREATION_CONCURRENCY, async () => {
        const t0 = performance.now();
        created.push(await h.createApp({ name: 'Bench App' }));
        latencies.push(performance.now() - t0);
      }),
    );
    const creationLoad = { ok: created.length, failed: APPS - created.length, seconds: (performance.now() - started) / 1000, latencies, failures: '' };
    rows.push({ scenario: 'app creation', target, store, load: creationLoad, measure: creation });
    const discovery = (app: AppJson) => `${app.issuer}/.well-known/openid-configuration`;
    const one = created[0]!;
    const single = async () => (await send(agent, discovery(one))).status === 200 || 0;
    await closedLoop(CONCURRENCY, 1, single);
    const oneApp = await server.measure(() => closedLoop(CONCURRENCY, SECONDS, single));
    rows.push({ scenario: 'discovery, 1 app', target, store, load: oneApp.result, measure: oneApp.measure });
    // Every app's first request (its Provider built from the stored record), 16 at a time,
    // measured apart; then discovery spread at random over all of them, as in steady traffic.
    const cold: number[] = [];
    const { measure: coldMeasure } = await server.measure(() =>
      inBatches(created, CONCURRENCY, async (app) => {
        const t0 = performance.now();
        await send(agent, discovery(app));
        cold.push(performance.now() - t0);
      }),
    );
    const spread = await server.measure(() =>
      closedLoop(CONCURRENCY, SECONDS, async () => (await send(agent, discovery(created[Math.floor(Math.random() * created.length)]!))).status === 200 || 0),
    );
    rows.push({ scenario: `discovery, ${created.length} apps`, target, store, load: spread.result, measure: spread.measure });
    rows.push({ scenario: "a cold app's first request", target, store, load: { ...spread.result, ok: cold.length, latencies: cold }, measure: coldMeasure });
  } finally {
    agent.destroy();
    await server.stop();
    await h.stop();
  }
  return rows;
}

function rotate<T>(list: readonly T[], by: number): T[] {
  return list.map((_, i) => list[(i + by) % list.length]!);
}

// Before any server starts, so nothing else competes with it.
const gauge = nodeEs512PerSecond();
const redis = await new RedisServer().start();
const runs: Row[] = [];
const scenarios = Object.keys(SCENARIOS).filter((s) => !ONLY || ONLY.includes(s));
try {
  for (let rep = 0; rep < REPS; rep++) {
    for (const name of rotate(TARGETS, rep)) {
      const [kind, store] = name.split('-') as ['postern' | 'bare', 'memory' | 'redis'];
      const t = kind === 'postern' ? await posternTarget(store, redis) : await bareTarget(store, redis);
      try {
        for (const scenario of rotate(scenarios, rep)) {
          const row = await window(t, scenario);
          runs.push(row);
          process.stderr.write(`rep ${rep + 1}/${REPS} ${name} ${scenario}: ${(row.load.ok / row.load.seconds).toFixed(0)}/s\n`);
        }
      } finally {
        await t.stop();
      }
    }
    if (!ONLY || ONLY.includes('many-apps')) {
      for (const store of MANY_APPS_STORES as ('memory' | 'redis')[]) runs.push(...(await manyApps(store, redis)));
      process.stderr.write(`rep ${rep + 1}/${REPS} many apps done\n`);
    }
  }
} finally {
  await redis.destroy();
}

// Medians over the repetitions, per scenario and target.
const groups = new Map<string, Row[]>();
for (const row of runs) groups.set(`${row.scenario}|${row.target}`, [...(groups.get(`${row.scenario}|${row.target}`) ?? []), row]);
const summary = [...groups.values()].map((rows) => {
  const { scenario, target, store } = rows[0]!;
  return {
    scenario,
    target,
    store,
    rate: median(rows.map((r) => r.load.ok / r.load.seconds)),
    p50: median(rows.map((r) => percentile(r.load.latencies, 0.5))),
    p99: median(rows.map((r) => percentile(r.load.latencies, 0.99))),
    cpu: median(rows.map((r) => r.measure.cpuMs / Math.max(1, r.load.ok))),
    loop: median(rows.map((r) => r.measure.loopDelayP99Ms)),
    rss: median(rows.map((r) => r.measure.rssMb)),
    failures: rows.map((r) => r.load.failures).filter(Boolean).join(' ') || '-',
    redisCommands: median(rows.map((r) => (r.redis ? r.redis.commands / Math.max(1, r.load.ok) : NaN))),
    redisReads: median(rows.map((r) => (r.redis ? r.redis.reads / Math.max(1, r.load.ok) : NaN))),
  };
});
const bareCpu = (scenario: string, store: string) => summary.find((s) => s.scenario === scenario && s.target === `bare-${store}`)?.cpu;

const cols = ['scenario', 'target', 'ops/s', 'p50 ms', 'p99 ms', 'CPU-ms/op', '× bare', 'loop p99', 'RSS MB', 'redis cmd/op', 'reads/op', 'failed'];
const widths = [28, 15, 8, 8, 8, 10, 7, 9, 7, 13, 9, 10];
const perOp = (n: number) => (Number.isNaN(n) ? '' : n.toFixed(1));
const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ');
console.log(`\nPostern vs the bare engine (Node ${process.version}, ${SECONDS} s windows, median of ${REPS} rep(s); CPU is the server process's own)`);
console.log(`${gaugeLine(gauge)}\n`);
console.log(line(cols));
for (const s of summary) {
  const bare = s.target.startsWith('postern') ? bareCpu(s.scenario, s.store) : undefined;
  console.log(
    line([s.scenario, s.target, s.rate.toFixed(0), s.p50.toFixed(2), s.p99.toFixed(2), s.cpu.toFixed(3), bare ? (s.cpu / bare).toFixed(2) : '', s.loop.toFixed(1), s.rss.toFixed(0), perOp(s.redisCommands), perOp(s.redisReads), s.failures]),
  );
}
