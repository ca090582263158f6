// Benchmark: how long a sign-in link request takes for an address with an account and for
// one without, and how long the whole sign-in and a refresh take. Prints a table. The two
// link-request rows should agree within noise: that is the timing half of the
// no-enumeration promise (the other half is tested in test/security/no-enumeration.test.ts).
//
//   npm run bench:link-timing            (N=200 by default; BENCH_N=1000 npm run bench:link-timing for more)
import { performance } from 'node:perf_hooks';
import * as oidc from 'openid-client';
import { Browser } from '../test/helpers/browser.ts';
import { Harness, type AppJson } from '../test/helpers/harness.ts';

const N = Number(process.env.BENCH_N ?? 200);

function stats(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
  return { n: samples.length, mean, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

async function linkRequest(h: Harness, app: AppJson, email: string): Promise<number> {
  const browser = new Browser();
  const { page } = await h.startLogin(app, browser);
  const form = /<form[^>]*action="([^"]*)"[\s\S]*?name="csrf" value="([^"]*)"/.exec(page.body)!;
  const url = new URL(form[1]!, page.url).href;
  const started = performance.now();
  await browser.request(url, { form: { csrf: form[2]!, email } });
  return performance.now() - started;
}

// Generous limits: the benchmark measures work, not the rate limiter's refusals.
const h = await new Harness().start({ LOG_LEVEL: 'silent', MAX_LINKS_PER_MAILBOX: '100000' });
try {
  const app = await h.createApp({ max_links_per_address: 1000, max_links_per_ip: 100000, max_links_per_network: 10000000, max_links_per_app: 10000000 });
  await h.signIn(app, 'known@example.com');
  const rows: [string, ReturnType<typeof stats>][] = [];

  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < N; i++) {
    // Interleaved, so drift (GC, JIT warm-up) hits both the same way.
    known.push(await linkRequest(h, app, 'known@example.com'));
    unknown.push(await linkRequest(h, app, `unknown-${i}@example.com`));
  }
  rows.push(['link request, known address', stats(known)], ['link request, unknown address', stats(unknown)]);
  await h.server.mailQueue.idle(); // let the queued mail go before timing whole flows

  const signIns: number[] = [];
  const refreshes: number[] = [];
  for (let i = 0; i < Math.max(10, N / 10); i++) {
    const started = performance.now();
    const { config, tokens } = await h.signIn(app, `flow-${i}@example.com`, { scope: 'openid offline_access' });
    signIns.push(performance.now() - started);
    const t = performance.now();
    await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    refreshes.push(performance.now() - t);
  }
  rows.push(['whole sign-in (6 HTTP round trips + mail)', stats(signIns)], ['refresh token grant', stats(refreshes)]);

  const pad = (s: string, n: number) => s.padEnd(n);
  const num = (v: number) => v.toFixed(2).padStart(9);
  console.log(`\nPostern benchmark (in-process, memory store, Node ${process.version})\n`);
  console.log(`${pad('operation', 44)} ${'n'.padStart(5)} ${'mean ms'.padStart(9)} ${'p50 ms'.padStart(9)} ${'p95 ms'.padStart(9)} ${'p99 ms'.padStart(9)}`);
  for (const [name, s] of rows) {
    console.log(`${pad(name, 44)} ${String(s.n).padStart(5)} ${num(s.mean)} ${num(s.p50)} ${num(s.p95)} ${num(s.p99)}`);
  }
  const [k, u] = [rows[0]![1], rows[1]![1]];
  console.log(`\nknown - unknown: p50 ${(k.p50 - u.p50).toFixed(2)} ms, mean ${(k.mean - u.mean).toFixed(2)} ms\n`);
} finally {
  await h.server.mailQueue.idle();
  await h.stop();
}
