// A real redis-server (Debian's package) on a free port, with AOF persistence in a
// temporary directory, started and stopped by the tests themselves.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export class RedisServer {
  port = 0;
  /** True between `pause()` and `resume()`. */
  paused = false;
  readonly dir = mkdtempSync(join(tmpdir(), 'postern-redis-'));
  #child: ChildProcess | undefined;

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(port?: number): Promise<this> {
    this.port = port ?? this.port ?? 0;
    if (!this.port) this.port = await freePort();
    this.#child = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir],
      { stdio: 'ignore' },
    );
    const client = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => {}); // refused until the server is up: expected while polling
    for (let i = 0; i < 100; i++) {
      try {
        await client.connect();
        await client.ping();
        client.disconnect();
        return this;
      } catch {
        client.disconnect();
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error('redis-server did not start (is the redis-server package installed?)');
  }

  /** Stops the server (SIGTERM: AOF is flushed); `start()` again reuses port and data. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    this.resume(); // a paused process would not act on SIGTERM
    child.kill('SIGTERM');
    await exited;
  }

  /** Kills the server with SIGKILL (what AOF with appendfsync always survives); `start()` again reuses port and data. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  /**
   * Freezes the server (SIGSTOP): connections stay open and the kernel still accepts and
   * buffers what clients send, but nothing is answered until `resume()`, as with a Redis
   * stuck in a long command, swapping, or paused by its host.
   */
  pause(): void {
    this.#signal('SIGSTOP');
    this.paused = true;
  }

  /** Lets a paused server run again (SIGCONT); it then answers everything buffered meanwhile. */
  resume(): void {
    if (!this.paused) return;
    this.#signal('SIGCONT');
    this.paused = false;
  }

  #signal(signal: NodeJS.Signals): void {
    const child = this.#child;
    if (!child || child.exitCode !== null || !child.kill(signal)) throw new Error(`redis-server is not running: cannot send ${signal}`);
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
