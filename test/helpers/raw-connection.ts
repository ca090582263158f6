// A kept-alive HTTP/1.1 connection at the byte level: requests are written as given (one at
// a time or pipelined, a body in pieces) and the answers read back in order. For tests that
// need requests to be in the server's socket buffers before it runs, which fetch and
// node:http cannot promise.
import { connect, type Socket } from 'node:net';

export interface RawAnswer {
  readonly status: number;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export class RawConnection {
  readonly #socket: Socket;
  #buffer = Buffer.alloc(0);
  readonly #waiting: ((answer: RawAnswer) => void)[] = [];
  #failure: Error | undefined;
  readonly #failed: ((err: Error) => void)[] = [];

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#parse();
    });
    const fail = (err: Error) => {
      this.#failure ??= err;
      for (const reject of this.#failed.splice(0)) reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  /**
   * A connection the server has accepted and reads from: one GET of `readyPath` has been
   * answered on it (a connection only connected may still wait in the accept queue).
   */
  static async open(url: string, readyPath = '/healthz'): Promise<RawConnection> {
    const { hostname, port, host } = new URL(url);
    const socket = connect(Number(port), hostname);
    socket.setNoDelay(true);
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const connection = new RawConnection(socket);
    connection.write(rawRequest('GET', readyPath, host));
    await connection.next();
    return connection;
  }

  /** Writes bytes as they are (part of a request, or several). */
  write(bytes: string): void {
    this.#socket.write(bytes);
  }

  /** The next answer on this connection, in order. */
  next(): Promise<RawAnswer> {
    return new Promise((resolve, reject) => {
      if (this.#failure) return reject(this.#failure);
      this.#waiting.push(resolve);
      this.#failed.push(reject);
      this.#parse();
    });
  }

  close(): void {
    this.#socket.destroy();
  }

  /** Answers with Content-Length only: what Postern and the engine send. */
  #parse(): void {
    while (this.#waiting.length) {
      const end = this.#buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = this.#buffer.subarray(0, end).toString('latin1').split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (this.#buffer.length < end + 4 + length) return;
      const body = this.#buffer.subarray(end + 4, end + 4 + length).toString('utf8');
      this.#buffer = this.#buffer.subarray(end + 4 + length);
      this.#failed.shift();
      this.#waiting.shift()!({ status: Number(statusLine!.split(' ')[1]), headers, body });
    }
  }
}

/** A whole HTTP/1.1 request as bytes. */
export function rawRequest(method: string, target: string, host: string, headers: Record<string, string> = {}, body = ''): string {
  const lines = [`${method} ${target} HTTP/1.1`, `Host: ${host}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  const sized = Object.keys(headers).some((name) => name.toLowerCase() === 'content-length');
  if (!sized && (body || method !== 'GET')) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}
