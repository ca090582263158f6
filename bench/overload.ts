// Benchmark: one Postern process (src/main.ts, a real child process on a real
// redis-server) overloaded twice, once without load shedding (MAX_EVENT_LOOP_LAG_MS=0)
// and once with the default limit:
//
//   - refresh: BENCH_REFRESH_LOOPS clients (200) each refreshing its own chain in a loop
//     for BENCH_SECONDS (10); a 503 is retried with the same token after Retry-After;
//   - link requests: BENCH_LINK_REQUESTS people (1,500) submitting the sign-in form at
//     the same moment, BENCH_BURSTS times (3), each on fresh login pages, probed from
//     the moment it is sent until its last answer;
//
// while BENCH_PROBERS probers (4) each ask /healthz and /readyz every BENCH_PROBE_MS
// (20 ms), staggered, each on a connection of its own, from a thread of their own (bench/overload-prober.ts) so that the
// load generator's busy event loop does not delay the probes' timing. Prints p50/p99/max
// latency and the count of each status per route. Latencies are from the client side,
// which shares the machine with the server. BENCH_SHEDDING=on (or off) runs one scenario
// only; BENCH_PROFILE=dir writes the server's V8 CPU profile there (one per scenario;
// bench/overload-long-tasks.ts lists its longest stretches of work); BENCH_V8_FLAGS sets
// V8 flags in the server as it starts (its garbage collector's, say). The server records its
// garbage collections (bench/overload-trace.ts): each scenario's summary counts the pauses
// and how many of the probes slower than SLOW_PROBE_MS overlapped one.
// The load goes over connections opened beforehand and kept
// alive, as from a load balancer: a burst of 1,500 new connections would otherwise
// measure the kernel's accept queue (dropped SYNs are resent after a second) rather than
// Postern.
//
//   npm run bench:overload
//   BENCH_REFRESH_LOOPS=50 BENCH_LINK_REQUESTS=300 BENCH_SECONDS=5 npm run bench:overload
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as oidc from 'openid-client';
import { Browser, formOn, type Page } from '../test/helpers/browser.ts';
import { ADMIN_TOKEN, Harness, REDIRECT_URI, type AppJson } from '../test/helpers/harness.ts';
import { Instance } from '../test/helpers/instance.ts';
import { RedisServer, freePort } from '../test/helpers/redis-server.ts';
import type { ProbeSample, ProberInput } from './overload-prober.ts';
import type { OverloadTrace } from './overload-trace.ts';

const REFRESH_LOOPS = Number(process.env.BENCH_REFRESH_LOOPS ?? 200);
const LINK_REQUESTS = Number(process.env.BENCH_LINK_REQUESTS ?? 1500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BURSTS = Number(process.env.BENCH_BURSTS ?? 3);
const PROBE_MS = Number(process.env.BENCH_PROBE_MS ?? 20);
const PROBERS = Number(process.env.BENCH_PROBERS ?? 4);
const SHEDDING = (process.env.BENCH_SHEDDING ?? 'off,on').split(',');
/** How many requests at a time while preparing (sign-ins, login pages): not part of the measure. */
const SETUP_CONCURRENCY = 20;

/** A probe this slow is looked for in the server's trace. */
const SLOW_PROBE_MS = 50;

interface Sample {
  readonly ms: number;
  readonly status: number;
  /** Probes only: when it was sent, milliseconds since the epoch. */
  readonly at?: number;
}

class Recorder {
  readonly samples = new Map<string, Sample[]>();
  trace: OverloadTrace | undefined;
  async time<T extends { status: number }>(route: string, send: () => Promise<T>): Promise<T> {
    const started = performance.now();
    const res = await send();
    const list = this.samples.get(route) ?? [];
    list.push({ ms: performance.now() - started, status: res.status });
    this.samples.set(route, list);
    return res;
  }
}

/** Kept-alive connections for the load, never limited, never closed while idle. */
const pool = new Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, maxFreeSockets: Number.POSITIVE_INFINITY });

interface Answer {
  readonly status: number;
  readonly retryAfter: string | undefined;
  readonly body: string;
}

