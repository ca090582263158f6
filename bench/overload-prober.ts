// The health prober of bench/overload.ts, on a thread of its own: the load generator's own
// event loop is busy with 1,500 answers at once, and a probe timed there would measure that
// wait too. Asks each path every `intervalMs` (its own connection per path, kept alive, as
// a load balancer's checks) until told to stop, then posts its samples back. `probers`
// connections ask each path, started `intervalMs / probers` apart: a burst is over in
// well under a second, and one prober would land only a few probes in it.
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';

export interface ProberInput {
  readonly url: string;
  readonly paths: readonly string[];
  readonly intervalMs: number;
  readonly probers: number;
}

export interface ProbeSample {
  readonly path: string;
  /** When it was sent, milliseconds since the epoch (to compare with the server's trace). */
  readonly at: number;
  readonly ms: number;
  readonly status: number;
}

const { url, paths, intervalMs, probers } = workerData as ProberInput;
const samples: ProbeSample[] = [];
let running = true;

function probe(path: string, agent: Agent): Promise<void> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(`${url}${path}`, { agent }, (res) => {
      res.resume();
      res.on('end', () => {
        samples.push({ path, at: performance.timeOrigin + started, ms: performance.now() - started, status: res.statusCode ?? 0 });
        resolve();
      });
    });
    // A failed probe counts, as status 0.
    req.on('error', () => {
      samples.push({ path, at: performance.timeOrigin + started, ms: performance.now() - started, status: 0 });
      resolve();
    });
    req.end();
  });
}

const probes = paths.flatMap((path) => Array.from({ length: probers }, (_, i) => ({ path, agent: new Agent({ keepAlive: true, maxSockets: 1 }), delayMs: (i * intervalMs) / probers })));
// A first probe on each connection opens it; then the load may start.
await Promise.all(probes.map(({ path, agent }) => probe(path, agent)));
samples.length = 0;
parentPort!.postMessage('ready');

const loops = probes.map(async ({ path, agent, delayMs }) => {
  await new Promise((r) => setTimeout(r, delayMs));
  while (running) {
    await probe(path, agent);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  agent.destroy();
});

parentPort!.once('message', async () => {
  running = false;
  await Promise.all(loops);
  parentPort!.postMessage(samples);
});
