// Soak benchmark: whole sign-ins (authorize → mail → link → confirm → code → tokens → one
// refresh) at a fixed concurrency for a while, then what they left behind. Prints a table:
// sign-ins per second, process RSS and heap, and per sign-in the bytes and keys each store
// holds, right after the run and once everything a sign-in creates has expired.
//
// Memory store: the server's clock jumps past every lifetime (sessions 14 days, refresh
// chains `refresh_token_max_ttl`) and the store sweeps. Redis keeps real time, so the Redis
// rows show what is still there after the run and how much of it has no expiry at all
// (apps and accounts only; anything else would be a leak).
//
//   npm run bench:soak        (SOAK_SECONDS=30 SOAK_CONCURRENCY=4 by default)
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import * as oidc from 'openid-client';
import { MemoryOidcStore } from '../src/storage/memory/memory-oidc-store.ts';
import { Harness } from '../test/helpers/harness.ts';
import { RedisServer } from '../test/helpers/redis-server.ts';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 30);
const CONCURRENCY = Number(process.env.SOAK_CONCURRENCY ?? 4);
const MAX_TTL = 3600; // refresh chains live an hour, so "after expiry" is an hour and a day away
const LIMITS = { max_links_per_address: 1000, max_links_per_ip: 100000, max_links_per_network: 10000000, max_links_per_app: 10000000 };

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

function heap() {
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

/** Sign-ins for SECONDS at CONCURRENCY; returns how many completed. */
async function soak(h: Harness): Promise<number> {
  const app = await h.createApp({ name: 'Soak App', refresh_token_idle_ttl: MAX_TTL, refresh_token_max_ttl: MAX_TTL, ...LIMITS });
  const deadline = performance.now() + SECONDS * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, worker) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const { config, tokens } = await h.signIn(app, `soak-${worker}-${i}@example.com`, { scope: 'openid offline_access' });
        await oidc.refreshTokenGrant(config, tokens.refresh_token!);
        done++;
      }
    }),
  );
  await h.server.mailQueue.idle();
  return done;
}

const rows: string[][] = [];
const row = (...cells: string[]) => rows.push(cells);

// Memory store.
{
  const h = await new Harness().start({ LOG_LEVEL: 'silent', MAX_LINKS_PER_MAILBOX: '100000' });
  try {
    const before = heap();
    const started = performance.now();
    const n = await soak(h);
    const rate = n / ((performance.now() - started) / 1000);
    const after = heap();
    const docs = () => [...(h.stores.oidc as MemoryOidcStore).apps.values()].reduce((sum, map) => sum + [...map.entries()].length, 0);
    const docsAfter = docs();
    h.clock.travel(15 * 86_400 + MAX_TTL); // past sessions (14 days) and refresh chains
    for (const map of (h.stores.oidc as MemoryOidcStore).apps.values()) map.sweep();
    const expired = heap();
    row('memory', String(n), rate.toFixed(1), mb(after.rss), mb(after.heapUsed), `${((after.heapUsed - before.heapUsed) / n).toFixed(0)} B heap`, `${(docsAfter / n).toFixed(1)} docs`, `${docs()} docs, heap ${mb(expired.heapUsed)}`);
  } finally {
    await h.stop();
  }
}

// Redis.
{
  const redis = await new RedisServer().start();
  const h = await new Harness().start({ LOG_LEVEL: 'silent', MAX_LINKS_PER_MAILBOX: '100000', REDIS_URL: redis.url });
  const client = new Redis(redis.url);
  try {
    const used = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
    const usedBefore = await used();
    const started = performance.now();
    const n = await soak(h);
    const rate = n / ((performance.now() - started) / 1000);
    const after = heap();
    const keys = await client.keys('*');
    const ttls = await Promise.all(keys.map((k) => client.pttl(k)));
    const forever = keys.filter((_, i) => ttls[i] === -1);
    const lasting = forever.filter((k) => !/:account:|^postern:apps$/.test(k)).length;
    row('redis', String(n), rate.toFixed(1), mb(after.rss), mb(after.heapUsed), `${((await used()) - usedBefore) / n | 0} B redis`, `${(keys.length / n).toFixed(1)} keys`, `${forever.length} keys without expiry (${lasting} other than apps/accounts)`);
  } finally {
    client.disconnect();
    await h.stop();
    await redis.destroy();
  }
}

const head = ['store', 'sign-ins', 'per s', 'RSS', 'heap', 'per sign-in', 'held per sign-in', 'after expiry'];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
console.log(`\nPostern soak: ${SECONDS} s at concurrency ${CONCURRENCY}, each sign-in with one refresh (Node ${process.version})\n`);
console.log(line(head));
for (const r of rows) console.log(line(r));
console.log();
