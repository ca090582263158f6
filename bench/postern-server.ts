// Postern's src/main.ts as the benchmarks start it: a child process with the measuring
// preload (bench/measure-child.ts), a Harness attached from outside for the admin API and
// the mail, load shedding off and the mailbox limit generous.
import { ADMIN_TOKEN, Harness } from '../test/helpers/harness.ts';
import { freePort, type RedisServer } from '../test/helpers/redis-server.ts';
import { ServerProcess } from './load.ts';

export const POSTERN_ENV = {
  NODE_ENV: 'test',
  ADMIN_TOKEN,
  COOKIE_SECRETS: 'engine-comparison-bench-cookie-secret-0123456789abcdef',
  KEY_ENCRYPTION_KEY: 'd3ec3033d41db89d79e917c41bfaf95c5117ad0cc0a52e279a7bb60194379c03',
  // The benchmark measures work, not the refusals of load shedding and rate limits.
  MAX_EVENT_LOOP_LAG_MS: '0',
  MAX_LINKS_PER_MAILBOX: '100000',
};

export async function startPostern(store: 'memory' | 'redis', redis: RedisServer, extraEnv: Record<string, string> = {}, root?: string): Promise<{ server: ServerProcess; h: Harness; url: string }> {
  const port = await freePort();
  const url = `http://localhost:${port}`;
  const h = await new Harness().attach(url);
  const server = new ServerProcess('src/main.ts', {
    ...POSTERN_ENV,
    PUBLIC_URL: url,
    PORT: String(port),
    SMTP_URL: h.smtp.url,
    ...(store === 'redis' && { REDIS_URL: redis.url }),
    ...extraEnv,
  }, root);
  await server.ready(`${url}/healthz`);
  return { server, h, url };
}

