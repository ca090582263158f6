// Summarises a V8 CPU profile (`BENCH_PROFILE=dir npm run bench` writes one per server):
// self time by file and by function, and inclusive time of Postern's own functions, as
// shares of all samples. Usage: node bench/cpu-profile.ts FILE.cpuprofile [rows]
import { fnName, readProfile, type ProfileNode } from './cpu-profile-read.ts';

const [file, rowsArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/cpu-profile.ts FILE.cpuprofile [rows]');
  process.exit(2);
}
const rows = Number(rowsArg ?? 30);
const { profile, nodes, parents } = readProfile(file);

const fileName = (n: ProfileNode) =>
  n.callFrame.url.replace(/.*\/node_modules\/((@[^/]+\/)?[^/]+)\/.*/, '$1').replace(/.*\/src\//, 'src/') || n.callFrame.functionName;

const timeByNode = new Map<number, number>();
profile.samples.forEach((id, i) => timeByNode.set(id, (timeByNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const add = (m: Map<string, number>, k: string, t: number) => m.set(k, (m.get(k) ?? 0) + t);
const selfByFile = new Map<string, number>();
const selfByFn = new Map<string, number>();
const inclusive = new Map<string, number>();
let total = 0;
for (const [id, t] of timeByNode) {
  const node = nodes.get(id)!;
  total += t;
  add(selfByFile, fileName(node), t);
  add(selfByFn, fnName(node), t);
  // Each function once per sample, however deep it recurses.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parents.get(cur)) {
    const name = fnName(nodes.get(cur)!);
    if (name.includes('src/') && !seen.has(name)) {
      seen.add(name);
      add(inclusive, name, t);
    }
  }
}
const table = (title: string, m: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, rows)) console.log(`${((100 * v) / total).toFixed(1).padStart(6)}%  ${k}`);
};
table('self time by file', selfByFile);
table('self time by function', selfByFn);
table("inclusive time of Postern's functions", inclusive);
