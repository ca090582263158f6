// The Redis client of the command connection: ioredis with two of its per-command costs
// replaced by per-turn ones, the behaviour unchanged.
//
// - One socket write per iteration of the event loop. Each write to Redis costs this process
//   about as much as building the command, so the commands of one turn (a request's
//   parallel look-ups, the audit append beside a write, other requests' commands) must
//   leave together. ioredis's auto-pipelining does that by building a Pipeline per batch
//   (an object, a promise and a reply array per turn, a hop per command); corking the
//   socket for the rest of the turn gives the same single write for none of that.
// - One timer for every command's deadline. ioredis's `commandTimeout` arms a timer per
//   command and clears it on the reply (and leaves the command object slow to use after
//   deleting the timer's field); here each command's send time goes into a queue, in the
//   order sent, and one timer fires at the oldest pending command's deadline. Redis
//   answers a connection's commands in order, so answered ones leave the front of the
//   queue as new ones are sent and the queue holds about what is in flight. The deadline
//   is the same: a command not answered `deadlineMs` after it was sent is rejected with
//   ioredis's own "Command timed out", exactly as `commandTimeout` would have rejected it.
import { performance } from 'node:perf_hooks';
import { Redis, type RedisOptions } from 'ioredis';

type Command = Parameters<Redis['sendCommand']>[0];

/** Compacting the queue's arrays once this many answered commands sit before its head. */
const COMPACT_AFTER = 1_024;

export class TurnBatchedRedis extends Redis {
  readonly #deadlineMs: number;
  #corked = false;
  /** Commands in the order sent, from #head on; #sentAt holds each one's send time. */
  #sent: (Command | undefined)[] = [];
  #sentAt: number[] = [];
  #head = 0;
  #timer: NodeJS.Timeout | undefined;

  /** `deadlineMs` is every command's deadline; `options` cannot turn on ioredis's own deadlines or auto-pipelining. */
  constructor(url: string, options: RedisOptions, deadlineMs: number) {
    super(url, { ...options, commandTimeout: undefined, enableAutoPipelining: false });
    this.#deadlineMs = deadlineMs;
  }

  override sendCommand(command: Command, stream?: Parameters<Redis['sendCommand']>[1]): unknown {
    this.#corkForThisTurn();
    const sent = super.sendCommand(command, stream);
    // Anything else was rejected at once (connection down, no offline queue).
    if (this.status === 'ready' || this.status === 'connect') this.#track(command);
    return sent;
  }

  #corkForThisTurn() {
    const socket = this.stream as typeof this.stream | undefined;
    if (this.#corked || !socket?.writable) return;
    this.#corked = true;
    socket.cork();
    // Uncorked once this loop iteration's I/O callbacks have run, as auto-pipelining
    // flushed its batches: the commands of every request and reply handled in it leave together.
    setImmediate(() => {
      this.#corked = false;
      socket.uncork();
    });
  }

  #track(command: Command) {
    // Answered commands at the front leave now: Redis answers in order, so this keeps the
    // queue to what is in flight (a command rejected by an error reply waits for its deadline).
    while (this.#head < this.#sent.length && this.#sent[this.#head]!.isResolved) this.#sent[this.#head++] = undefined;
    this.#compact();
    this.#sent.push(command);
    this.#sentAt.push(performance.now());
    this.#timer ??= this.#arm(this.#deadlineMs);
  }

  #arm(ms: number): NodeJS.Timeout {
    // Unref'd: a deadline matters only to a caller waiting for the reply, which keeps the process up.
    return setTimeout(this.#expireAfterIo, Math.max(0, Math.ceil(ms))).unref();
  }

  /**
   * The expiry pass runs once this loop iteration has read its sockets: after a stall of the
   * loop (a long synchronous task, a paused VM) the timer fires before the replies that
   * arrived meanwhile are read, and would reject commands Redis had answered in time.
   */
  readonly #expireAfterIo = () => void setImmediate(() => this.#expire());

  #expire() {
    this.#timer = undefined;
    const now = performance.now();
    while (this.#head < this.#sent.length) {
      const command = this.#sent[this.#head]!;
      if (!command.isResolved) {
        const left = this.#sentAt[this.#head]! + this.#deadlineMs - now;
        if (left > 0) {
          this.#timer = this.#arm(left);
          break;
        }
        command.reject(new Error('Command timed out'));
      }
      this.#sent[this.#head++] = undefined;
    }
    this.#compact();
  }

  #compact() {
    if (this.#head === this.#sent.length) {
      this.#sent.length = 0;
      this.#sentAt.length = 0;
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#sent.length) {
      this.#sent = this.#sent.slice(this.#head);
      this.#sentAt = this.#sentAt.slice(this.#head);
      this.#head = 0;
    }
  }
}
