import { createServer, connect, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { Harness } from '../test/helpers/harness.ts';
import { RedisServer } from '../test/helpers/redis-server.ts';

const a = await new RedisServer().start();
const b = await new RedisServer().start();
let target = a.port;
const sockets = new Set<Socket>();
const proxy = createServer((client) => {
  const upstream = connect(target, '127.0.0.1');
  client.pipe(upstream).pipe(client);
  const close = () => { client.destroy(); upstream.destroy(); };
  client.on('error', close); upstream.on('error', close); client.on('close', close); upstream.on('close', close);
});
await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
const proxyUrl = `redis://127.0.0.1:${(proxy.address() as any).port}`;
const ra = new Redis(a.url), rb = new Redis(b.url);
await rb.replicaof('127.0.0.1', a.port);
const h = new Harness();
await h.start({ REDIS_URL: proxyUrl });
const app = await h.createApp({ name: 'one' });
console.log('created', app.app_id);
// wait for replication
await new Promise((r) => setTimeout(r, 1500));
console.log((await rb.info('replication')).split('\n').slice(0,6).join(' | '));
console.log('b has', await rb.dbsize(), 'a has', await ra.dbsize());
// failover: promote b, demote a, endpoint now b
await rb.replicaof('NO', 'ONE');
await ra.replicaof('127.0.0.1', b.port);
target = b.port;
for (let i = 0; i < 6; i++) {
  let status: unknown;
  try { await h.createApp({ name: `after-${i}` }); status = 'ok'; } catch (e) { status = String(e).slice(0, 150); }
  const ready = await fetch(`${h.url}/readyz`);
  console.log(i, 'create', status, 'readyz', ready.status);
  await new Promise((r) => setTimeout(r, 300));
}
console.log(h.logs.filter((l) => /redis|error/i.test(l)).slice(-5).join('\n'));
await h.stop(); ra.disconnect(); rb.disconnect(); proxy.close(); await a.destroy(); await b.destroy();
process.exit(0);
