// Paired A/B benchmark: every target is up at once, each a server process of its own, and
// one load generator measures them in alternating short windows (round 1: A, B, C; round 2:
// B, C, A; …). Whatever else the machine is doing then weighs on all of them within a round,
// so the ratio of two targets' CPU-ms per operation taken within each round is far steadier
// than one taken between runs minutes apart; the median of the per-round ratios and their
// spread are the figures ("pooled" is the ratio of the CPU-ms per operation over all rounds
// together, a check on the median; bench/README.md, "How to read ratios on a noisy machine").
//
//   npm run bench:ab                                   # userinfo and authorize, memory store
//   BENCH_AB_TARGETS=postern-memory,postern-memory@/tmp/base,bare-memory npm run bench:ab
//   BENCH_ONLY=userinfo BENCH_ROUNDS=12 BENCH_WINDOW_SECONDS=1 npm run bench:ab
//
// A target is `postern-<store>` or `bare-<store>`; `bare-<store>+mount` is the bare engine
// run as Postern runs it, on a root Koa app's context and mounted under /apps/bench (what
// that alone costs); `postern-<store>@DIR` runs Postern from another tree (e.g. `git archive main | tar -x -C DIR` with node_modules linked), so two
// versions are compared in the same rounds. Ratios are to BENCH_AB_BASE (default: the bare
// engine on the same store where it is a target, else the first target).
import { median, percentile, closedLoop } from './load.ts';
import { gaugeLine, nodeEs512PerSecond } from './machine-gauge.ts';
import { RedisServer } from '../test/helpers/redis-server.ts';
import { bareTarget, posternTarget, SCENARIOS, type Target } from './targets.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 8);
const WINDOW_SECONDS = Number(process.env.BENCH_WINDOW_SECONDS ?? 1);
const ONLY = process.env.BENCH_ONLY?.split(',') ?? ['userinfo', 'authorize'];
const LABELS = process.env.BENCH_AB_TARGETS?.split(',') ?? ['postern-memory', 'bare-memory'];
const BASE = process.env.BENCH_AB_BASE;

interface Labelled {
  readonly label: string;
  readonly store: 'memory' | 'redis';
  readonly target: Target;
}

async function start(label: string, redis: RedisServer): Promise<Labelled> {
  const [name, root] = label.split('@') as [string, string | undefined];
  const [kind, store, variant] = name.split(/[-+]/) as ['postern' | 'bare', 'memory' | 'redis', string | undefined];
  const known = kind === 'postern' ? variant === undefined : kind === 'bare' && root === undefined && (variant === undefined || variant === 'mount');
  if (!known || (store !== 'memory' && store !== 'redis')) throw new Error(`unknown target ${label}: postern-<memory|redis>[@DIR] or bare-<memory|redis>[+mount]`);
  const target = kind === 'postern' ? await posternTarget(store, redis, root) : await bareTarget(store, redis, variant && '/apps/bench');
  return { label, store, target };
}

function baseOf(t: Labelled, all: readonly Labelled[]): Labelled {
  return all.find((o) => o.label === BASE) ?? all.find((o) => o.label === `bare-${t.store}`) ?? all[0]!;
}

const fixed = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : '');

// Before any server starts, so nothing else competes with it.
console.log(gaugeLine(nodeEs512PerSecond()));
const redis = await new RedisServer().start();
const targets: Labelled[] = [];
try {
  for (const label of LABELS) targets.push(await start(label, redis));
  for (const scenario of ONLY) {
    const { concurrency, prepare } = SCENARIOS[scenario] ?? {};
    if (!prepare || !concurrency) throw new Error(`unknown scenario ${scenario}: ${Object.keys(SCENARIOS).join(', ')}`);
    const loops = await Promise.all(targets.map(async (t) => prepare(t.target)));
    // Warm-up, not measured: the JIT and the stores settle before the first round.
    for (const once of loops) await closedLoop(concurrency, WINDOW_SECONDS, once);
    /** CPU-ms per operation and operations per second, per round, per target; totals over the rounds. */
    const cpu = targets.map((): number[] => []);
    const rate = targets.map((): number[] => []);
    const totals = targets.map(() => ({ cpuMs: 0, ops: 0 }));
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < targets.length; k++) {
        const i = (k + round) % targets.length; // each target takes every place in turn
        const { result, measure } = await targets[i]!.target.server.measure(() => closedLoop(concurrency, WINDOW_SECONDS, loops[i]!));
        cpu[i]![round] = measure.cpuMs / Math.max(1, result.ok);
        rate[i]![round] = result.ok / result.seconds;
        totals[i]!.cpuMs += measure.cpuMs;
        totals[i]!.ops += result.ok;
        if (result.failed) process.stderr.write(`${scenario} ${targets[i]!.label} round ${round + 1}: failed ${result.failures}\n`);
      }
      process.stderr.write(`${scenario} round ${round + 1}/${ROUNDS}\n`);
    }
    console.log(`\n${scenario}: ${ROUNDS} rounds of ${WINDOW_SECONDS} s windows, targets alternating; ratio = CPU-ms/op over the base's in the same round`);
    const cols = ['target', 'ops/s', 'CPU-ms/op', 'base', 'ratio (median)', 'p25–p75', 'min–max', 'pooled'];
    const widths = [44, 8, 10, 16, 15, 12, 12, 8];
    const pooled = (i: number) => totals[i]!.cpuMs / Math.max(1, totals[i]!.ops);
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 || i === 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ');
    console.log(line(cols));
    targets.forEach((t, i) => {
      const base = targets.indexOf(baseOf(t, targets));
      const ratios = base === i ? [] : cpu[i]!.map((c, round) => c / cpu[base]![round]!);
      const range = (lo: number, hi: number) => (ratios.length ? `${fixed(percentile(ratios, lo), 2)}–${fixed(percentile(ratios, hi), 2)}` : '');
      console.log(line([t.label, fixed(median(rate[i]!), 0), fixed(median(cpu[i]!), 3), base === i ? '(base)' : targets[base]!.label.slice(0, 16), fixed(median(ratios), 3), range(0.25, 0.75), range(0, 0.999), base === i ? '' : fixed(pooled(i) / pooled(base), 3)]));
    });
  }
} finally {
  for (const t of targets) await t.target.stop();
  await redis.destroy();
}
