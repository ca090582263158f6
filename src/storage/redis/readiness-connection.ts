// The readiness ping's own connection to Redis. On the command connection a PING would
// wait behind every command sent before it in the same pipeline, so under load /readyz
// would report the application's queue rather than Redis; on a connection of its own it
// waits for Redis alone. Its deadline is the ping's (PING_DEADLINE_MS, not the store
// deadline): a stalled Redis drops this connection after one deadline, and later pings
// fail at once until it is made again, so probes pile nothing up behind a frozen socket.
//
// Ready also means that the command connection is up: while it is being made again after a
// failure, every request's command fails at once, however well this connection answers.
import type { Redis } from 'ioredis';

export class ReadinessConnection {
  readonly #commands: Redis;
  /** Made and closed with the driver's other connections (open-redis.ts). */
  readonly connection: Redis;

  constructor(commands: Redis, connection: Redis) {
    this.#commands = commands;
    this.connection = connection;
  }

  /** 'redis' while the command connection is not ready (every command would fail at once). */
  unreachable(): string | undefined {
    return this.#commands.status === 'ready' ? undefined : 'redis';
  }

  /** Rejects while the command connection is down or Redis does not answer on this one. */
  async ping(): Promise<void> {
    if (this.unreachable()) throw new Error(`the command connection is ${this.#commands.status}`);
    await this.connection.ping();
  }
}