/** One request over `pool`. */
function send(url: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers = { ...init.headers, ...(init.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(init.body)) }) };
    const req = request(url, { method: init.method ?? 'GET', headers, agent: pool }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Asks /healthz and /readyz every PROBE_MS, from a thread of its own, until stopped. */
async function probeHealth(url: string, recorder: Recorder, during: string): Promise<() => Promise<void>> {
  const input: ProberInput = { url, paths: ['/healthz', '/readyz'], intervalMs: PROBE_MS, probers: PROBERS };
  const worker = new Worker(new URL('./overload-prober.ts', import.meta.url), { workerData: input });
  // Probing from the moment the load starts: the thread has loaded and made its first probe.
  await new Promise((resolve, reject) => worker.once('message', resolve).once('error', reject));
  return async () => {
    const samples = new Promise<ProbeSample[]>((resolve, reject) => worker.once('message', resolve).once('error', reject));
    worker.postMessage('stop');
    for (const { path, at, ms, status } of await samples) {
      const route = `GET ${path} (${during})`;
      recorder.samples.set(route, [...(recorder.samples.get(route) ?? []), { at, ms, status }]);
    }
    await worker.terminate();
  };
}

/** Opens `count` connections to `url` and leaves them idle in the pool. */
async function warmUp(url: string, count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, () => send(`${url}/healthz`)));
}

/** Runs `work` over `items`, `limit` at a time. */
async function inBatches<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += limit) results.push(...(await Promise.all(items.slice(i, i + limit).map(work))));
  return results;
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

/**
 * Preparing is not measured, and on a machine busy with other work a step of the setup can
 * be shed (its link request too, which then sends no mail) or meet a store command past
 * its deadline: it is tried again from the start, a few times, rather than ending the run.
 */
async function untilServed<T>(prepare: () => Promise<T>, tries = 20): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await prepare();
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function refreshLoop(app: AppJson, first: string, until: number, recorder: Recorder): Promise<void> {
  let token = first;
  while (performance.now() < until) {
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: app.client_id }).toString();
    const res = await recorder.time('POST /token (refresh)', () => send(`${app.issuer}/token`, { method: 'POST', headers: { ...FORM, accept: 'application/json' }, body }));
    const next = res.status === 200 ? (JSON.parse(res.body) as { refresh_token?: string }).refresh_token : undefined;
    if (next) token = next;
    else if (res.status === 503) await new Promise((r) => setTimeout(r, Number(res.retryAfter ?? 1) * 1000));
    else return; // the chain is lost (counted by its status); this client stops
  }
}

async function loginPage(h: Harness, config: oidc.Configuration): Promise<{ browser: Browser; page: Page }> {
  const browser = new Browser();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
    code_challenge_method: 'S256',
  });
  const page = await browser.navigate(url.href, {}, REDIRECT_URI);
  if (page.status !== 200) throw new Error(`login page answered ${page.status} `);
  return { browser, page };
}

