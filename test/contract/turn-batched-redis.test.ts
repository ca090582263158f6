// The command connection's client against a real redis-server: the commands of one turn
// leave in one socket write, each gets its own reply, and every command has its own
// deadline although one timer serves them all.
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { TurnBatchedRedis } from '../../src/storage/redis/turn-batched-redis.ts';
import { holdEventLoop } from '../helpers/hold-event-loop.ts';
import { RedisServer } from '../helpers/redis-server.ts';

/** Counts the writes `client`'s socket hands to the system (each of its _write/_writev calls), passing each on. */
function countWrites(client: Redis): { count: number } {
  const counter = { count: 0 };
  const socket = client.stream as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
  for (const method of ['_write', '_writev'] as const) {
    const original = socket[method].bind(socket);
    socket[method] = (...args: unknown[]) => {
      counter.count++;
      return original(...args);
    };
  }
  return counter;
}

/** How long `promise` took to reject, and with what. */
async function rejection(promise: Promise<unknown>): Promise<{ ms: number; message: string }> {
  const started = performance.now();
  try {
    await promise;
  } catch (err) {
    return { ms: performance.now() - started, message: (err as Error).message };
  }
  throw new Error('resolved: expected a rejection');
}

describe('the command connection (TurnBatchedRedis)', function () {
  this.timeout(20_000);
  const server = new RedisServer();
  let probe: Redis;
  const clients: Redis[] = [];
  const open = async (deadlineMs: number) => {
    const client = new TurnBatchedRedis(server.url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null }, deadlineMs);
    client.on('error', () => {});
    clients.push(client);
    await client.connect();
    return client;
  };

  before(async () => {
    await server.start();
    probe = new Redis(server.url);
  });
  afterEach(() => {
    server.resume();
    for (const client of clients.splice(0)) client.disconnect();
  });
  after(async () => {
    probe.disconnect();
    await server.destroy();
  });

  it('sends the commands of one turn in one write, each answered with its own reply, scripts and transactions mixed in', async () => {
    const client = await open(2_000);
    await client.set('batched:key', 'v');
    const writes = countWrites(client);
    const answers = await Promise.all([
      ...Array.from({ length: 100 }, (_, i) => (i % 2 ? client.get('batched:key') : client.set(`batched:${i}`, String(i)))),
      client.eval("return redis.call('GET', KEYS[1])", 1, 'batched:key'),
      client.multi().incr('batched:n').incr('batched:n').exec(),
    ]);
    expect(writes.count).to.equal(1);
    answers.slice(0, 100).forEach((answer, i) => expect(answer, `command ${i}`).to.equal(i % 2 ? 'v' : 'OK'));
    expect(answers[100]).to.equal('v');
    expect(answers[101]).to.deep.equal([[null, 1], [null, 2]]);
    expect(await client.get('batched:98')).to.equal('98');
  });

  it('rejects each unanswered command one deadline after it was sent, however many are in flight, with ioredis\'s own error', async () => {
    const deadlineMs = 300;
    const client = await open(deadlineMs);
    server.pause();
    const first = rejection(client.get('frozen:a'));
    await new Promise((r) => setTimeout(r, 150));
    const later = Array.from({ length: 20 }, (_, i) => rejection(client.get(`frozen:${i}`)));
    const [a, ...rest] = await Promise.all([first, ...later]);
    for (const r of [a!, ...rest]) {
      expect(r.message).to.equal('Command timed out');
      // Not before its own deadline (timers fire at most 1 ms early), nor long after it.
      expect(r.ms).to.be.within(deadlineMs - 1, deadlineMs + 700);
    }
  });

  it('never rejects a command Redis answered while this process was stalled past its deadline: the replies waiting are read first', async () => {
    const client = await open(100);
    await client.set('stalled:key', 'v');
    const replies = Promise.allSettled(Array.from({ length: 10 }, () => client.get('stalled:key')));
    // The commands leave at the end of this turn; Redis answers them while the loop is held
    // for ten deadlines (time enough on a busy machine), so the deadline timer and the
    // replies are both due when it lets go.
    await new Promise((r) => setImmediate(r));
    holdEventLoop(1_000);
    expect((await replies).map((r) => (r.status === 'fulfilled' ? r.value : String(r.reason)))).to.deep.equal(Array(10).fill('v'));
  });

  it('never rejects a command Redis answers, over many deadlines of steady traffic and after it', async () => {
    const client = await open(250);
    const failures: string[] = [];
    const until = performance.now() + 1_000;
    let answered = 0;
    while (performance.now() < until) {
      const replies = await Promise.allSettled(Array.from({ length: 20 }, () => client.incr('steady')));
      for (const r of replies) if (r.status === 'rejected') failures.push(String(r.reason));
      answered += replies.length;
    }
    // An idle spell past the deadline: the timer finds nothing pending.
    await new Promise((r) => setTimeout(r, 300));
    expect(failures).to.deep.equal([]);
    expect(Number(await client.get('steady'))).to.equal(answered);
  });
});
