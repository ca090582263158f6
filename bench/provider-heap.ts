// What one cached Provider holds: a Harness in this process (memory store) with BENCH_HEAP_APPS
// apps, each asked for once through an engine request (its Provider built and dropped: what
// stays of it is a leak), then again (so its Provider is cached) and for its discovery
// document and JWKS; the V8 heap in use after a full GC between the steps, divided by the
// apps, against the registry's estimate (PROVIDER_BYTES); and, with
// BENCH_HEAP_SNAPSHOT=1, the heap snapshot's growth by object kind (type and constructor).
//
//   node --expose-gc --disable-warning=ExperimentalWarning bench/provider-heap.ts
import { Agent } from 'node:http';
import { readFileSync } from 'node:fs';
import { getHeapSnapshot } from 'node:v8';
import { PROVIDER_BYTES } from '../src/tenancy/provider-registry.ts';
import { Harness } from '../test/helpers/harness.ts';
import { inBatches, send } from './load.ts';

const APPS = Number(process.env.BENCH_HEAP_APPS ?? 300);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage().heapUsed;
}

/** Resident memory by kind of mapping (Linux): V8's 256 KiB pages, malloc's heap and arenas, the rest. */
function residentByMapping(): string {
  const kinds = new Map<string, number>();
  let kind = 'other';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const range = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (range) {
      const kib = (parseInt(range[2]!, 16) - parseInt(range[1]!, 16)) / 1024;
      const name = range[3]!;
      kind = name === '[heap]' ? 'brk heap' : name ? 'files' : kib === 256 ? 'V8 pages' : kib >= 60 * 1024 && kib <= 64 * 1024 ? 'malloc arenas' : 'other anonymous';
    } else if (line.startsWith('Rss:')) kinds.set(kind, (kinds.get(kind) ?? 0) + Number(line.split(/\s+/)[1]));
  }
  return [...kinds].map(([k, kib]) => `${k} ${(kib / 1024).toFixed(0)}`).join(', ') + ' MiB';
}

/** Self size of the heap snapshot's nodes by "type name" (strings and code by type alone). */
async function byKind(): Promise<Map<string, { bytes: number; count: number }>> {
  gc!();
  let text = '';
  for await (const chunk of getHeapSnapshot()) text += chunk;
  const snapshot = JSON.parse(text) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const fields = snapshot.snapshot.meta.node_fields;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f)) as [number, number, number];
  const types = snapshot.snapshot.meta.node_types[0];
  const kinds = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < snapshot.nodes.length; i += fields.length) {
    const type = types[snapshot.nodes[i + typeAt]!]!;
    const named = type === 'object' || type === 'closure' || type === 'native' || type === 'hidden' || type === 'array';
    const key = named ? `${type} ${snapshot.strings[snapshot.nodes[i + nameAt]!]!.slice(0, 70)}` : type;
    const kind = kinds.get(key) ?? { bytes: 0, count: 0 };
    kind.bytes += snapshot.nodes[i + sizeAt]!;
    kind.count += 1;
    kinds.set(key, kind);
  }
  return kinds;
}

/** Then, with BENCH_HEAP_CHURN_SECONDS: engine requests spread at random over the apps (BENCH_HEAP_CACHE_MB small: most build a Provider), and where resident memory went. */
const CHURN_SECONDS = Number(process.env.BENCH_HEAP_CHURN_SECONDS ?? 0);
const h = await new Harness().start({ LOG_LEVEL: 'warn', PROVIDER_CACHE_MB: process.env.BENCH_HEAP_CACHE_MB ?? '4096' });
const agent = new Agent({ keepAlive: true });
try {
  const ids: string[] = [];
  await inBatches(Array.from({ length: APPS }), 16, async () => ids.push((await h.createApp({ name: 'Heap App' })).app_id));
  await h.server.audit.flushed();
  const snapshot = process.env.BENCH_HEAP_SNAPSHOT === '1';
  const before = snapshot ? await byKind() : undefined;
  const ask = (path: string) =>
    inBatches(ids, 16, async (id) => {
      const res = await send(agent, `${h.url}/apps/${id}/${path}${path === 'auth' ? `?client_id=${id}` : ''}`);
      if (res.status !== (path === 'auth' ? 400 : 200)) throw new Error(`${path}: ${res.status}`);
    });
  const used0 = heapUsed();
  // A first request: its Provider is built for it and dropped, nothing of it may stay.
  await ask('auth');
  await h.server.audit.flushed();
  const usedOnce = heapUsed();
  console.log(`${APPS} Providers built for one request each: ${((usedOnce - used0) / APPS / 1024).toFixed(1)} KiB of heap left per app (${h.server.registry.sizes.providers} cached)`);
  for (const path of ['auth', '.well-known/openid-configuration', 'jwks']) await ask(path);
  await h.server.audit.flushed();
  const used1 = heapUsed();
  const { providers } = h.server.registry.sizes;
  const per = (used1 - usedOnce) / providers;
  if (providers > 0) console.log(`${providers} Providers cached with their documents: ${(per / 1024).toFixed(1)} KiB of heap each (estimate ${(PROVIDER_BYTES / 1024).toFixed(0)} KiB)`);
  if (CHURN_SECONDS > 0) {
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
    const idle = process.memoryUsage();
    console.log(`before, after GC: rss ${mib(idle.rss)}, heap committed ${mib(idle.heapTotal)}, used ${mib(idle.heapUsed)}, external ${mib(idle.external)}; ${residentByMapping()}`);
    const until = Date.now() + CHURN_SECONDS * 1000;
    let requests = 0;
    let peak = 0;
    const cpu0 = process.cpuUsage();
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 100);
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (Date.now() < until) {
          const id = ids[Math.floor(Math.random() * ids.length)]!;
          if ((await send(agent, `${h.url}/apps/${id}/auth?client_id=${id}`)).status !== 400) throw new Error('auth');
          requests++;
        }
      }),
    );
    clearInterval(sampler);
    const cpu = process.cpuUsage(cpu0);
    const cpuMs = (cpu.user + cpu.system) / 1000 / requests;
    await h.server.audit.flushed();
    heapUsed();
    const m = process.memoryUsage();
    console.log(`${requests} engine requests spread over ${APPS} apps (${h.server.registry.sizes.providers} Providers cached), ${cpuMs.toFixed(2)} CPU-ms each (this process: client and server), peak rss ${mib(peak)}; after GC: rss ${mib(m.rss)}, heap committed ${mib(m.heapTotal)}, used ${mib(m.heapUsed)}, external ${mib(m.external)}; ${residentByMapping()}`);
  }
  if (before) {
    const after = await byKind();
    const growth = [...after].map(([key, { bytes, count }]) => ({ key, bytes: bytes - (before.get(key)?.bytes ?? 0), count: count - (before.get(key)?.count ?? 0) }));
    growth.sort((a, b) => b.bytes - a.bytes);
    for (const { key, bytes, count } of growth.slice(0, 45)) {
      console.log(`${(bytes / providers).toFixed(0).padStart(8)} B  ${(count / providers).toFixed(1).padStart(7)} objects  ${key}`);
    }
  }
} finally {
  agent.destroy();
  await h.stop();
}
