// Where the event loop was held up: reads a V8 CPU profile of the overload server
// (BENCH_PROFILE=dir npm run bench:overload) and lists its longest stretches of work
// without a break, since a /healthz probe waits for the whole stretch it arrives in.
// A stretch is a run of consecutive samples under the same top-level frame (one callback
// of the event loop and the microtasks it started, a garbage collection, the engine's own
// work), ended by an idle sample or a change of top-level frame; each is shown with its
// length and where its time went (Postern's innermost function, else the innermost frame).
//
//   node bench/overload-long-tasks.ts FILE.cpuprofile [rows] [minMs]
import { fnName, readProfile } from './cpu-profile-read.ts';

const [file, rowsArg, minArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/overload-long-tasks.ts FILE.cpuprofile [rows] [minMs]');
  process.exit(2);
}
const rows = Number(rowsArg ?? 15);
const minMs = Number(minArg ?? 20);
const { profile, nodes, parents } = readProfile(file);
const root = profile.nodes.find((n) => !parents.has(n.id))!.id;

/** The frame right under the root: which callback of the loop (or GC, idle) a sample is in. */
function topLevel(id: number): number {
  let cur = id;
  for (let up = parents.get(cur); up !== undefined && up !== root; up = parents.get(cur)) cur = up;
  return cur;
}

/** What a sample is charged to: Postern's innermost function on its stack, else its own frame. */
function charge(id: number): string {
  for (let cur: number | undefined = id; cur !== undefined && cur !== root; cur = parents.get(cur)) {
    const node = nodes.get(cur)!;
    if (node.callFrame.url.includes('/src/')) return fnName(node);
  }
  return fnName(nodes.get(id)!);
}

interface Stretch {
  readonly startMs: number;
  ms: number;
  readonly top: string;
  readonly by: Map<string, number>;
}

const stretches: Stretch[] = [];
let current: Stretch | undefined;
let currentTop = -1;
let at = 0;
profile.samples.forEach((id, i) => {
  const delta = (profile.timeDeltas[i] ?? 0) / 1000;
  at += delta;
  const top = topLevel(id);
  const name = nodes.get(top)!.callFrame.functionName;
  if (name === '(idle)' || name === '(root)') {
    current = undefined;
    currentTop = -1;
    return;
  }
  if (!current || top !== currentTop) {
    current = { startMs: at, ms: 0, top: fnName(nodes.get(top)!), by: new Map() };
    currentTop = top;
    stretches.push(current);
  }
  // A sample's delta is the time since the previous one: charged to this one.
  current.ms += delta;
  const what = charge(id);
  current.by.set(what, (current.by.get(what) ?? 0) + delta);
});

const long = stretches.filter((s) => s.ms >= minMs);
const totalMs = at;
console.log(`${stretches.length} stretches in ${(totalMs / 1000).toFixed(1)} s; ${long.length} of ${minMs} ms or more, ${long.reduce((t, s) => t + s.ms, 0).toFixed(0)} ms in all`);
const lengths = stretches.map((s) => s.ms).sort((a, b) => a - b);
for (const q of [0.5, 0.9, 0.99, 0.999]) console.log(`  p${q * 100}: ${(lengths[Math.floor(q * (lengths.length - 1))] ?? 0).toFixed(1)} ms`);
console.log(`  max: ${(lengths.at(-1) ?? 0).toFixed(1)} ms`);
for (const s of [...long].sort((a, b) => b.ms - a.ms).slice(0, rows)) {
  console.log(`\n${s.ms.toFixed(1)} ms at ${(s.startMs / 1000).toFixed(3)} s under ${s.top}`);
  for (const [what, ms] of [...s.by].sort((a, b) => b[1] - a[1]).slice(0, 6)) console.log(`  ${ms.toFixed(1).padStart(7)} ms  ${what}`);
}
