// A real redis-server (Debian's package) on a free port, with AOF persistence in a
// temporary directory, started and stopped by the tests themselves.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import type { Pem, TlsFiles } from './tls-files.ts';

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

/** A Redis that speaks TLS only (no plain-text port). */
export interface RedisTlsOptions {
  readonly files: TlsFiles;
  /** The certificate Redis presents (default: files.serverCert, signed by files.ca for 127.0.0.1 and localhost). */
  readonly presents?: { readonly cert: Pem; readonly key: Pem };
  /** Clients must present a certificate signed by files.ca (`tls-auth-clients yes`, Redis's default once TLS is on). */
  readonly requireClientCert?: boolean;
}

export class RedisServer {
  port = 0;
  /** True between `pause()` and `resume()`. */
  paused = false;
  readonly dir = mkdtempSync(join(tmpdir(), 'postern-redis-'));
  readonly #tls: RedisTlsOptions | undefined;
  #child: ChildProcess | undefined;

  constructor(options: { tls?: RedisTlsOptions } = {}) {
    this.#tls = options.tls;
  }

  get url(): string {
    return `${this.#tls ? 'rediss' : 'redis'}://127.0.0.1:${this.port}`;
  }

  #listenArgs(): string[] {
    const tls = this.#tls;
    if (!tls) return ['--port', String(this.port)];
    const { cert, key } = tls.presents ?? { cert: tls.files.serverCert, key: tls.files.serverKey };
    return ['--port', '0', '--tls-port', String(this.port), '--tls-cert-file', cert.path, '--tls-key-file', key.path,
      '--tls-ca-cert-file', tls.files.ca.path, '--tls-auth-clients', tls.requireClientCert ? 'yes' : 'no'];
  }

  /** How the start-up poll connects: over TLS it only waits for the server, so it checks no certificate. */
  #pollTls(): RedisOptions['tls'] {
    const tls = this.#tls;
    if (!tls) return undefined;
    return { rejectUnauthorized: false, ...(tls.requireClientCert && { cert: tls.files.clientCert.text, key: tls.files.clientKey.text }) };
  }

  async start(port?: number): Promise<this> {
    this.port = port ?? this.port ?? 0;
    if (!this.port) this.port = await freePort();
    this.#child = spawn(
      'redis-server',
      [...this.#listenArgs(), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir],
      { stdio: 'ignore' },
    );
    const tls = this.#pollTls();
    const client = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, ...(tls && { tls }) });
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
