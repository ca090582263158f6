// Composition root: load config → open stores → mailer → server → listen.
import { getHeapStatistics } from 'node:v8';
import { heapTooSmall } from './tenancy/heap-budget.ts';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { ConfigError, loadConfig, type Config } from '../config/load.ts';
import { Connections, MAX_UNANSWERED_PER_CONNECTION } from './http/connections.ts';
import { loadEs512Signer, SignerUnavailableError, type Es512Signer } from './keys/native-signer.ts';
import { createLogger, type Logger } from './log.ts';
import { DevMailbox } from './mail/dev-mailbox.ts';
import type { Mailer } from './mail/mailer.ts';
import { createSmtpMailer, dkimKeyOf } from './mail/smtp-mailer.ts';
import { buildServer } from './server.ts';
import { openStores } from './storage/open-stores.ts';
import { StoreUnavailableError } from './storage/ports.ts';

function openMailer(config: Config, logger: Logger): Mailer {
  if (config.smtpUrl) return createSmtpMailer(config.smtpUrl, config.mailFrom, undefined, dkimKeyOf(config));
  // Development only (loadConfig requires SMTP_URL in production).
  return new DevMailbox((mail) => {
    logger.warn('development mail (no SMTP_URL): not sent, shown here and at /dev/mailbox', {
      to: mail.to,
      subject: mail.subject,
      text: mail.text,
    });
  });
}

function banner(config: Config): string {
  const lines = ['', 'Postern is running (development).', ''];
  if (config.generated.includes('ADMIN_TOKEN')) {
    lines.push(`  Admin token (generated for this run; set ADMIN_TOKEN to keep one): ${config.adminToken}`, '');
  }
  // Pasted into a POSIX shell as printed: a token generated for this run is written out
  // (it is no secret worth keeping and dies with the process); a token the operator set is
  // never printed, and the double quotes let the shell expand $ADMIN_TOKEN.
  const token = config.generated.includes('ADMIN_TOKEN') ? config.adminToken : '$ADMIN_TOKEN';
  lines.push(
    '  Create an app:',
    `    curl -s -X POST ${config.publicUrl}/admin/apps \\`,
    `      -H "Authorization: Bearer ${token}" \\`,
    `      -H 'Content-Type: application/json' \\`,
    `      -d '{"name":"My App","redirect_uris":["http://localhost:8080/callback"]}'`,
    '',
    `  What is running, its apps and the admin API's routes: ${config.publicUrl}/`,
    '',
  );
  if (!config.smtpUrl) lines.push(`  Sign-in mail (no SMTP_URL set): ${config.publicUrl}/dev/mailbox`, '');
  if (!config.metricsToken) lines.push(`  Metrics, open to anyone who reaches this port (set METRICS_TOKEN to require a token): ${config.publicUrl}/metrics`, '');
  if (config.generated.length) {
    lines.push(`  Generated for this run only: ${config.generated.join(', ')}. Data is in memory and lost on exit.`, '');
  }
  return lines.join('\n');
}

