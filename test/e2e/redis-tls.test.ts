// Redis over TLS, against real redis-servers that speak TLS only, with certificates the
// system's openssl made for the test: a rediss:// REDIS_URL carries a whole sign-in; it never
// speaks in the clear, whatever the case of its scheme; it refuses a Redis its CAs do not
// vouch for or whose certificate names another host; it presents a client certificate to a
// Redis that asks for one; it reconnects over TLS after a Redis restart; and the real process
// says why it cannot start.
import { expect } from 'chai';
import { createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/log.ts';
import { openStores, type StorageSettings } from '../../src/storage/open-stores.ts';
import { StoreUnavailableError, type Stores } from '../../src/storage/ports.ts';
import { keys } from '../../src/storage/redis/redis-keys.ts';
import { ADMIN_TOKEN, Harness } from '../helpers/harness.ts';
import { Instance } from '../helpers/instance.ts';
import { freePort, RedisServer } from '../helpers/redis-server.ts';
import { makeTlsFiles, type TlsFiles } from '../helpers/tls-files.ts';

const silent = createLogger('silent');

/** Opens the stores as main.ts would, or answers the error that refused them. */
async function open(settings: Omit<StorageSettings, 'mongodbUri' | 'storeTimeoutMs'>): Promise<Stores | Error> {
  try {
    return await openStores({ mongodbUri: undefined, storeTimeoutMs: 2_000, ...settings }, silent);
  } catch (err) {
    return err as Error;
  }
}

/** What a refusal says about its cause (main.ts prints it beside "redis is unavailable"). */
const why = (refused: Stores | Error) => String(((refused as Error).cause as Error | undefined)?.message);

/** `url` with its scheme written in another case. */
const schemeAs = (url: string, scheme: string) => url.replace(/^rediss:/, `${scheme}:`);

describe('Redis over TLS (real redis-servers speaking TLS only)', function () {
  this.timeout(60_000);
  let files: TlsFiles;

  before(() => {
    files = makeTlsFiles();
  });
  after(() => files.remove());

  describe('a Redis with a certificate from a private CA', () => {
    let redis: RedisServer;
    const h = new Harness();

    before(async () => {
      redis = await new RedisServer({ tls: { files } }).start();
      await h.start({ REDIS_URL: redis.url, REDIS_TLS_CA: files.ca.text });
    });
    after(async () => {
      await h.stop();
      await redis.destroy();
    });

    it('carries a whole sign-in over rediss:// with REDIS_TLS_CA, and /readyz says ready', async () => {
      const app = await h.createApp();
      const { tokens } = await h.signIn(app, 'alice@example.com');
      expect(tokens.id_token).to.be.a('string');
      expect((await fetch(`${h.url}/readyz`)).status).to.equal(200);
      // The app was written to this Redis, over TLS.
      const reader = new Redis(redis.url, { tls: { ca: files.ca.text } });
      try {
        expect(await reader.hexists(keys.apps, app.app_id)).to.equal(1);
      } finally {
        reader.disconnect();
      }
    });

    it('reconnects over TLS after Redis restarts: writes and sign-ins work again', async () => {
      await redis.stop();
      await redis.start();
      await h.untilReady();
      const app = await h.createApp();
      const { tokens } = await h.signIn(app, 'bob@example.com');
      expect(tokens.access_token).to.be.a('string');
    });

    for (const scheme of ['REDISS', 'Rediss']) {
      it(`speaks TLS to ${scheme}://… too (ioredis alone turns TLS on for "rediss://" as written only)`, async () => {
        const stores = await open({ redisUrl: schemeAs(redis.url, scheme), redisTlsCa: files.ca.text });
        expect(stores).not.to.be.instanceOf(Error);
        try {
          await (stores as Stores).ping();
        } finally {
          await (stores as Stores).close();
        }
      });
    }

    it('refuses it without REDIS_TLS_CA: the public CAs built into Node do not vouch for a private one', async () => {
      const refused = await open({ redisUrl: redis.url });
      expect(refused).to.be.instanceOf(StoreUnavailableError);
      expect(why(refused)).to.match(/certificate/i);
    });
  });

  describe('a Redis whose certificate should not be trusted', () => {
    it('refuses a certificate from a CA that REDIS_TLS_CA does not name', async () => {
      const redis = await new RedisServer({ tls: { files, presents: { cert: files.otherServerCert, key: files.otherServerKey } } }).start();
      try {
        const refused = await open({ redisUrl: redis.url, redisTlsCa: files.ca.text });
        expect(refused).to.be.instanceOf(StoreUnavailableError);
        expect(why(refused)).to.match(/certificate/i);
      } finally {
        await redis.destroy();
      }
    });

    it('refuses a certificate from the right CA that names another host', async () => {
      const redis = await new RedisServer({ tls: { files, presents: { cert: files.wrongNameCert, key: files.wrongNameKey } } }).start();
      try {
        const refused = await open({ redisUrl: redis.url, redisTlsCa: files.ca.text });
        expect(refused).to.be.instanceOf(StoreUnavailableError);
        expect(why(refused)).to.match(/altnames|does not match|127\.0\.0\.1/i);
      } finally {
        await redis.destroy();
      }
    });
  });

  describe('an endpoint that answers in the clear', () => {
    let server: Server;
    let port = 0;
    const received: Buffer[] = [];

    before(async () => {
      // Records the first bytes of every connection, then hangs up: what a rediss:// URL
      // pointed at a plain-text port (or an attacker's) gets to read.
      server = createServer((socket: Socket) => {
        socket.once('data', (chunk: Buffer) => {
          received.push(chunk);
          socket.destroy();
        });
      });
      port = await freePort();
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    });
    after(() => new Promise((resolve) => server.close(resolve)));

    for (const scheme of ['rediss', 'REDISS', 'Rediss']) {
      it(`${scheme}://: the first bytes sent are a TLS handshake, never a command or the password`, async () => {
        received.length = 0;
        const refused = await open({ redisUrl: `${scheme}://:clear-text-password@127.0.0.1:${port}`, redisTlsCa: files.ca.text });
        expect(refused).to.be.instanceOf(StoreUnavailableError);
        expect(received).to.have.length.greaterThan(0);
        for (const chunk of received) {
          expect(chunk[0], 'a TLS handshake record').to.equal(0x16);
          expect(chunk.toString('latin1')).not.to.include('clear-text-password');
          expect(chunk.toString('latin1')).not.to.match(/AUTH|HELLO|PING/);
        }
      });
    }
  });

  describe('a Redis that asks for a client certificate (tls-auth-clients yes)', () => {
    let redis: RedisServer;

    before(async () => {
      redis = await new RedisServer({ tls: { files, requireClientCert: true } }).start();
    });
    after(() => redis.destroy());

    it('refuses Postern without REDIS_TLS_CERT and REDIS_TLS_KEY', async () => {
      const refused = await open({ redisUrl: redis.url, redisTlsCa: files.ca.text });
      expect(refused).to.be.instanceOf(StoreUnavailableError);
    });

    it('accepts it with them: a whole sign-in works', async () => {
      const h = new Harness();
      await h.start({ REDIS_URL: redis.url, REDIS_TLS_CA: files.ca.text, REDIS_TLS_CERT: files.clientCert.text, REDIS_TLS_KEY: files.clientKey.text });
      try {
        const app = await h.createApp();
        const { tokens } = await h.signIn(app, 'carol@example.com');
        expect(tokens.id_token).to.be.a('string');
      } finally {
        await h.stop();
      }
    });
  });

  describe('the real process (src/main.ts), with the settings given as files', () => {
    let redis: RedisServer;

    before(async () => {
      redis = await new RedisServer({ tls: { files, requireClientCert: true } }).start();
    });
    after(() => redis.destroy());

    const env = (extra: Record<string, string>) => ({
      NODE_ENV: 'test',
      ADMIN_TOKEN,
      COOKIE_SECRETS: 'tls-cookie-secret-0123456789abcdef0123456789',
      KEY_ENCRYPTION_KEY: '0bfa2c42f094b808c5f8abd4e47c04e19c0ee9e55406189d8cc643de65db932c',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      REDIS_URL: redis.url,
      ...extra,
    });

    it('starts with REDIS_TLS_CA_FILE, REDIS_TLS_CERT_FILE and REDIS_TLS_KEY_FILE, and is ready', async () => {
      const port = await freePort();
      const instance = new Instance(port, {
        ...env({ REDIS_TLS_CA_FILE: files.ca.path, REDIS_TLS_CERT_FILE: files.clientCert.path, REDIS_TLS_KEY_FILE: files.clientKey.path }),
        PUBLIC_URL: `http://localhost:${port}`,
      });
      try {
        await instance.start();
        expect((await fetch(`${instance.url}/readyz`)).status).to.equal(200);
        const created = await fetch(`${instance.url}/admin/apps`, {
          method: 'POST',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({ name: 'Over TLS', redirect_uris: ['http://localhost:8080/callback'] }),
        });
        expect(created.status).to.equal(201);
      } finally {
        await instance.kill('SIGTERM');
      }
    });

    it('refuses to start when its CA does not vouch for Redis, saying why', async () => {
      const port = await freePort();
      const instance = new Instance(port, {
        ...env({ REDIS_TLS_CA_FILE: files.otherCa.path, REDIS_TLS_CERT_FILE: files.clientCert.path, REDIS_TLS_KEY_FILE: files.clientKey.path }),
        PUBLIC_URL: `http://localhost:${port}`,
      });
      const failed = await instance.start().then(
        () => undefined,
        (err: Error) => err,
      );
      await instance.kill();
      expect(failed?.message).to.match(/Cannot start: redis is unavailable \(.*certificate/i);
    });
  });
});
