// A process that cannot start says why in one line and exits 1: no stack trace for an
// operator to read through, whatever failed after the store connected or at listening.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createServer, type Server } from 'node:http';
import { ADMIN_TOKEN } from '../helpers/harness.ts';
import { Instance } from '../helpers/instance.ts';
import { freePort, RedisServer } from '../helpers/redis-server.ts';

const SECRETS = {
  NODE_ENV: 'test',
  ADMIN_TOKEN,
  COOKIE_SECRETS: 'startup-cookie-secret-0123456789abcdef0123456789',
  KEY_ENCRYPTION_KEY: '0bfa2c42f094b808c5f8abd4e47c04e19c0ee9e55406189d8cc643de65db932c',
  LOG_FORMAT: 'json',
};

/** Lines of a stack trace (`    at f (file:line)`). */
const STACK_LINE = /^\s+at /m;

/** Starts an instance expected to fail; its output, once it has exited 1 without a stack trace. */
async function failedStart(env: Record<string, string>, port: number): Promise<string> {
  const instance = new Instance(port, { ...SECRETS, PUBLIC_URL: `http://localhost:${port}`, ...env });
  const failure = await instance.start().then(
    () => undefined,
    (err: Error) => err,
  );
  expect(failure, 'the instance started').not.to.equal(undefined);
  // Its exit can be seen before the last of its output is read: wait for the line itself.
  await instance.printed(/Cannot start: /);
  expect(await instance.kill()).to.equal(1);
  expect(instance.output).not.to.match(STACK_LINE);
  return instance.output;
}

describe('start-up failures', function () {
  this.timeout(30_000);
  const redis = new RedisServer();
  before(() => redis.start());
  after(() => redis.destroy());

  it('Redis answers, but refuses what start-up needs (an ACL user without the rights): one line naming Redis and the refusal, exit 1', async () => {
    const admin = new Redis(redis.url);
    try {
      // Allowed to connect and to answer the ready check and ROLE, nothing else.
      await admin.call('ACL', 'SETUSER', 'limited', 'on', '>limited-secret', '~*', '&*', '-@all', '+@connection', '+info', '+role');
    } finally {
      admin.disconnect();
    }
    const output = await failedStart({ REDIS_URL: `redis://limited:limited-secret@127.0.0.1:${redis.port}` }, await freePort());
    expect(output).to.match(/Cannot start: redis refuses what Postern needs \(NOPERM[^\n]*\)\. Check REDIS_URL\./);
    expect(output).not.to.include('limited-secret');
  });

  it('a wrong Redis password: refused, not "unavailable", and the password is not printed', async () => {
    const output = await failedStart({ REDIS_URL: `redis://nobody:wrong-secret@127.0.0.1:${redis.port}` }, await freePort());
    expect(output).to.match(/Cannot start: redis refuses what Postern needs \(WRONGPASS[^\n]*\)\. Check REDIS_URL\./);
    expect(output).not.to.include('wrong-secret');
  });

  it('REDIS_URL names a read-only replica: refused, naming the replica', async () => {
    const replica = await new RedisServer().start();
    const toReplica = new Redis(replica.url);
    try {
      await toReplica.replicaof('127.0.0.1', redis.port);
      const output = await failedStart({ REDIS_URL: replica.url }, await freePort());
      expect(output).to.match(/Cannot start: redis refuses what Postern needs \(REDIS_URL names a read-only replica \(ROLE answers slave\)[^\n]*\)\. Check REDIS_URL\./);
    } finally {
      toReplica.disconnect();
      await replica.destroy();
    }
  });

  it('nothing listens at REDIS_URL: unavailable, with the connection\'s reason', async () => {
    const output = await failedStart({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` }, await freePort());
    expect(output).to.match(/Cannot start: redis is unavailable \([^\n]*ECONNREFUSED[^\n]*\)\. Check REDIS_URL\./);
  });

  it('its port is taken: one line naming the port, exit 1', async () => {
    const port = await freePort();
    // Whoever holds the port answers, but never 200: the instance is not mistaken for up.
    const taken: Server = createServer((_req, res) => res.writeHead(503).end());
    await new Promise<void>((resolve) => taken.listen(port, resolve));
    try {
      const output = await failedStart({}, port);
      expect(output).to.include(`Cannot start: port ${port} is in use by another process. Check PORT.`);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
