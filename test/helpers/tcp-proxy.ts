// A TCP endpoint that forwards each new connection to whichever local port it names at the
// time, as a managed Redis's primary endpoint (a DNS name, a proxy) does across a
// failover: connections made before a switch stay with the old server.
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export class TcpProxy {
  /** Where new connections go. */
  target: number;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  /**
   * `delayOf`: how long to hold each chunk a client sends before it goes on (0: at once);
   * chunks keep their order. Lets a test slow down one command, such as a SUBSCRIBE.
   */
  constructor(target: number, delayOf: (chunk: Buffer) => number = () => 0) {
    this.target = target;
    this.#server = createServer((client) => {
      const upstream = connect(this.target, '127.0.0.1');
      for (const socket of [client, upstream]) {
        this.#sockets.add(socket);
        socket.on('close', () => {
          this.#sockets.delete(socket);
          client.destroy();
          upstream.destroy();
        });
        socket.on('error', () => socket.destroy());
      }
      let sent = Promise.resolve();
      client.on('data', (chunk: Buffer) => {
        const delay = delayOf(chunk);
        sent = sent.then(() => (delay > 0 ? new Promise((r) => setTimeout(r, delay)) : undefined)).then(() => {
          upstream.write(chunk);
        });
      });
      upstream.pipe(client);
    });
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return this;
  }

  /** The endpoint as a Redis URL. */
  get redisUrl(): string {
    return `redis://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }
}
