// The HTTP server's connections: every response in progress, known per connection.
//
// Pipelining. HTTP/1.1 lets a client send requests one after another without waiting for
// the answers. Node parses every request in what it reads from a connection and hands each
// on at once, so a client that sends thousands on one connection and never reads the
// answers makes the server hold a request, a response and Koa's context for each one:
// about 13 MiB of small requests from one client took a process past its heap limit. No
// browser pipelines, and clients that do keep a few requests outstanding. A connection
// with more than MAX_UNANSWERED_PER_CONNECTION requests not yet answered is closed at
// once; whatever else it sent (Node still hands on the rest of the data it had read) is
// dropped unread.
//
// Closing the HTTP server behind a keep-alive load balancer without failing a request a
// client already sent. From the moment closing starts the server accepts no connection
// (a refused connection carried no request: the balancer safely tries another instance)
// and every response says `Connection: close`, so a connection ends after its answer and
// the client sends its next request elsewhere. After a moment for requests already on the
// wire to be read, connections that are idle are dropped. Only what still runs at the
// deadline is cut.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * A request sent just before closing began may sit unread in a connection that looks
 * idle (a keep-alive one, or one accepted a moment ago); dropping that connection would
 * fail it. This is how long such a request gets to be read (on a local network, far more
 * than needed).
 */
const LAST_CALL_MS = 250;
/** Connections whose response had left before closing began go idle later: swept this often. */
const SWEEP_MS = 100;

export const MAX_UNANSWERED_PER_CONNECTION = 16;

export class Connections {
  readonly #server: Server;
  readonly #inFlight = new Set<ServerResponse>();
  readonly #unanswered = new WeakMap<Socket, number>();
  #closing = false;

  constructor(server: Server) {
    this.#server = server;
  }

  /**
   * The request listener: `handle`, with every response in progress known, for at most
   * MAX_UNANSWERED_PER_CONNECTION of them per connection; `onFlood` hears of each
   * connection closed for more.
   */
  track(handle: Handler, onFlood: (socket: Socket) => void): Handler {
    const inFlight = this.#inFlight;
    const unanswered = this.#unanswered;
    // One listener for every response (a response closes once): no closure per request.
    function untrack(this: ServerResponse) {
      inFlight.delete(this);
      const socket = this.req.socket;
      unanswered.set(socket, (unanswered.get(socket) ?? 1) - 1);
    }
    return (req, res) => {
      const socket = req.socket;
      if (socket.destroyed) return;
      const count = (unanswered.get(socket) ?? 0) + 1;
      if (count > MAX_UNANSWERED_PER_CONNECTION) {
        socket.destroy();
        onFlood(socket);
        return;
      }
      unanswered.set(socket, count);
      inFlight.add(res);
      res.on('close', untrack);
      if (this.#closing) res.setHeader('Connection', 'close');
      handle(req, res);
    };
  }

  /**
   * Resolves once every connection has ended, or after `withinMs` having cut the rest; the
   * answer is how many requests were cut.
   */
  async close(withinMs: number): Promise<number> {
    const started = performance.now();
    const left = () => Math.max(0, withinMs - (performance.now() - started));
    this.#closing = true;
    for (const res of this.#inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    // The listener only: http.Server#close would also drop idle connections at once,
    // among them those accepted a moment ago whose request is still on its way.
    const closed = new Promise<false>((resolve) => NetServer.prototype.close.call(this.#server, () => resolve(false)));
    await sleep(Math.min(LAST_CALL_MS, left()));
    this.#server.closeIdleConnections();
    const sweep = setInterval(() => this.#server.closeIdleConnections(), SWEEP_MS);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([closed, new Promise<true>((resolve) => (timer = setTimeout(() => resolve(true), left())))]);
    clearInterval(sweep);
    clearTimeout(timer);
    if (!timedOut) return 0;
    const cut = this.#inFlight.size;
    this.#server.closeAllConnections();
    return cut;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
