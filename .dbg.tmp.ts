import { Harness } from './test/helpers/harness.ts';
import { RedisServer } from './test/helpers/redis-server.ts';
const redis = await new RedisServer().start();
const h = await new Harness().start({ REDIS_URL: redis.url, LOG_LEVEL: 'warn' });
const app = await h.createApp({ max_links_per_address: 1000, max_links_per_ip: 100000, max_links_per_app: 10000000 });
try {
  for (let b = 0; b < 4; b++) {
    await Promise.all(Array.from({ length: 20 }, (_, i) => h.signIn(app, `dbg-${b}-${i}@example.com`, { scope: 'openid offline_access' })));
    console.log('batch', b, 'ok');
  }
} catch (e) { console.log('FAIL', String(e).slice(0, 200)); console.log(h.logs.filter((l) => !l.includes('"audit"')).slice(-10).join('\n')); }
await h.stop(); await redis.destroy(); process.exit(0);