async function main() {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const heapShort = heapTooSmall(config.providerCacheMb, getHeapStatistics().heap_size_limit);
  if (heapShort) {
    process.stderr.write(`Cannot start: ${heapShort}\n`);
    process.exit(1);
  }
  const logger = createLogger(config.logLevel, undefined, { format: config.logFormat, color: process.stdout.isTTY });
  if (config.generated.length) {
    logger.warn('secrets missing: generated for this run (development only)', { settings: config.generated });
  }
  let es512: Es512Signer;
  try {
    es512 = await loadEs512Signer(config.es512Signer, logger);
  } catch (err) {
    if (err instanceof SignerUnavailableError) {
      process.stderr.write(`Cannot start: ${err.message}. Run \`npm run build:native\`, or set ES512_SIGNER=auto to fall back to Node's crypto.\n`);
      process.exit(1);
    }
    throw err;
  }
  let stores;
  try {
    stores = await openStores(config, logger);
  } catch (err) {
    if (err instanceof StoreUnavailableError) {
      process.stderr.write(`Cannot start: ${err.message} (${String((err.cause as Error)?.message ?? err.cause)}). Check ${err.store === 'redis' ? redisSettings(config.redisUrl) : 'MONGODB_URI'}.\n`);
      process.exit(1);
    }
    throw err;
  }
  logger.info('storage', { kind: stores.kind });
  const mailer = openMailer(config, logger);
  const server = buildServer({ config, stores, mailer, logger, es512 });
  // Node checks requestTimeout and headersTimeout this often (30 s by default), so a slow
  // client would keep its connection up to that much longer than they allow.
  const http = createServer({ connectionsCheckingInterval: 2_000 });
  const connections = new Connections(http);
  const refusePipelineFlood = (socket: Socket) =>
    logger.warn('connection closed: too many requests not yet answered', { remote_address: socket.remoteAddress, limit: MAX_UNANSWERED_PER_CONNECTION });
  http.on('request', connections.track(server.app.callback(), refusePipelineFlood));
  http.requestTimeout = 30_000;
  http.headersTimeout = 20_000;
  // A connection on which nothing moves for a minute while a request is in progress (a
  // client that stopped reading its answers) is closed; no request of Postern's waits that
  // long (store commands and the drain have their own, shorter deadlines).
  http.timeout = 60_000;
  // Longer than a load balancer's idle timeout (60 s on common ones), so the balancer, not
  // Postern, closes an idle connection: closing it here could race a request being sent.
  http.keepAliveTimeout = 65_000;

  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(config.port, resolve);
    });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? 'is in use by another process' : code === 'EACCES' ? 'needs privileges this process lacks' : `cannot be listened on (${(err as Error).message})`;
    process.stderr.write(`Cannot start: port ${config.port} ${why}. Check PORT.\n`);
    await Promise.allSettled([stores.close(), mailer.close()]);
    process.exit(1);
  }
  server.phase = 'ready';
  server.keyRotation.start();
  server.appDeletions.start(); // deletions a stopped instance left unfinished
  server.mailQueue.start(); // mail a stopped instance left in the outbox
  server.backchannel.start(); // and back-channel logouts
  // A warning, never a refusal: mail waits in the outbox until the server answers.
  void server.mailHealth.check();
  logger.info('listening', { port: config.port, public_url: config.publicUrl, env: config.env });
  // Metrics without a token: open outside production, not served in production (metrics-endpoint.ts).
  if (!config.metricsToken) logger.info(config.env === 'production' ? 'metrics off: set METRICS_TOKEN to serve /metrics' : 'metrics open at /metrics without a token (development)');
  if (config.env === 'development') process.stdout.write(`${banner(config)}\n`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    // Readiness turns 503 and new connections are refused at once; requests in progress
    // finish (Connections), then mail and back-channel logouts being delivered, all
    // within SHUTDOWN_TIMEOUT_SECONDS; the process exits as soon as all are done. What is not
    // delivered by then stays in its outbox for another instance (with the memory store it
    // is reported failed: the outbox dies with us).
    server.phase = 'stopping';
    server.loadShedding.close(); // requests waiting for their turn get their 503 now
    // No new pass of key upkeep or deletion sweeping; one in progress ends after its unit.
    const upkeepStopped = Promise.all([server.keyRotation.stop(), server.appDeletions.stop()]);
    const until = performance.now() + config.shutdownTimeoutSeconds * 1000;
    const left = () => Math.max(0, until - performance.now());
    logger.info('shutting down', { signal, timeout_seconds: config.shutdownTimeoutSeconds });
    const cut = await connections.close(left());
    if (cut) logger.warn('requests still running at the shutdown timeout were cut', { requests: cut });
    await Promise.all([server.mailQueue.drain(left()), server.backchannel.drain(left())]);
    // Audit events of the last requests and delivery outcomes: a moment even past the timeout.
    await Promise.race([server.audit.flushed(), new Promise((r) => setTimeout(r, Math.max(left(), 1_000)).unref())]);
    // A purge in progress is bounded by the store's deadlines, but not waited past the timeout
    // (its mark stays, and another instance finishes it).
    await Promise.race([upkeepStopped, new Promise((r) => setTimeout(r, left()).unref())]);
    server.readiness.close(); // no ping on a closing connection
    await Promise.allSettled([stores.close(), mailer.close()]);
    logger.info('stopped', { signal });
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

await main();

/** The settings that decide how Postern reaches Redis: with rediss://, its TLS ones too. */
function redisSettings(redisUrl: string | undefined): string {
  return URL.parse(redisUrl ?? '')?.protocol === 'rediss:' ? 'REDIS_URL and REDIS_TLS_CA (REDIS_TLS_CERT and REDIS_TLS_KEY where Redis asks for a client certificate)' : 'REDIS_URL';
}
