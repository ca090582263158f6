// The endpoints a client hosts that the OP calls itself: a request object it publishes at
// a request_uri, and its back-channel logout URI. A real HTTP server on a free loopback
// port, like the test client of the official suite.
import type { AddressInfo } from 'node:net';
import { createServer, type IncomingMessage, type Server } from 'node:http';

export interface Received {
  readonly method: string;
  readonly contentType: string | undefined;
  readonly body: string;
}

export class ClientEndpoints {
  readonly #server: Server;
  readonly #documents = new Map<string, { type: string; body: string }>();
  readonly #received = new Map<string, Received[]>();
  readonly #waiters = new Map<string, (() => void)[]>();
  #base = '';

  constructor() {
    this.#server = createServer((req, res) => {
      void this.#handle(req).then(({ status, type, body }) => {
        // Back-Channel Logout §2.8: the RP's answer is not cached.
        res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
        res.end(body);
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#base = `http://localhost:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  url(path: string): string {
    return `${this.#base}${path}`;
  }

  /** Serves `body` at `path` (GET). */
  publish(path: string, type: string, body: string): string {
    this.#documents.set(path, { type, body });
    return this.url(path);
  }

  /** Requests received at `path` so far (POSTs, and GETs of published documents). */
  received(path: string): readonly Received[] {
    return this.#received.get(path) ?? [];
  }

  /** Resolves with the `count`-th request to `path` once it has arrived; rejects after `ms`. */
  async arrival(path: string, count: number, ms: number): Promise<Received> {
    const deadline = AbortSignal.timeout(ms);
    while (this.received(path).length < count) {
      if (deadline.aborted) throw new Error(`nothing arrived at ${path} within ${ms} ms`);
      await new Promise<void>((resolve, reject) => {
        const onTimeout = () => reject(new Error(`nothing arrived at ${path} within ${ms} ms`));
        deadline.addEventListener('abort', onTimeout, { once: true });
        const waiters = this.#waiters.get(path) ?? [];
        waiters.push(() => {
          deadline.removeEventListener('abort', onTimeout);
          resolve();
        });
        this.#waiters.set(path, waiters);
      });
    }
    return this.received(path)[count - 1]!;
  }

  async #handle(req: IncomingMessage): Promise<{ status: number; type: string; body: string }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const path = new URL(req.url ?? '/', this.#base).pathname;
    const document = this.#documents.get(path);
    const known = document !== undefined || req.method === 'POST';
    if (known) {
      const list = this.#received.get(path) ?? [];
      list.push({ method: req.method ?? '', contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString() });
      this.#received.set(path, list);
      for (const wake of this.#waiters.get(path)?.splice(0) ?? []) wake();
    }
    if (document && req.method === 'GET') return { status: 200, ...document };
    return known ? { status: 200, type: 'text/plain', body: '' } : { status: 404, type: 'text/plain', body: 'not found' };
  }
}
