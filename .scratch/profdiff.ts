import { fnName, readProfile } from '../bench/cpu-profile-read.ts';
const [a, b, opsA, opsB] = process.argv.slice(2);
function load(file: string, ops: number) {
  const { profile, nodes } = readProfile(file) as any;
  // busy window: find 0.5 s buckets with > 40% non-idle
  let t = 0; const stamps: number[] = [];
  for (const d of profile.timeDeltas) { t += d; stamps.push(t); }
  const idle = new Set([...nodes.values()].filter((n: any) => n.callFrame.functionName === '(idle)').map((n: any) => n.id));
  const buckets = new Map<number, [number, number]>();
  profile.samples.forEach((id: number, i: number) => { const k = Math.floor(stamps[i]! / 500000); const v = buckets.get(k) ?? [0, 0]; v[0] += profile.timeDeltas[i]; if (!idle.has(id)) v[1] += profile.timeDeltas[i]; buckets.set(k, v); });
  const busy = [...buckets].filter(([, [all, b]]) => b / all > 0.6).map(([k]) => k);
  const lo = Math.min(...busy) + 1, hi = Math.max(...busy) - 1; // skip edges
  const secs = (hi - lo + 1) * 0.5;
  const byFn = new Map<string, number>(); let total = 0;
  profile.samples.forEach((id: number, i: number) => { const k = Math.floor(stamps[i]! / 500000); if (k < lo || k > hi || idle.has(id)) return; const n = nodes.get(id); const name = fnName(n).replace(/:\d+$/, ''); const key = name; byFn.set(key, (byFn.get(key) ?? 0) + profile.timeDeltas[i]); total += profile.timeDeltas[i]; });
  const nOps = ops * secs;
  console.error(file, 'busy secs', secs, 'cpu-us/op', (total / nOps).toFixed(1));
  return { byFn: new Map([...byFn].map(([k, v]) => [k, v / nOps])), total: total / nOps };
}
const A = load(a!, Number(opsA)), B = load(b!, Number(opsB));
const keys = new Set([...A.byFn.keys(), ...B.byFn.keys()]);
const rows = [...keys].map((k) => [k, A.byFn.get(k) ?? 0, B.byFn.get(k) ?? 0] as const).sort((x, y) => (y[1] - y[2]) - (x[1] - x[2]));
console.log('total A', A.total.toFixed(1), 'B', B.total.toFixed(1));
for (const [k, x, y] of rows.slice(0, Number(process.env.N ?? 40))) console.log((x - y).toFixed(2).padStart(7), x.toFixed(2).padStart(7), y.toFixed(2).padStart(7), k);
console.log('... most negative');
for (const [k, x, y] of rows.slice(-10)) console.log((x - y).toFixed(2).padStart(7), x.toFixed(2).padStart(7), y.toFixed(2).padStart(7), k);