async function scenario(maxLagMs: string, redis: RedisServer): Promise<Recorder> {
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const h = await new Harness().attach(url);
  const traceDir = mkdtempSync(join(tmpdir(), 'overload-trace-'));
  const traceFile = join(traceDir, 'trace.json');
  const preload = `--import=${new URL('./overload-trace.ts', import.meta.url).pathname}`;
  const instance = new Instance(port, {
    NODE_ENV: 'test',
    PUBLIC_URL: url,
    REDIS_URL: redis.url,
    SMTP_URL: h.smtp.url,
    ADMIN_TOKEN,
    COOKIE_SECRETS: 'overload-bench-cookie-secret-0123456789abcdef',
    KEY_ENCRYPTION_KEY: 'd3ec3033d41db89d79e917c41bfaf95c5117ad0cc0a52e279a7bb60194379c03',
    LOG_LEVEL: 'error',
    MAX_EVENT_LOOP_LAG_MS: maxLagMs,
    OVERLOAD_TRACE_FILE: traceFile,
    OVERLOAD_V8_FLAGS: process.env.BENCH_V8_FLAGS ?? '',
    NODE_OPTIONS: [preload, ...(process.env.BENCH_PROFILE ? [`--cpu-prof --cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [])].join(' '),
  });
  await instance.start();
  const recorder = new Recorder();
  try {
    // Generous limits: the benchmark measures overload, not the rate limiter's refusals.
    const app = await untilServed(() => h.createApp({ max_links_per_address: 1000, max_links_per_ip: 100000, max_links_per_app: 10000000 }));
    const config = await h.client(app);

    const chains = await inBatches(Array.from({ length: REFRESH_LOOPS }, (_, i) => i), SETUP_CONCURRENCY, async (i) => {
      const { tokens } = await untilServed(() => h.signIn(app, `refresh-${i}@example.com`, { scope: 'openid offline_access' }));
      return tokens.refresh_token!;
    });
    await warmUp(url, REFRESH_LOOPS);
    let stopProbe = await probeHealth(url, recorder, 'refresh loops');
    const until = performance.now() + SECONDS * 1000;
    await Promise.all(chains.map((token) => refreshLoop(app, token, until, recorder)));
    await stopProbe();

    for (let burst = 0; burst < BURSTS; burst++) {
      const pages = await inBatches(Array.from({ length: LINK_REQUESTS }, (_, i) => i), SETUP_CONCURRENCY, () => untilServed(() => loginPage(h, config)));
      await warmUp(url, LINK_REQUESTS);
      stopProbe = await probeHealth(url, recorder, 'link requests');
      await Promise.all(
        pages.map(({ browser, page }, i) => {
          const form = formOn(page);
          const action = new URL(form.action, page.url).href;
          const body = new URLSearchParams({ ...form.fields, email: `link-${burst}-${i}@example.com` }).toString();
          return recorder.time('POST …/interaction/{uid}/email', () => send(action, { method: 'POST', headers: { ...FORM, accept: 'text/html', cookie: browser.cookieHeader(action) }, body }));
        }),
      );
      await stopProbe();
    }
  } finally {
    pool.destroy(); // its connections are to this instance
    await instance.kill('SIGTERM');
    await h.stop();
    try {
      recorder.trace = JSON.parse(readFileSync(traceFile, 'utf8')) as OverloadTrace;
    } catch {
      // no trace (the server did not exit cleanly): the summary says so
    }
    rmSync(traceDir, { recursive: true, force: true });
  }
  return recorder;
}

function summary(samples: readonly Sample[]) {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const statuses = new Map<number, number>();
  for (const s of samples) statuses.set(s.status, (statuses.get(s.status) ?? 0) + 1);
  const count = (status: number) => statuses.get(status) ?? 0;
  const other = [...statuses].filter(([status]) => ![200, 303, 429, 503].includes(status)).map(([status, n]) => `${status}×${n}`);
  return { n: samples.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0, ok: count(200) + count(303), s429: count(429), s503: count(503), other: other.join(' ') || '-' };
}

/** The server's garbage collections, and which slow probes one of them overlapped. */
function traceSummary(recorder: Recorder): void {
  const trace = recorder.trace;
  if (!trace) return console.log('server trace: none (the server did not exit cleanly)');
  const byKind = new Map<string, number[]>();
  for (const { kind, ms } of trace.gc) byKind.set(kind, [...(byKind.get(kind) ?? []), ms]);
  const kinds = [...byKind].map(([kind, list]) => `${kind} ${list.length}× (max ${Math.max(...list).toFixed(1)} ms, ${list.filter((ms) => ms >= 10).length} ≥ 10 ms)`);
  console.log(`server: GC ${kinds.join(', ')}; event-loop delay p99 ${trace.loopDelayP99Ms.toFixed(1)} ms, max ${trace.loopDelayMaxMs.toFixed(1)} ms`);
  for (const [route, samples] of recorder.samples) {
    const slow = samples.filter((s) => s.at !== undefined && s.ms >= SLOW_PROBE_MS);
    if (!slow.length) continue;
    const overlapped = slow.filter((s) => trace.gc.some((g) => g.ms >= 5 && g.at < s.at! + s.ms && g.at + g.ms > s.at!));
    console.log(`  ${route}: ${slow.length} probes ≥ ${SLOW_PROBE_MS} ms, ${overlapped.length} of them during a GC pause ≥ 5 ms`);
  }
}

const redis = await new RedisServer().start();
const runs: [string, Recorder][] = [];
try {
  if (SHEDDING.includes('off')) runs.push(['off (MAX_EVENT_LOOP_LAG_MS=0)', await scenario('0', redis)]);
  if (SHEDDING.includes('on')) runs.push(['on (MAX_EVENT_LOOP_LAG_MS=50, the default)', await scenario('50', redis)]);
} finally {
  await redis.destroy();
}

const cols = ['route', 'n', 'p50 ms', 'p99 ms', 'max ms', '2xx/303', '429', '503', 'other'];
const widths = [34, 6, 8, 8, 8, 8, 6, 6, 12];
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' ');
console.log(`\nPostern under overload (one process on Redis, Node ${process.version}): ${REFRESH_LOOPS} refresh loops for ${SECONDS} s, then ${LINK_REQUESTS} link requests at once ×${BURSTS}; ${PROBERS} probers per path, each every ${PROBE_MS} ms\n`);
for (const [name, recorder] of runs) {
  console.log(`load shedding ${name}`);
  console.log(line(cols));
  for (const [route, samples] of recorder.samples) {
    const s = summary(samples);
    console.log(line([route, String(s.n), s.p50.toFixed(1), s.p99.toFixed(1), s.max.toFixed(1), String(s.ok), String(s.s429), String(s.s503), s.other]));
  }
  traceSummary(recorder);
  console.log('');
}
